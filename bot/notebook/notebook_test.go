package notebook

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
)

const user = 42

// me is the bot, as getMe answered.
var me = &gotgbot.User{Id: 1, IsBot: true, Username: "troupe_bot"}

// wrap dresses u as the edge hands it to Logic.
func wrap(u *gotgbot.Update) *bot.Update { return &bot.Update{Update: u, Me: me} }

func message(text string) *bot.Update {
	return wrap(&gotgbot.Update{UpdateId: 1, Message: &gotgbot.Message{
		MessageId: 1, Date: 1700000000, Text: text,
		From: &gotgbot.User{Id: user, FirstName: "Ada"},
		Chat: gotgbot.Chat{Id: user, Type: "private"},
	}})
}

func press(data string) *bot.Update {
	return wrap(&gotgbot.Update{UpdateId: 1, CallbackQuery: &gotgbot.CallbackQuery{
		Id: "q", From: gotgbot.User{Id: user}, Data: data,
		Message: gotgbot.Message{MessageId: 9, Chat: gotgbot.Chat{Id: user, Type: "private"}},
	}})
}

func newNotebook() *Notebook {
	return &Notebook{Admins: map[int64]bool{7: true}}
}

// replyText returns the text of the single reply in actions, failing otherwise.
func replyText(tb testing.TB, actions []bot.Action) string {
	tb.Helper()
	if len(actions) != 1 || actions[0].Kind != bot.SendText {
		tb.Fatalf("actions = %+v, want one reply", actions)
	}
	return actions[0].Text
}

// feed sends each text as a message in turn and returns the final context and the last
// update's actions.
func feed(nb *Notebook, c Context, texts ...string) (Context, []bot.Action) {
	var actions []bot.Action
	for _, t := range texts {
		c, actions = nb.Handle(c, message(t))
	}
	return c, actions
}

func TestMessages(t *testing.T) {
	tests := []struct {
		name  string
		setup []string // sent first
		text  string
		want  string // exact reply, or a prefix when it ends with "…"
	}{
		{"integer", nil, "5", "Recorded 5. 1 value, mean 5."},
		{"decimal with label", nil, "12.5 coffee", "Recorded 12.5 (coffee). 1 value, mean 12.5."},
		{"decimal comma", nil, "12,5", "Recorded 12.5. 1 value, mean 12.5."},
		{"negative", nil, "-3", "Recorded -3. 1 value, mean -3."},
		{"exponent", nil, "1e3 steps", "Recorded 1000 (steps). 1 value, mean 1000."},
		{"label whitespace collapsed", nil, "7   long \n walk ", "Recorded 7 (long walk). 1 value, mean 7."},
		{"mean over values", []string{"1", "2"}, "6", "Recorded 6. 3 values, mean 3."},
		{"plain text", nil, "hello", "“hello” is not a number. Send one like 42 or 12.5 coffee, or /help."},
		{"inf is text", nil, "inf", "“inf” is not a number…"},
		{"nan is text", nil, "NaN", "“NaN” is not a number…"},
		{"hex is text", nil, "0x10", "“0x10” is not a number…"},
		{"two points is text", nil, "1.2.3", "“1.2.3” is not a number…"},
		{"underscores are text", nil, "1_000", "“1_000” is not a number…"},
		{"bare exponent is text", nil, "1e", "“1e” is not a number…"},
		{"out of range", nil, "1e999", "Not recorded: numbers must be between -1e15 and 1e15."},
		{"too large", nil, "2e15", "Not recorded: numbers must be between…"},
		{"label too long", nil, "1 " + strings.Repeat("x", 65), "Not recorded: label too long: 65 characters, at most 64."},
		{"label of 64 fits", nil, "1 " + strings.Repeat("é", 64), "Recorded 1 (" + strings.Repeat("é", 64) + ")…"},
		{"text too long", nil, strings.Repeat("a", 4097), "That message is 4097 characters long; I read at most 4096."},
		{"emoji count double", nil, strings.Repeat("😀", 2049), "That message is 4098 characters long; I read at most 4096."},
		{"long echo is cut", nil, strings.Repeat("word ", 40), "“" + strings.Repeat("word ", 12) + "word…” is not a number…"},
		{"commands do not count", []string{"/help", "/stats", "x"}, "y", "“y” is not a number…"},
		{"panic is text without chaos", nil, "panic", "“panic” is not a number…"},
		{"unknown command", nil, "/frobnicate", "I don't know /frobnicate. /help lists the commands."},
		{"command case", nil, "/STATS", "No values yet. Send a number to record it."},
		{"command for this bot", nil, "/stats@troupe_bot", "No values yet. Send a number to record it."},
		{"command for this bot any case", nil, "/stats@Troupe_Bot", "No values yet. Send a number to record it."},
		{"help", nil, "/help", "I'm a notebook for numbers.…"},
		{"help with argument", nil, "/help me", "/help takes no arguments. /help lists the commands."},
		{"start greets", nil, "/start", "Hi Ada! I'm a notebook for numbers.…"},
		{"start with payload", nil, "/start ref42", "Hi Ada! …"},
		{"stats empty", nil, "/stats", "No values yet. Send a number to record it."},
		{"stats", []string{"5", "12.5 coffee", "-2.5"}, "/stats", "3 values\nsum 15 · mean 5\nmin -2.5 · max 12.5 (coffee)\nlast -2.5"},
		{"stats with argument", nil, "/stats all", "/stats takes no arguments. /help lists the commands."},
		{"undo empty", nil, "/undo", "Nothing to undo: no values recorded."},
		{"undo", []string{"5", "6 tea"}, "/undo", "Removed 6 (tea). 1 value left."},
		{"undo then stats", []string{"5", "6", "/undo"}, "/stats", "1 value\nsum 5 · mean 5\nmin 5 · max 5\nlast 5"},
		{"reset empty", nil, "/reset", "Nothing to reset: no values recorded."},
		{"chart disabled", []string{"5"}, "/chart", "Charts are not enabled yet."},
		{"status hidden from non-admins", nil, "/status", "I don't know /status. /help lists the commands."},
		{"help without charts", nil, "/help", "I'm a notebook…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nb := newNotebook()
			c, _ := feed(nb, Context{}, tt.setup...)
			_, actions := nb.Handle(c, message(tt.text))
			got := replyText(t, actions)
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(got, prefix) {
					t.Errorf("reply = %q, want it to start with %q", got, prefix)
				}
			} else if got != tt.want {
				t.Errorf("reply = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNoReply(t *testing.T) {
	nb := newNotebook()
	group := message("hi")
	group.Message.Chat = gotgbot.Chat{Id: -100, Type: "group"}
	group.Message.Text = ""
	tests := []struct {
		name string
		u    *bot.Update
	}{
		{"command for another bot", message("/stats@other_bot")},
		{"media in a group", group},
		{"edited message", wrap(&gotgbot.Update{EditedMessage: message("5").Message})},
		{"channel post", wrap(&gotgbot.Update{ChannelPost: message("5").Message})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, actions := nb.Handle(Context{PendingReset: 3}, tt.u)
			if len(actions) != 0 || c.PendingReset != 3 {
				t.Errorf("Handle = %+v, %+v; want no actions and the context unchanged", c, actions)
			}
		})
	}
}

func TestMediaInPrivateChat(t *testing.T) {
	u := message("")
	c, actions := newNotebook().Handle(Context{}, u)
	if got := replyText(t, actions); got != "I read text only: send a number to record it, or /help." {
		t.Errorf("reply = %q", got)
	}
	if c != (Context{}) {
		t.Errorf("a non-text message changed the context: %+v", c)
	}
}

func TestStatusForAdmins(t *testing.T) {
	u := message("/status")
	u.Message.From.Id = 7
	_, actions := newNotebook().Handle(Context{}, u)
	if len(actions) != 1 || actions[0].Kind != bot.SendStatus {
		t.Fatalf("actions = %+v, want one bot.SendStatus", actions)
	}
	u.Message.Text = "/status now"
	_, actions = newNotebook().Handle(Context{}, u)
	if got := replyText(t, actions); got != "/status takes no arguments. /help lists the commands." {
		t.Errorf("reply = %q", got)
	}
}

func TestChaos(t *testing.T) {
	nb := newNotebook()
	nb.Chaos = true
	defer func() {
		if r := recover(); r != ChaosPanic {
			t.Fatalf("recovered %v, want the chaos panic", r)
		}
	}()
	nb.Handle(Context{}, message("panic"))
	t.Fatal("Handle returned; want a panic")
}

func TestApology(t *testing.T) {
	nb := newNotebook()
	tests := []struct {
		name  string
		err   error
		pause time.Duration
		want  string
	}{
		{"crash", &bot.Crash{Value: ChaosPanic}, 0, "Sorry, something went wrong with that message; nothing was recorded. Please try again."},
		{"full", fmt.Errorf("commit: %w", actors.ErrStateTooLarge), 0, "Your notebook is full, so that was not recorded. /undo or /reset makes room."},
		{"paused", &bot.Crash{Value: ChaosPanic}, time.Minute, "Sorry, that failed too. After repeated errors I'm pausing for 1 minute: messages you send meanwhile are ignored. Your recorded values are safe."},
		{"paused seconds", &bot.Crash{Value: ChaosPanic}, 90 * time.Second, "Sorry, that failed too. After repeated errors I'm pausing for 90 seconds…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := replyText(t, nb.Apology(message("panic"), tt.err, tt.pause))
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok && strings.HasPrefix(got, prefix) {
				return
			}
			if got != tt.want {
				t.Errorf("apology = %q\nwant      %q", got, tt.want)
			}
		})
	}
	a := nb.Apology(press("reset:yes:1"), errors.New("boom"), 0)
	if len(a) != 1 || a[0].Kind != bot.AnswerCallback || len(a[0].Text) > 200 {
		t.Errorf("apology to a button = %+v, want a short callback answer", a)
	}
}

func TestSizeGrowsWithTheSeries(t *testing.T) {
	nb := newNotebook()
	small, _ := feed(nb, Context{}, "1")
	big, _ := feed(nb, small, "2 a long label here", "3")
	undone, _ := nb.Handle(big, message("/undo"))
	if !(small.Size() < undone.Size() && undone.Size() < big.Size()) {
		t.Errorf("sizes %d, %d, %d do not follow the series", small.Size(), undone.Size(), big.Size())
	}
}

func TestSeriesLimit(t *testing.T) {
	nb := newNotebook()
	nb.Limits = Limits{MaxValues: 3}
	c, actions := feed(nb, Context{}, "1", "2", "3", "4 last")
	want := "Recorded 4 (last). 3 values, mean 3. The notebook keeps your newest 3 values, so the oldest, 1, was dropped."
	if got := replyText(t, actions); got != want {
		t.Errorf("reply = %q\nwant    %q", got, want)
	}
	var values []float64
	for _, e := range c.Series.Tail(0) {
		values = append(values, e.Value)
	}
	if len(values) != 3 || values[0] != 2 || values[2] != 4 {
		t.Errorf("series = %v, want [2 3 4]", values)
	}
}

// pressIn is a press of data by user from on a message in chat (a private chat when chat is
// from, else a group).
func pressIn(data string, from, chat int64) *bot.Update {
	u := press(data)
	u.CallbackQuery.From = gotgbot.User{Id: from}
	u.CallbackQuery.Message = gotgbot.Message{MessageId: 9, Chat: gotgbot.Chat{Id: chat, Type: "private"}}
	if chat != from {
		u.CallbackQuery.Message = gotgbot.Message{MessageId: 9, Chat: gotgbot.Chat{Id: chat, Type: "supergroup"}}
	}
	return u
}

func TestReset(t *testing.T) {
	nb := newNotebook()
	c, _ := feed(nb, Context{}, "1", "2")
	u := message("/reset")
	u.UpdateId = 77
	c, actions := nb.Handle(c, u)
	if len(actions) != 1 || actions[0].Text != "Delete all 2 values? This cannot be undone." {
		t.Fatalf("actions = %+v", actions)
	}
	kb := actions[0].Buttons
	if len(kb) != 1 || len(kb[0]) != 2 || kb[0][0].Data != "reset:yes:77@42" || kb[0][1].Data != "reset:no:77@42" {
		t.Fatalf("keyboard = %+v", kb)
	}
	for _, row := range kb {
		for _, b := range row {
			if len(b.Data) > 64 {
				t.Errorf("callback data %q is over Telegram's 64 bytes", b.Data)
			}
		}
	}

	const group, other = -100123, 43
	const notYours = "This button is not yours: only the one who asked can press it."
	tests := []struct {
		name     string
		data     string
		from     int64 // the presser
		chat     int64 // where the message is: the presser's private chat, or a group
		answer   string
		edit     string
		emptied  bool
		answered bool // the confirmation is used up (PendingReset cleared)
	}{
		{"confirm", "reset:yes:77@42", user, user, "Deleted", "Deleted all 2 values.", true, true},
		{"cancel", "reset:no:77@42", user, user, "Cancelled", "Reset cancelled; your 2 values stay.", false, true},
		{"confirm in a group", "reset:yes:77@42", user, group, "Deleted", "Deleted all 2 values.", true, true},
		{"stale", "reset:yes:12@42", user, user, "This confirmation has expired.", "This confirmation has expired. Send /reset again if you still want to.", false, false},
		{"garbage", "reset:maybe:77@42", user, user, "This button does nothing.", "", false, false},
		{"foreign", "vote:1", user, user, "This button does nothing.", "", false, false},
		{"foreign with an owner", "vote:1@42", user, user, "This button does nothing.", "", false, false},
		{"bad owner", "reset:yes:77@x", user, group, "This confirmation has expired.", "", false, false},
		// Another member's press reaches the presser's actor: refused, nothing edited.
		{"another member confirms", "reset:yes:77@42", other, group, notYours, "", false, false},
		{"another member cancels", "reset:no:77@42", other, group, notYours, "", false, false},
		{"another member presses a stale one", "reset:yes:12@42", other, group, notYours, "", false, false},
		{"another user in their own chat", "reset:yes:77@42", other, other, notYours, "", false, false},
		// Data from before buttons named their owner.
		{"old confirm in the owner's chat", "reset:yes:77", user, user, "Deleted", "Deleted all 2 values.", true, true},
		{"old stale in the owner's chat", "reset:no:12", user, user, "This confirmation has expired.", "This confirmation has expired. Send /reset again if you still want to.", false, false},
		{"old confirm in a group", "reset:yes:77", user, group, "This confirmation has expired.", "", false, false},
		{"old confirm by another member", "reset:yes:77", other, group, "This confirmation has expired.", "", false, false},
		{"old foreign in a group", "vote:1", other, group, "This button does nothing.", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, actions := nb.Handle(c, pressIn(tt.data, tt.from, tt.chat))
			if len(actions) == 0 || actions[0].Kind != bot.AnswerCallback || actions[0].Text != tt.answer {
				t.Fatalf("actions = %+v, want the answer %q first", actions, tt.answer)
			}
			switch {
			case tt.edit == "" && len(actions) != 1:
				t.Errorf("actions = %+v, want the answer alone", actions)
			case tt.edit != "" && (len(actions) != 2 || actions[1].Kind != bot.EditText || actions[1].Text != tt.edit):
				t.Errorf("actions = %+v, want the edit %q", actions, tt.edit)
			}
			if got := next.Series.Len() == 0; got != tt.emptied {
				t.Errorf("series emptied = %v, want %v", got, tt.emptied)
			}
			if got := next.PendingReset == 0; got != tt.answered {
				t.Errorf("confirmation used up = %v, want %v", got, tt.answered)
			}
			if !tt.emptied && !tt.answered && next.Series != c.Series {
				t.Errorf("a refused press changed the context: %+v, was %+v", next, c)
			}
			if c.Series.Len() != 2 {
				t.Errorf("Handle changed the context it was given: %d values", c.Series.Len())
			}
		})
	}
	// A confirmation is answered once: pressing it again is stale.
	c, _ = nb.Handle(c, press("reset:no:77@42"))
	if _, actions := nb.Handle(c, press("reset:yes:77@42")); actions[0].Text != "This confirmation has expired." {
		t.Errorf("second press answered %q", actions[0].Text)
	}
}

// TestOwnedData checks the longest callback data fits Telegram's 64 bytes and reads back.
func TestOwnedData(t *testing.T) {
	for _, owner := range []int64{1, 42, math.MaxInt64} {
		data := owned(owner, "reset:yes:"+fmt.Sprint(int64(math.MaxInt64)))
		if len(data) > 64 {
			t.Errorf("owned(%d) = %q: over 64 bytes", owner, data)
		}
		payload, got, known := ownerOf(&gotgbot.CallbackQuery{Data: data})
		if !known || got != owner || payload != "reset:yes:9223372036854775807" {
			t.Errorf("ownerOf(%q) = %q, %d, %v", data, payload, got, known)
		}
	}
}

func TestLabelsAreClean(t *testing.T) {
	tests := []struct {
		name, text, label string
	}{
		{"NUL", "5 cof\x00fee", "coffee"},
		{"escape sequence", "5 \x1b[31mred", "[31mred"},
		{"DEL", "5 a\x7fb", "ab"},
		{"C1 CSI", "5 a\u009bb", "ab"},
		{"C1 next line separates", "5 a\u0085b", "a b"},
		{"tab and newline separate", "5 a\tb\nc", "a b c"},
		{"right-to-left override", "5 \u202eeeffoc", "eeffoc"},
		{"every embedding and override", "5 \u202aa\u202bb\u202cc\u202dd\u202ee", "abcde"},
		{"isolates", "5 \u2066a\u2067b\u2068c\u2069", "abc"},
		{"direction marks", "5 \u200ea\u200fb\u061cc", "abc"},
		{"zero-width space, word joiner, BOM", "5 a\u200bb\u2060c\ufeffd", "abcd"},
		{"soft hyphen", "5 co\u00adffee", "coffee"},
		{"tag characters", "5 tea\U000e0069\U000e0067\U000e006e", "tea"},
		{"Hangul filler", "5 \u3164", ""},
		{"only invisible is no label", "5 \u202e\u200b\x00", ""},
		{"invisible between words", "5 a \u200b b", "a b"},
		{"emoji sequence keeps its joiner", "5 👩\u200d💻", "👩\u200d💻"},
		{"Persian keeps its non-joiner", "5 می\u200cخواهم", "می\u200cخواهم"},
		{"emoji keeps its variation selector", "5 ❤\ufe0f", "❤\ufe0f"},
		{"length counts what is kept", "5 " + strings.Repeat("a\u200b", 64), strings.Repeat("a", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, actions := newNotebook().Handle(Context{}, message(tt.text))
			if c.Series.Len() != 1 {
				t.Fatalf("not recorded: %+v", actions)
			}
			if got := c.Series.At(0).Label; got != tt.label {
				t.Errorf("label = %q, want %q", got, tt.label)
			}
			want := "Recorded 5. 1 value, mean 5."
			if tt.label != "" {
				want = "Recorded 5 (" + tt.label + "). 1 value, mean 5."
			}
			if got := replyText(t, actions); got != want {
				t.Errorf("reply = %q, want %q", got, want)
			}
		})
	}
}

func TestEchoDropsInvisible(t *testing.T) {
	_, actions := newNotebook().Handle(Context{}, message("hi\u202e there\x00"))
	if got, want := replyText(t, actions), "“hi there” is not a number. Send one like 42 or 12.5 coffee, or /help."; got != want {
		t.Errorf("reply = %q, want %q", got, want)
	}
}

// TestVersionsDoNotShare guards the slice trap: two contexts that share structure must not
// see each other's writes after an undo followed by an append.
func TestVersionsDoNotShare(t *testing.T) {
	nb := newNotebook()
	base, _ := feed(nb, Context{}, "1", "2", "3")
	undone, _ := nb.Handle(base, message("/undo"))
	a, _ := nb.Handle(undone, message("10"))
	b, _ := nb.Handle(undone, message("20"))
	check := func(name string, c Context, want ...float64) {
		t.Helper()
		got := c.Series.Tail(0)
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %v", name, len(got), want)
		}
		for i, w := range want {
			if got[i].Value != w {
				t.Errorf("%s: value %d = %v, want %v", name, i, got[i].Value, w)
			}
		}
	}
	check("base", base, 1, 2, 3)
	check("undone", undone, 1, 2)
	check("a", a, 1, 2, 10)
	check("b", b, 1, 2, 20)
}

func TestParseChart(t *testing.T) {
	tests := []struct {
		args string
		kind string
		last int
		err  string
	}{
		{"", "line", 0, ""},
		{"bar", "bar", 0, ""},
		{"hist 50", "hist", 50, ""},
		{"20 histogram", "hist", 20, ""},
		{"LINE 5", "line", 5, ""},
		{"pie", "", 0, `/chart does not understand "pie"`},
		{"bar bar", "", 0, `/chart does not understand "bar"`},
		{"0", "", 0, "/chart N: N must be a whole number"},
		{"99999999999999999999", "", 0, "/chart N: N must be a whole number"},
		{"-5", "", 0, `/chart does not understand "-5"`},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			req, err := parseChart(tt.args)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("parseChart(%q) error = %v, want %q…", tt.args, err, tt.err)
				}
				return
			}
			if err != nil || req.Kind != tt.kind || req.Last != tt.last {
				t.Fatalf("parseChart(%q) = %+v, %v; want %s %d", tt.args, req, err, tt.kind, tt.last)
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	tests := map[float64]string{
		0: "0", 5: "5", -2.5: "-2.5", 1.0 / 3: "0.3333", 1234567: "1234567",
		1e12: "1e+12", 0.00001: "1e-05", 99.99999: "100",
	}
	for v, want := range tests {
		if got := formatNumber(v); got != want {
			t.Errorf("formatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}

func BenchmarkHandleNumber(b *testing.B) {
	nb := newNotebook()
	c, _ := feed(nb, Context{}, "1", "2", "3")
	u := message("12.5 coffee")
	b.ReportAllocs()
	for b.Loop() {
		nb.Handle(c, u)
	}
}

func BenchmarkAppendFullSeries(b *testing.B) {
	var s Series
	for i := range DefaultLimits.MaxValues {
		s, _, _ = s.Append(Entry{Value: float64(i)}, DefaultLimits.MaxValues)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, _, _ = s.Append(Entry{Value: 1}, DefaultLimits.MaxValues)
	}
}

// TestRunningMean checks the O(1) mean against an exact recount through appends that drop
// the oldest value and undos, with magnitudes far apart.
func TestRunningMean(t *testing.T) {
	var s Series
	values := []float64{1e15, 0.1, -3, 7.25, 1e-3, -1e15, 42, 0.2, 0.3}
	for i := range 500 {
		v := values[i%len(values)] * float64(i%7+1)
		if i%5 == 4 {
			s, _, _ = s.Undo()
			continue
		}
		s, _, _ = s.Append(Entry{Value: v}, 16)
		exact := new(big.Float).SetPrec(2048) // exact for these magnitudes
		for _, e := range s.Tail(0) {
			exact.Add(exact, big.NewFloat(e.Value))
		}
		want, _ := exact.Quo(exact, big.NewFloat(float64(s.Len()))).Float64()
		if got := s.Mean(); math.Abs(got-want) > 1e-15*math.Max(1, math.Abs(want)) {
			t.Fatalf("step %d: running mean %v, exact %v", i, got, want)
		}
	}
}

// FuzzHandle sends arbitrary text and button data through the conversation: it must never
// panic, and what it says must be something Telegram accepts.
//
//	go test ./bot/notebook -run '^$' -fuzz FuzzHandle -fuzztime 30s
func FuzzHandle(f *testing.F) {
	for _, seed := range []struct{ text, data string }{
		{"12.5 coffee", "reset:yes:1"}, {"/chart bar 20", "reset:no:77"}, {"/start@troupe_bot x", ""},
		{"3 tea\u202e\x00", "reset:yes:1@42"}, {"4", "reset:yes:1@43"}, {"5", "reset:no:1@"}, {"6", "@42"},
		{"1e999", "reset:yes:"}, {"-0,5 ☕", "reset::1"}, {"/", "vote"}, {"/status", "reset:yes:-1"},
		{strings.Repeat("9", 5000), strings.Repeat("x", 100)},
	} {
		f.Add(seed.text, seed.data)
	}
	nb := newNotebook()
	nb.Charts = true
	nb.Limits = Limits{MaxValues: 5}
	f.Fuzz(func(t *testing.T, text, data string) {
		c, _ := feed(nb, Context{}, "1", "2 two", "/reset")
		before := c.Series.Len()
		c, actions := nb.Handle(c, message(text))
		check := func(actions []bot.Action) {
			for _, a := range actions {
				if a.Kind != bot.SendChart && a.Kind != bot.SendStatus && (a.Text == "" || textLen(a.Text) > 4096) {
					t.Fatalf("action %+v: text empty or over 4096", a)
				}
				if !utf8.ValidString(a.Text) && utf8.ValidString(text) {
					t.Fatalf("reply %q is not valid UTF-8", a.Text)
				}
				for _, row := range a.Buttons {
					for _, b := range row {
						if len(b.Data) > 64 {
							t.Fatalf("callback data %q over 64 bytes", b.Data)
						}
					}
				}
			}
		}
		check(actions)
		for _, e := range c.Series.Tail(0) {
			if i := strings.IndexFunc(e.Label, invisible); i >= 0 || e.Label != strings.TrimSpace(e.Label) {
				t.Fatalf("stored label %q has an invisible character or untrimmed space (at %d)", e.Label, i)
			}
		}
		if c.Series.Len() < min(before, 5)-1 || c.Series.Len() > 5 {
			t.Fatalf("context went from %d values to %+v", before, c)
		}
		_, actions = nb.Handle(c, press(data))
		check(actions)
		// Another member's press in a group, of a button that is not theirs, changes nothing.
		q := pressIn(data, user+1, -100)
		if _, owner, known := ownerOf(q.CallbackQuery); !known || owner != user+1 {
			next, actions := nb.Handle(c, q)
			check(actions)
			if next != c || len(actions) != 1 || actions[0].Kind != bot.AnswerCallback {
				t.Fatalf("a press of %q by another member: context %+v (was %+v), actions %+v", data, next, c, actions)
			}
		}
	})
}

// TestSeriesAgainstAModel runs random appends and undos, some from old versions, across
// the switch from a slice to the trie and with the oldest dropped at the cap, and checks
// every version ever made still holds what a plain slice model says it should.
func TestSeriesAgainstAModel(t *testing.T) {
	for _, max := range []int{5, smallSeries, 3 * smallSeries} {
		t.Run(fmt.Sprint("max=", max), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(1, uint64(max)))
			type version struct {
				s     Series
				model []float64
			}
			versions := []version{{}}
			for i := range 2000 {
				from := versions[len(versions)-1]
				if rnd.IntN(4) == 0 {
					from = versions[rnd.IntN(len(versions))] // branch from an old version
				}
				next := version{model: append([]float64(nil), from.model...)}
				if rnd.IntN(3) == 0 {
					next.s, _, _ = from.s.Undo()
					if len(next.model) > 0 {
						next.model = next.model[:len(next.model)-1]
					}
				} else {
					v := float64(i)
					next.s, _, _ = from.s.Append(Entry{Value: v, Label: fmt.Sprint(i)}, max)
					next.model = append(next.model, v)
					if len(next.model) > max {
						next.model = next.model[1:]
					}
				}
				versions = append(versions, next)
			}
			for i, v := range versions {
				got := v.s.Tail(0)
				if len(got) != len(v.model) || v.s.Len() != len(v.model) {
					t.Fatalf("version %d: %d entries, want %d", i, len(got), len(v.model))
				}
				for j, e := range got {
					if e.Value != v.model[j] || v.s.At(j).Value != v.model[j] {
						t.Fatalf("version %d entry %d = %v, want %v", i, j, e.Value, v.model[j])
					}
				}
			}
		})
	}
}
