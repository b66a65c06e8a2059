package bot_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/render"
)

// seen is what Logic was handed for one update.
type seen struct {
	update        int64
	key           int64
	sender        *gotgbot.User
	chat          *gotgbot.Chat
	me            string
	now           time.Time
	pollStateOnly bool
}

// recorder is an App that answers nothing and reports every update it is handed.
func recorder(ch chan<- seen) bot.App[int] {
	return bot.App[int]{Name: "recorder", Logic: bot.LogicFunc[int](func(n int, u *bot.Update) (int, []bot.Action) {
		ch <- seen{update: u.UpdateId, key: u.Key, sender: u.Sender, chat: u.Chat, me: u.Me.Username, now: u.Now, pollStateOnly: u.Poll != nil}
		return n + 1, nil
	})}
}

// TestEveryUpdateTypeReachesLogic pushes an update of each type gotgbot's Update has (found
// by reflection, each with every field set) and checks that Logic gets it with its key,
// sender and chat: the poll's new state, which has neither, under the bot-wide key 0.
func TestEveryUpdateTypeReachesLogic(t *testing.T) {
	ch := make(chan seen, 100)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	emu := startBot(t, bot.Config{Now: func() time.Time { return at }}, recorder(ch))
	for _, name := range emulator.UpdateTypes() {
		t.Run(name, func(t *testing.T) {
			u, err := emulator.Sample(name)
			if err != nil {
				t.Fatal(err)
			}
			id, err := emu.PushUpdate(u)
			if err != nil {
				t.Fatal(err)
			}
			waitConfirmed(t, emu, id)
			var got seen
			select {
			case got = <-ch:
			default:
				t.Fatalf("update %d (%s) never reached Logic", id, name)
			}
			wantUser, wantChat := actors.Origin(&u)
			switch {
			case got.update != id:
				t.Errorf("Logic got update %d, want %d", got.update, id)
			case got.pollStateOnly && (got.key != 0 || got.sender != nil || got.chat != nil):
				t.Errorf("a poll's state: key %d, sender %v, chat %v; want the bot-wide key 0 and neither", got.key, got.sender, got.chat)
			case !got.pollStateOnly && got.key == 0:
				t.Errorf("no key")
			case (got.sender == nil) != (wantUser == nil) || (got.chat == nil) != (wantChat == nil):
				t.Errorf("sender %v, chat %v; want %v, %v", got.sender, got.chat, wantUser, wantChat)
			case got.sender != nil && got.key != got.sender.Id:
				t.Errorf("key %d, want the sender's id %d", got.key, got.sender.Id)
			case got.me != emu.BotUser().Username || !got.now.Equal(at):
				t.Errorf("Me %q, Now %v; want %q, %v", got.me, got.now, emu.BotUser().Username, at)
			}
		})
	}
}

// TestTheEdgeAnswersWhatTheAppDoesNot: an App that answers nothing leaves a button press,
// a pre-checkout, a shipping and an inline query unanswered; the edge answers each, so no
// client spins, and refuses the payment.
func TestTheEdgeAnswersWhatTheAppDoesNot(t *testing.T) {
	emu := startBot(t, bot.Config{}, recorder(make(chan seen, 10)))
	const user = 5
	send(t, emu, user, "hi")
	stray, err := emu.PressButton(user, user, 999, "a button of a message the app does not know")
	if err != nil {
		t.Fatal(err)
	}
	checkout, _ := emu.PreCheckout(user, "EUR", 990, "order-1")
	shipping, _ := emu.ShippingQuery(user, "order-1", gotgbot.ShippingAddress{CountryCode: "FR"})
	inline, err := emu.InlineQuery(user, "cats")
	if err != nil {
		t.Fatal(err)
	}
	waitConfirmed(t, emu, inline.UpdateID)
	want := map[string]emulator.Sent{
		stray.CallbackQueryID:    {Method: "answerCallbackQuery"},
		checkout.CallbackQueryID: {Method: "answerPreCheckoutQuery", Text: bot.RefusedCheckoutText},
		shipping.CallbackQueryID: {Method: "answerShippingQuery", Text: bot.RefusedShippingText},
		inline.CallbackQueryID:   {Method: "answerInlineQuery"},
	}
	for _, s := range emu.Sent() {
		w, ok := want[s.CallbackQueryID]
		if !ok {
			t.Errorf("the edge sent %+v", s)
			continue
		}
		if s.Method != w.Method || s.Text != w.Text || s.OK {
			t.Errorf("answer = %s %q ok=%v, want %s %q ok=false", s.Method, s.Text, s.OK, w.Method, w.Text)
		}
		delete(want, s.CallbackQueryID)
	}
	for id, w := range want {
		t.Errorf("query %s was not answered with %s", id, w.Method)
	}
	if st := emu.Stats(); st.RefusedAnswers != 0 {
		t.Errorf("%d answers refused", st.RefusedAnswers)
	}
}

// actionApp answers each text, button and query with the actions of the case it names.
func actionApp(cases map[string][]bot.Action) bot.App[int] {
	return bot.App[int]{
		Name: "actions",
		Logic: bot.LogicFunc[int](func(n int, u *bot.Update) (int, []bot.Action) {
			switch {
			case u.Message != nil:
				return n, cases[u.Message.Text]
			case u.CallbackQuery != nil:
				return n, cases[u.CallbackQuery.Data]
			case u.PreCheckoutQuery != nil:
				return n, cases[u.PreCheckoutQuery.InvoicePayload]
			case u.ShippingQuery != nil:
				return n, cases[u.ShippingQuery.InvoicePayload]
			case u.InlineQuery != nil:
				return n, cases[u.InlineQuery.Query]
			}
			return n, nil
		}),
		Custom: map[string]bot.CustomFunc{
			"shout": func(ctx context.Context, api *gotgbot.Bot, chat int64, payload []byte) error {
				_, err := api.SendMessageWithContext(ctx, chat, strings.ToUpper(string(payload)), nil)
				return err
			},
		},
	}
}

// TestEveryStandardActionIsPerformed has an App answer with each standard action and
// checks what reached the emulator.
func TestEveryStandardActionIsPerformed(t *testing.T) {
	png, err := render.Render(context.Background(), render.Series{Values: []float64{1, 3, 2}}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const user, other = 11, 12
	series := render.Series{Values: []float64{4, 5}}
	cases := map[string][]bot.Action{
		"text":     {bot.Reply("hi").WithButtons(bot.Row(bot.Data("a", "edit"), bot.Button{Text: "site", URL: "https://example.com"}))},
		"html":     {bot.Reply("<b>hi</b>").WithParseMode("HTML").WithKeyboard([]string{"yes", "no"})},
		"plain":    {bot.Reply("no reply").NotAReply().WithoutKeyboard()},
		"sendto":   {bot.SendTo(other, "to the other")},
		"photo":    {bot.Photo("p.png", png, "a photo")},
		"document": {bot.Document("notes.txt", []byte("1,2\n"), "a document")},
		"chart":    {bot.ChartOf(series, render.Options{Kind: render.Bar}, "a chart")},
		"typing":   {bot.Typing()},
		"status":   {bot.Status()},
		"custom":   {bot.CustomAction("shout", []byte("loud"))},
		"edit":     {bot.Answer("edited"), bot.Edit("changed")},
		"delete":   {bot.Alert("gone"), bot.Delete()},
		"buy":      {bot.AcceptCheckout()},
		"ship":     {bot.RefuseShipping("not to the moon")},
		"search":   {bot.NoResults()},
	}
	emu := startBot(t, bot.Config{}, actionApp(cases))
	send(t, emu, other, "hello") // the other chat exists
	msg := func(text string) func() (emulator.Pushed, error) {
		return func() (emulator.Pushed, error) { return emu.SendText(user, text) }
	}
	tests := []struct {
		name string
		push func() (emulator.Pushed, error)
		want []emulator.Sent // Method, ChatID, Text, and the fields checked below
	}{
		{"reply with buttons", msg("text"), []emulator.Sent{{Method: "sendMessage", ChatID: user, Text: "hi", Buttons: [][]emulator.Button{{{Text: "a", Data: "edit"}, {Text: "site", URL: "https://example.com"}}}}}},
		{"parse mode and keyboard", msg("html"), []emulator.Sent{{Method: "sendMessage", ChatID: user, Text: "<b>hi</b>"}}},
		{"not a reply", msg("plain"), []emulator.Sent{{Method: "sendMessage", ChatID: user, Text: "no reply", ReplyTo: -1}}},
		{"to another chat", msg("sendto"), []emulator.Sent{{Method: "sendMessage", ChatID: other, Text: "to the other", ReplyTo: -1}}},
		{"photo", msg("photo"), []emulator.Sent{{Method: "sendPhoto", ChatID: user, Text: "a photo", Photo: png}}},
		{"document", msg("document"), []emulator.Sent{{Method: "sendDocument", ChatID: user, Text: "a document", Document: []byte("1,2\n"), FileName: "notes.txt"}}},
		{"chart", msg("chart"), []emulator.Sent{{Method: "sendChatAction", ChatID: user, Action: "upload_photo"}, {Method: "sendPhoto", ChatID: user, Text: "a chart"}}},
		{"typing", msg("typing"), []emulator.Sent{{Method: "sendChatAction", ChatID: user, Action: "typing"}}},
		{"status", msg("status"), []emulator.Sent{{Method: "sendMessage", ChatID: user, Text: "Troupe "}}},
		{"custom", msg("custom"), []emulator.Sent{{Method: "sendMessage", ChatID: user, Text: "LOUD", ReplyTo: -1}}},
		{"answer and edit", func() (emulator.Pushed, error) { return press(emu, user, "edit") }, []emulator.Sent{{Method: "answerCallbackQuery", Text: "edited"}, {Method: "editMessageText", ChatID: user, Text: "changed"}}},
		{"alert and delete", func() (emulator.Pushed, error) { return press(emu, user, "delete") }, []emulator.Sent{{Method: "answerCallbackQuery", Text: "gone"}, {Method: "deleteMessage", ChatID: user}}},
		{"accept a checkout", func() (emulator.Pushed, error) { return emu.PreCheckout(user, "EUR", 100, "buy") }, []emulator.Sent{{Method: "answerPreCheckoutQuery", OK: true}}},
		{"refuse shipping", func() (emulator.Pushed, error) {
			return emu.ShippingQuery(user, "ship", gotgbot.ShippingAddress{CountryCode: "DE"})
		}, []emulator.Sent{{Method: "answerShippingQuery", Text: "not to the moon"}}},
		{"no inline results", func() (emulator.Pushed, error) { return emu.InlineQuery(user, "search") }, []emulator.Sent{{Method: "answerInlineQuery"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(emu.Sent())
			p, err := tt.push()
			if err != nil {
				t.Fatal(err)
			}
			waitConfirmed(t, emu, p.UpdateID)
			got := emu.Sent()[before:]
			if len(got) != len(tt.want) {
				t.Fatalf("sent %+v, want %d requests", got, len(tt.want))
			}
			for i, w := range tt.want {
				checkSent(t, got[i], w, p)
			}
		})
	}
}

// press makes user press data on the newest message the bot sent them with buttons.
func press(emu *emulator.Server, user int64, data string) (emulator.Pushed, error) {
	var msg int64
	for _, s := range emu.Sent() {
		if s.ChatID == user && len(s.Buttons) > 0 {
			msg = s.MessageID
		}
	}
	if msg == 0 {
		return emulator.Pushed{}, errors.New("no message with buttons")
	}
	return emu.PressButton(user, user, msg, data)
}

// checkSent compares what the emulator recorded with w: a reply names p's message unless
// w.ReplyTo is -1; an edit or a deletion changes the message p's button was on.
func checkSent(tb testing.TB, got, w emulator.Sent, p emulator.Pushed) {
	tb.Helper()
	wantReply := int64(0)
	switch got.Method {
	case "sendMessage", "sendPhoto", "sendDocument":
		if w.ReplyTo != -1 {
			wantReply = p.MessageID
		}
	case "editMessageText", "deleteMessage":
		if got.MessageID != p.MessageID {
			tb.Errorf("%s changed message %d, want %d", got.Method, got.MessageID, p.MessageID)
		}
	}
	switch {
	case got.Method != w.Method || !strings.HasPrefix(got.Text, w.Text) || (w.ChatID != 0 && got.ChatID != w.ChatID):
		tb.Errorf("sent %s to %d %q, want %s to %d %q…", got.Method, got.ChatID, got.Text, w.Method, w.ChatID, w.Text)
	case got.ReplyTo != wantReply:
		tb.Errorf("%s replies to %d, want %d", got.Method, got.ReplyTo, wantReply)
	case got.Action != w.Action || got.OK != w.OK || got.FileName != w.FileName || string(got.Document) != string(w.Document):
		tb.Errorf("sent %+v, want %+v", got, w)
	case w.Photo != nil && string(got.Photo) != string(w.Photo):
		tb.Error("the photo is not the bytes given")
	case got.Method == "sendPhoto" && got.Width == 0:
		tb.Error("the photo does not decode")
	case w.Buttons != nil && !sameButtons(got.Buttons, w.Buttons):
		tb.Errorf("buttons %+v, want %+v", got.Buttons, w.Buttons)
	}
}

func sameButtons(a, b [][]emulator.Button) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}
