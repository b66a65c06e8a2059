package flow_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/flow"
)

// form is an application's state: its own data beside the flow's.
type form struct {
	Flow  flow.State
	Saved []string
}

func getFlow(s form) flow.State          { return s.Flow }
func setFlow(s form, st flow.State) form { s.Flow = st; return s }

// deepCopy is what the runtime holds as committed while Logic runs: Handle must leave it
// as it was.
func deepCopy(s form) form {
	s.Flow.Data = maps.Clone(s.Flow.Data)
	s.Saved = slices.Clone(s.Saved)
	return s
}

func reply(text string) func(form, *flow.Turn, *bot.Update) []bot.Action {
	return func(form, *flow.Turn, *bot.Update) []bot.Action { return []bot.Action{bot.Reply(text)} }
}

// signup is the three-step form: name, age (validated, re-asked), confirm (Yes/No).
func signup() flow.Flow[form] {
	return flow.Flow[form]{Name: "signup", Version: 1, Steps: []flow.Step[form]{
		{Name: "name", Ask: reply("What is your name?"), Handle: askName},
		{Name: "age", Timeout: 10 * time.Minute, Ask: reply("How old are you?"), Handle: askAge("confirm")},
		{Name: "confirm", Ask: confirmPrompt, Handle: confirm},
	}}
}

func askName(s form, t *flow.Turn, _ *bot.Update) (form, flow.Next, []bot.Action) {
	if t.Text() == "" || strings.HasPrefix(t.Text(), "/") {
		return s, flow.Again(), []bot.Action{bot.Reply("Please send your name as text.")}
	}
	t.Set("name", t.Text())
	return s, flow.Goto("age"), nil
}

func askAge(then string) func(form, *flow.Turn, *bot.Update) (form, flow.Next, []bot.Action) {
	return func(s form, t *flow.Turn, _ *bot.Update) (form, flow.Next, []bot.Action) {
		n, err := strconv.Atoi(t.Text())
		if err != nil || n < 1 || n > 150 {
			return s, flow.Again(), []bot.Action{bot.Reply("Please send your age as a number.")}
		}
		t.Set("age", strconv.Itoa(n))
		return s, flow.Goto(then), nil
	}
}

func confirmPrompt(_ form, t *flow.Turn, _ *bot.Update) []bot.Action {
	return []bot.Action{bot.Reply(t.Get("name") + ", " + t.Get("age") + ": save?").
		WithButtons(bot.Row(t.Button("Yes", "yes"), t.Button("No", "no")))}
}

func confirm(s form, t *flow.Turn, _ *bot.Update) (form, flow.Next, []bot.Action) {
	switch p, _ := t.Pressed(); p {
	case "yes":
		who := t.Get("name") + ", " + t.Get("age")
		s.Saved = append(slices.Clip(s.Saved), who) // never into the committed array
		return s, flow.Done(), []bot.Action{bot.Edit("Saved " + who + ".")}
	case "no":
		return s, flow.Goto("name"), []bot.Action{bot.Edit("Let's start over.")}
	}
	return s, flow.Again(), []bot.Action{bot.Reply("Please press Yes or No.")}
}

// app is the bot around the flows: /signup starts the form, the rest is echoed.
func app(m *flow.Manager[form]) bot.Logic[form] {
	return m.Wrap(bot.LogicFunc[form](func(s form, u *bot.Update) (form, []bot.Action) {
		switch {
		case u.CallbackQuery != nil:
			return s, []bot.Action{bot.Answer("app: " + u.CallbackQuery.Data)}
		case u.Message != nil && u.Message.Text == "/signup":
			return m.Start(s, u, "signup")
		case u.Message != nil:
			return s, []bot.Action{bot.Reply("echo " + u.Message.Text)}
		case u.EditedMessage != nil:
			return s, []bot.Action{bot.Reply("app saw an edit")}
		}
		return s, nil
	}))
}

func mustManager(tb testing.TB, cfg flow.Config, flows ...flow.Flow[form]) *flow.Manager[form] {
	tb.Helper()
	m, err := flow.NewManager(getFlow, setFlow, cfg, flows...)
	if err != nil {
		tb.Fatalf("NewManager: %v", err)
	}
	return m
}

// users plays several users' updates through one Logic, as their actors would: each user
// has a state of their own, and the clock only moves when the script says so.
type users struct {
	tb     testing.TB
	logic  bot.Logic[form]
	states map[int64]form
	now    time.Time
	update int64
	shown  map[int64][]map[string]string // per user, each prompt's buttons: label → data
}

func newUsers(tb testing.TB, logic bot.Logic[form]) *users {
	return &users{tb: tb, logic: logic, states: map[int64]form{},
		now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), shown: map[int64][]map[string]string{}}
}

// handle sends g from user in their private chat, or in group when it is not 0.
func (us *users) handle(user, group int64, g *gotgbot.Update) []bot.Action {
	us.tb.Helper()
	us.update++
	g.UpdateId = us.update
	from := &gotgbot.User{Id: user, FirstName: "u" + strconv.FormatInt(user, 10)}
	chat := &gotgbot.Chat{Id: user, Type: "private"}
	if group != 0 {
		chat = &gotgbot.Chat{Id: group, Type: "supergroup"}
	}
	u := &bot.Update{Update: g, Me: &gotgbot.User{Id: 99, IsBot: true, Username: "formbot"},
		Key: user, Sender: from, Chat: chat, Now: us.now}
	for _, m := range []*gotgbot.Message{g.Message, g.EditedMessage} {
		if m != nil {
			m.From, m.Chat, m.MessageId = from, *chat, us.update
		}
	}
	if g.MyChatMember != nil {
		g.MyChatMember.From, g.MyChatMember.Chat = *from, *chat
	}
	if g.CallbackQuery != nil {
		g.CallbackQuery.From, g.CallbackQuery.Id = *from, "q"+strconv.FormatInt(us.update, 10)
	}
	given := us.states[user]
	kept := deepCopy(given)
	next, acts := us.logic.Handle(given, u)
	if !reflect.DeepEqual(given, kept) {
		us.tb.Fatalf("Handle changed the state it was given:\n got %#v\nwant %#v", given, kept)
	}
	us.states[user] = next
	for _, a := range acts {
		if len(a.Buttons) == 0 {
			continue
		}
		labels := map[string]string{}
		for _, row := range a.Buttons {
			for _, b := range row {
				if len(b.Data) > 64 {
					us.tb.Fatalf("button %q: callback data is %d bytes, over Telegram's 64", b.Text, len(b.Data))
				}
				labels[b.Text] = b.Data
			}
		}
		us.shown[user] = append(us.shown[user], labels)
	}
	return acts
}

func (us *users) say(user int64, text string) []bot.Action {
	return us.handle(user, 0, &gotgbot.Update{Message: &gotgbot.Message{Text: text}})
}

// press presses the button label of a prompt owner was shown: back 0 is the latest
// prompt with buttons, 1 the one before.
func (us *users) press(user, owner int64, label string, back int) []bot.Action {
	return us.pressIn(user, 0, owner, label, back)
}

func (us *users) pressIn(user, group, owner int64, label string, back int) []bot.Action {
	us.tb.Helper()
	shown := us.shown[owner]
	if back >= len(shown) {
		us.tb.Fatalf("user %d was shown %d prompts with buttons, not %d", owner, len(shown), back+1)
	}
	data, ok := shown[len(shown)-1-back][label]
	if !ok {
		us.tb.Fatalf("no button %q in user %d's prompt %d back", label, owner, back)
	}
	return us.pressData(user, group, data)
}

func (us *users) pressData(user, group int64, data string) []bot.Action {
	return us.handle(user, group, &gotgbot.Update{CallbackQuery: &gotgbot.CallbackQuery{Data: data}})
}

// transcript writes actions the way the tests compare them: "reply What?", "answer ",
// "edit Saved." with buttons as "[Yes No]".
func transcript(acts []bot.Action) []string {
	var out []string
	for _, a := range acts {
		var line string
		switch a.Kind {
		case bot.SendText:
			line = "reply " + a.Text
		case bot.EditText:
			line = "edit " + a.Text
		case bot.AnswerCallback:
			line = "answer " + a.Text
		default:
			line = fmt.Sprintf("kind %d %s", a.Kind, a.Text)
		}
		for _, row := range a.Buttons {
			labels := make([]string, len(row))
			for i, b := range row {
				labels[i] = b.Text
			}
			line += " [" + strings.Join(labels, " ") + "]"
		}
		out = append(out, line)
	}
	return out
}

// turn is one update of a script and what must come of it.
type turn struct {
	user  int64         // who sends it; 0 is user 1
	after time.Duration // how long after the previous update
	say   string
	// press presses a button: of the prompt back prompts ago shown to of (0: the
	// sender).
	press string
	back  int
	of    int64
	data  string // presses a button with this callback data instead (the app's own)
	group int64  // says it in this group instead of the private chat
	other string // sends an update of another kind: "edit" (say edited), "blocked"
	want  []string
	step  string // the sender's step afterwards, "" for none
	same  bool   // the sender's state must be exactly what it was
}

// toConfirm walks user 1 from /signup to the confirm step.
var toConfirm = []turn{
	{say: "/signup", want: []string{"reply What is your name?"}, step: "name"},
	{say: "Ann", want: []string{"reply How old are you?"}, step: "age"},
	{say: "30", want: []string{"reply Ann, 30: save? [Yes No]"}, step: "confirm"},
}

func script(turns ...[]turn) []turn { return slices.Concat(turns...) }

func TestForm(t *testing.T) {
	tests := []struct {
		name  string
		turns []turn
		saved []string // user 1's saved profiles at the end
	}{
		{"happy path", script(toConfirm, []turn{
			{press: "Yes", want: []string{"answer ", "edit Saved Ann, 30."}},
			{say: "hi", want: []string{"reply echo hi"}},
		}), []string{"Ann, 30"}},
		{"bad input is asked again", []turn{
			{say: "/signup", want: []string{"reply What is your name?"}, step: "name"},
			{say: "/start", want: []string{"reply Please send your name as text.", "reply What is your name?"}, step: "name"},
			{say: "Ann", want: []string{"reply How old are you?"}, step: "age"},
			{say: "thirty", want: []string{"reply Please send your age as a number.", "reply How old are you?"}, step: "age"},
			{say: "200", want: []string{"reply Please send your age as a number.", "reply How old are you?"}, step: "age"},
			{say: " 31 ", want: []string{"reply Ann, 31: save? [Yes No]"}, step: "confirm"},
			{say: "yes", want: []string{"reply Please press Yes or No.", "reply Ann, 31: save? [Yes No]"}, step: "confirm"},
			{press: "Yes", want: []string{"answer ", "edit Saved Ann, 31."}},
		}, []string{"Ann, 31"}},
		{"cancel mid-way", []turn{
			{say: "/signup", want: []string{"reply What is your name?"}, step: "name"},
			{say: "Ann", want: []string{"reply How old are you?"}, step: "age"},
			{say: "/cancel", want: []string{"reply Cancelled."}},
			{say: "30", want: []string{"reply echo 30"}},
			{say: "/cancel", want: []string{"reply echo /cancel"}}, // no flow: the app's
		}, nil},
		{"cancel addressed to this bot, in any case", []turn{
			{say: "/signup", want: []string{"reply What is your name?"}, step: "name"},
			{say: "/CANCEL@FormBot now", want: []string{"reply Cancelled."}},
		}, nil},
		{"cancel addressed to another bot is an answer", []turn{
			{say: "/signup", want: []string{"reply What is your name?"}, step: "name"},
			{say: "/cancel@otherbot", want: []string{"reply Please send your name as text.", "reply What is your name?"}, step: "name"},
		}, nil},
		{"cancel at the buttons, then a button", script(toConfirm, []turn{
			{say: "/cancel", want: []string{"reply Cancelled."}},
			{press: "Yes", want: []string{"answer This button has expired."}, same: true},
		}), nil},
		{"an answer within the timeout", []turn{
			{say: "/signup", want: []string{"reply What is your name?"}, step: "name"},
			{say: "Ann", after: time.Hour, want: []string{"reply How old are you?"}, step: "age"}, // name has no timeout
			{say: "30", after: 10 * time.Minute, want: []string{"reply Ann, 30: save? [Yes No]"}, step: "confirm"},
		}, nil},
		{"timeout on the next update", []turn{
			{say: "/signup", want: []string{"reply What is your name?"}, step: "name"},
			{say: "Ann", want: []string{"reply How old are you?"}, step: "age"},
			{say: "30", after: 10*time.Minute + time.Second, want: []string{
				"reply That took a while, so I stopped waiting. Start again whenever you like.",
				"reply echo 30", // handed on as if no flow had been running
			}},
		}, nil},
		{"asking again restarts the timeout", []turn{
			{say: "/signup", want: []string{"reply What is your name?"}, step: "name"},
			{say: "Ann", want: []string{"reply How old are you?"}, step: "age"},
			{say: "old", after: 9 * time.Minute, want: []string{"reply Please send your age as a number.", "reply How old are you?"}, step: "age"},
			{say: "30", after: 9 * time.Minute, want: []string{"reply Ann, 30: save? [Yes No]"}, step: "confirm"},
		}, nil},
		{"an old step's button after moving on", script(toConfirm, []turn{
			{press: "No", want: []string{"answer ", "edit Let's start over.", "reply What is your name?"}, step: "name"},
			{press: "Yes", want: []string{"answer This button has expired."}, step: "name", same: true},
			{say: "Bo", want: []string{"reply How old are you?"}, step: "age"},
			{say: "40", want: []string{"reply Bo, 40: save? [Yes No]"}, step: "confirm"},
			{press: "Yes", back: 1, want: []string{"answer This button has expired."}, step: "confirm", same: true},
			{press: "Yes", want: []string{"answer ", "edit Saved Bo, 40."}},
		}), []string{"Bo, 40"}},
		{"the previous showing's button after asking again", script(toConfirm, []turn{
			{say: "maybe", want: []string{"reply Please press Yes or No.", "reply Ann, 30: save? [Yes No]"}, step: "confirm"},
			{press: "Yes", back: 1, want: []string{"answer This button has expired."}, step: "confirm", same: true},
			{press: "Yes", want: []string{"answer ", "edit Saved Ann, 30."}},
		}), []string{"Ann, 30"}},
		{"a finished flow's button", script(toConfirm, []turn{
			{press: "Yes", want: []string{"answer ", "edit Saved Ann, 30."}},
			{press: "Yes", back: 0, want: []string{"answer This button has expired."}, same: true},
		}), []string{"Ann, 30"}},
		{"another user's button, pressed at the same step of their own form", script(toConfirm, []turn{
			{user: 2, say: "/signup", want: []string{"reply What is your name?"}, step: "name"},
			{user: 2, say: "Cy", want: []string{"reply How old are you?"}, step: "age"},
			{user: 2, say: "50", want: []string{"reply Cy, 50: save? [Yes No]"}, step: "confirm"},
			{user: 2, press: "Yes", of: 1, want: []string{"answer This button is not for you."}, step: "confirm", same: true},
			{user: 3, press: "No", of: 1, want: []string{"answer This button is not for you."}, same: true},
			{press: "Yes", want: []string{"answer ", "edit Saved Ann, 30."}}, // still works for its owner
		}), []string{"Ann, 30"}},
		{"updates that are no answer leave the flow alone", []turn{
			{say: "/signup", want: []string{"reply What is your name?"}, step: "name"},
			{say: "Ann", other: "edit", want: []string{"reply app saw an edit"}, step: "name", same: true},
			{other: "blocked", want: nil, step: "name", same: true},
			{say: "Ann", want: []string{"reply How old are you?"}, step: "age"},
		}, nil},
		{"a flow started in a group answers there only", []turn{
			{say: "/signup", group: -100, want: []string{"reply What is your name?"}, step: "name"},
			{say: "Ann", want: []string{"reply echo Ann"}, step: "name", same: true}, // the private chat
			{say: "/cancel", group: -200, want: []string{"reply echo /cancel"}, step: "name", same: true},
			{say: "Ann", group: -100, want: []string{"reply How old are you?"}, step: "age"},
			{user: 2, say: "30", group: -100, want: []string{"reply echo 30"}}, // another member's message
			{say: "30", group: -100, want: []string{"reply Ann, 30: save? [Yes No]"}, step: "confirm"},
			{user: 2, press: "Yes", of: 1, group: -100, want: []string{"answer This button is not for you."}, same: true},
			{press: "Yes", group: -100, want: []string{"answer ", "edit Saved Ann, 30."}},
		}, []string{"Ann, 30"}},
		{"the application's own buttons, outside a flow and in one", script([]turn{
			{data: "menu", want: []string{"answer app: menu"}, same: true},
			{data: "fl:zz", want: []string{"answer app: fl:zz"}, same: true}, // not one of the flow's
		}, toConfirm, []turn{
			{data: "menu", want: []string{"answer ", "reply Please press Yes or No.", "reply Ann, 30: save? [Yes No]"}, step: "confirm"},
		}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us := newUsers(t, app(mustManager(t, flow.Config{}, signup())))
			for i, tn := range tt.turns {
				user := cmp(tn.user, 1)
				before := deepCopy(us.states[user])
				us.now = us.now.Add(tn.after)
				var acts []bot.Action
				switch {
				case tn.other == "edit":
					acts = us.handle(user, tn.group, &gotgbot.Update{EditedMessage: &gotgbot.Message{Text: tn.say}})
				case tn.other == "blocked":
					acts = us.handle(user, tn.group, &gotgbot.Update{MyChatMember: &gotgbot.ChatMemberUpdated{}})
				case tn.data != "":
					acts = us.pressData(user, tn.group, tn.data)
				case tn.press != "":
					acts = us.pressIn(user, tn.group, cmp(tn.of, user), tn.press, tn.back)
				default:
					acts = us.handle(user, tn.group, &gotgbot.Update{Message: &gotgbot.Message{Text: tn.say}})
				}
				what := tn.other + tn.say + tn.press + tn.data
				if got := transcript(acts); !slices.Equal(got, tn.want) {
					t.Fatalf("turn %d (user %d: %q): got %q, want %q", i, user, what, got, tn.want)
				}
				st := us.states[user].Flow
				if st.Step != tn.step || st.Active() != (tn.step != "") {
					t.Fatalf("turn %d (user %d: %q): at step %q of %q, want %q", i, user, what, st.Step, st.Flow, tn.step)
				}
				if tn.same && !reflect.DeepEqual(us.states[user], before) {
					t.Fatalf("turn %d (user %d: %q): state changed:\n got %#v\nwant %#v", i, user, what, us.states[user], before)
				}
			}
			if got := us.states[1].Saved; !slices.Equal(got, tt.saved) {
				t.Errorf("saved %q, want %q", got, tt.saved)
			}
		})
	}
}

func cmp(v, otherwise int64) int64 {
	if v == 0 {
		return otherwise
	}
	return v
}

// TestFormDataKeptPerStep checks what the flow remembers between steps, and that it goes
// when the flow ends.
func TestFormDataKeptPerStep(t *testing.T) {
	us := newUsers(t, app(mustManager(t, flow.Config{}, signup())))
	for _, text := range []string{"/signup", "Ann", "30"} {
		us.say(1, text)
	}
	st := us.states[1].Flow
	if st.Flow != "signup" || st.Version != 1 || st.Get("name") != "Ann" || st.Get("age") != "30" {
		t.Fatalf("state at confirm = %+v", st)
	}
	if !st.Since.Equal(us.now) || st.Nonce == 0 {
		t.Fatalf("state at confirm: since %v nonce %d, want %v and a nonce", st.Since, st.Nonce, us.now)
	}

	// A durable store keeps the state encoded; the user continues from what it decodes.
	b, err := json.Marshal(us.states[1])
	if err != nil {
		t.Fatal(err)
	}
	var decoded form
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	us.states[1] = decoded
	if got := transcript(us.press(1, 1, "Yes", 0)); !slices.Equal(got, []string{"answer ", "edit Saved Ann, 30."}) {
		t.Fatalf("Yes after decoding %s: got %q", b, got)
	}
	if st := us.states[1].Flow; !reflect.DeepEqual(st, flow.State{}) {
		t.Fatalf("state after Done = %+v, want empty", st)
	}
}

func TestButtonPayloadLimit(t *testing.T) {
	var errs []error
	long := flow.Flow[form]{Name: "long", Steps: []flow.Step[form]{{
		Name: "pick",
		Ask: func(_ form, t *flow.Turn, _ *bot.Update) []bot.Action {
			return []bot.Action{bot.Reply("Pick").WithButtons(bot.Row(t.Button("A", strings.Repeat("a", 39))))}
		},
		Handle: func(s form, _ *flow.Turn, _ *bot.Update) (form, flow.Next, []bot.Action) { return s, flow.Done(), nil },
	}}}
	m := mustManager(t, flow.Config{OnError: func(err error) { errs = append(errs, err) }}, long)
	if got := m.MaxPayload(); got != 64-24-len("fl") {
		t.Fatalf("MaxPayload = %d, want %d", got, 64-24-2)
	}

	// The longest payload fits for the longest owner key and nonce; one byte more is refused.
	var longest, over bot.Button
	var overErr error
	edge := flow.Flow[form]{Name: "edge", Steps: []flow.Step[form]{{
		Name: "pick",
		Ask: func(_ form, t *flow.Turn, _ *bot.Update) []bot.Action {
			longest = t.Button("fits", strings.Repeat("x", m.MaxPayload()))
			if t.Err() != nil {
				overErr = fmt.Errorf("a payload of MaxPayload bytes: %w", t.Err())
				return nil
			}
			over = t.Button("over", strings.Repeat("x", m.MaxPayload()+1))
			overErr = t.Err()
			return nil
		},
		Handle: func(s form, _ *flow.Turn, _ *bot.Update) (form, flow.Next, []bot.Action) { return s, flow.Done(), nil },
	}}}
	me := mustManager(t, flow.Config{}, edge)
	for _, key := range []int64{math.MinInt64, math.MaxInt64, -1001234567890} {
		u := &bot.Update{Update: &gotgbot.Update{UpdateId: 7}, Key: key, Now: time.Unix(1, 0)}
		s, _ := me.Start(form{}, u, "edge")
		if len(longest.Data) > 64 || longest.Data == "" {
			t.Errorf("key %d: longest payload's data is %d bytes (%q)", key, len(longest.Data), longest.Data)
		}
		if !errors.Is(overErr, flow.ErrDataTooLong) || over.Data != "" {
			t.Errorf("key %d: payload of MaxPayload+1: err %v, data %q; want ErrDataTooLong and none", key, overErr, over.Data)
		}
		if s.Flow.Active() {
			t.Errorf("key %d: a step whose button was refused is still running: %+v", key, s.Flow)
		}
	}

	// A step that builds a payload too long ends its flow instead of sending broken buttons.
	us := newUsers(t, m.Wrap(bot.LogicFunc[form](func(s form, u *bot.Update) (form, []bot.Action) {
		return m.Start(s, u, "long")
	})))
	got := transcript(us.say(1, "go"))
	if want := []string{"reply Sorry, something went wrong, so this conversation has ended."}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if us.states[1].Flow.Active() || len(errs) != 1 || !errors.Is(errs[0], flow.ErrDataTooLong) {
		t.Fatalf("state %+v, errors %v; want no flow and one ErrDataTooLong", us.states[1].Flow, errs)
	}
}

// signupV2 is signup after a change: the age step is now "years", and a user parked at
// "age" under version 1 is moved there.
func signupV2(migrate func(int, flow.State) (flow.State, error)) flow.Flow[form] {
	f := signup()
	f.Version = 2
	f.Steps[1].Name = "years"
	f.Steps[1].Handle = askAge("confirm")
	f.Steps[0].Handle = func(s form, t *flow.Turn, u *bot.Update) (form, flow.Next, []bot.Action) {
		s, next, acts := askName(s, t, u)
		if next == flow.Goto("age") {
			next = flow.Goto("years")
		}
		return s, next, acts
	}
	f.Migrate = migrate
	return f
}

func renameAge(from int, st flow.State) (flow.State, error) {
	if from == 1 && st.Step == "age" {
		st.Step = "years"
	}
	st.Data["migrated"] = "yes" // writes into its copy, not the committed state's map
	return st, nil
}

func TestMigration(t *testing.T) {
	refuse := func(from int, _ flow.State) (flow.State, error) {
		return flow.State{}, fmt.Errorf("no way from version %d", from)
	}
	ended := "reply This conversation changed since you started it, so it has ended. Please start again."
	tests := []struct {
		name    string
		v2      flow.Flow[form]
		want    []string
		step    string
		wantErr error // what OnError hears, nil for nothing
	}{
		{"renamed step, migrated", signupV2(renameAge), []string{"reply Ann, 30: save? [Yes No]"}, "confirm", nil},
		{"migration fails", signupV2(refuse), []string{ended, "reply echo 30"}, "", errors.New("no way from version 1")},
		{"no migration", signupV2(nil), []string{ended, "reply echo 30"}, "", flow.ErrCannotMigrate},
		{"migrated to a step that does not exist", signupV2(func(_ int, st flow.State) (flow.State, error) { return st, nil }),
			[]string{ended, "reply echo 30"}, "", flow.ErrNoStep},
		{"step removed without a new version", func() flow.Flow[form] {
			f := signup()
			f.Steps = slices.Delete(f.Steps, 1, 2)
			return f
		}(), []string{ended, "reply echo 30"}, "", flow.ErrNoStep},
		{"flow removed", flow.Flow[form]{Name: "other", Steps: signup().Steps}, []string{ended, "reply echo 30"}, "", flow.ErrNoFlow},
		{"state from a newer version", func() flow.Flow[form] { f := signup(); f.Version = 0; return f }(),
			[]string{ended, "reply echo 30"}, "", flow.ErrNewerVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A user parked at "age" under version 1.
			v1 := newUsers(t, app(mustManager(t, flow.Config{}, signup())))
			v1.say(1, "/signup")
			v1.say(1, "Ann")
			if st := v1.states[1].Flow; st.Step != "age" || st.Version != 1 {
				t.Fatalf("parked at %+v, want age of version 1", st)
			}

			// The bot restarts with the new definition; the user answers.
			var errs []error
			m := mustManager(t, flow.Config{OnError: func(err error) { errs = append(errs, err) }}, tt.v2)
			v2 := newUsers(t, app(m))
			v2.states, v2.now, v2.update = v1.states, v1.now.Add(time.Minute), v1.update
			got := transcript(v2.say(1, "30"))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			st := v2.states[1].Flow
			if st.Step != tt.step {
				t.Fatalf("at step %q, want %q", st.Step, tt.step)
			}
			switch {
			case tt.wantErr == nil && len(errs) > 0:
				t.Fatalf("OnError heard %v", errs)
			case tt.wantErr != nil && (len(errs) != 1 || !(errors.Is(errs[0], tt.wantErr) || strings.Contains(errs[0].Error(), tt.wantErr.Error()))):
				t.Fatalf("OnError heard %v, want %v", errs, tt.wantErr)
			}
			if tt.step == "" {
				return
			}
			if st.Version != 2 || st.Get("migrated") != "yes" || st.Get("name") != "Ann" {
				t.Fatalf("migrated state %+v", st)
			}
			if got := transcript(v2.press(1, 1, "Yes", 0)); !slices.Equal(got, []string{"answer ", "edit Saved Ann, 30."}) {
				t.Fatalf("confirm after migration: got %q", got)
			}
		})
	}
}

func TestNewManagerRefuses(t *testing.T) {
	handle := func(s form, _ *flow.Turn, _ *bot.Update) (form, flow.Next, []bot.Action) { return s, flow.Done(), nil }
	one := []flow.Step[form]{{Name: "a", Handle: handle}}
	tests := []struct {
		name  string
		cfg   flow.Config
		flows []flow.Flow[form]
	}{
		{"a flow without a name", flow.Config{}, []flow.Flow[form]{{Steps: one}}},
		{"no steps", flow.Config{}, []flow.Flow[form]{{Name: "f"}}},
		{"two flows of one name", flow.Config{}, []flow.Flow[form]{{Name: "f", Steps: one}, {Name: "f", Steps: one}}},
		{"a step without a name", flow.Config{}, []flow.Flow[form]{{Name: "f", Steps: []flow.Step[form]{{Handle: handle}}}}},
		{"two steps of one name", flow.Config{}, []flow.Flow[form]{{Name: "f", Steps: slices.Concat(one, one)}}},
		{"a step without Handle", flow.Config{}, []flow.Flow[form]{{Name: "f", Steps: []flow.Step[form]{{Name: "a"}}}}},
		{"a prefix with a colon", flow.Config{Prefix: "a:b"}, nil},
		{"a prefix that leaves no room", flow.Config{Prefix: strings.Repeat("p", 40)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := flow.NewManager(getFlow, setFlow, tt.cfg, tt.flows...); err == nil {
				t.Fatal("NewManager accepted it")
			}
		})
	}
}

func TestStartUnknownFlowPanics(t *testing.T) {
	m := mustManager(t, flow.Config{}, signup())
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), `"nope"`) {
			t.Fatalf("recovered %v, want a panic naming the flow", r)
		}
	}()
	m.Start(form{}, &bot.Update{Update: &gotgbot.Update{}, Key: 1}, "nope")
}

func TestConfiguredCancelAndTexts(t *testing.T) {
	cfg := flow.Config{
		IsCancel: func(u *bot.Update) bool { return u.Message != nil && u.Message.Text == "stop" },
		Canceled: "Stopped.", Expired: "Too late.", Prefix: "s",
	}
	us := newUsers(t, app(mustManager(t, cfg, signup())))
	steps := []struct{ say, press, want string }{
		{say: "/signup", want: "reply What is your name?"},
		{say: "Ann", want: "reply How old are you?"},
		{say: "/cancel", want: "reply Please send your age as a number.|reply How old are you?"},
		{say: "30", want: "reply Ann, 30: save? [Yes No]"},
		{say: "stop", want: "reply Stopped."},
		{press: "No", want: "answer Too late."},
	}
	for _, st := range steps {
		var acts []bot.Action
		if st.press != "" {
			acts = us.press(1, 1, st.press, 0)
		} else {
			acts = us.say(1, st.say)
		}
		if got := strings.Join(transcript(acts), "|"); got != st.want {
			t.Fatalf("%q: got %q, want %q", st.say+st.press, got, st.want)
		}
	}
	if data := us.shown[1][0]["Yes"]; !strings.HasPrefix(data, "s:") {
		t.Fatalf("button data %q, want the prefix s:", data)
	}
}
