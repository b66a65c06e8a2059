package bot

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/render"
)

// TestActionCodecKeepsThePlace: an action read back from the outbox goes where it would
// have gone with its update, for every kind of place.
func TestActionCodecKeepsThePlace(t *testing.T) {
	chat := gotgbot.Chat{Id: -100, Type: "supergroup"}
	user := gotgbot.User{Id: 42}
	for name, u := range map[string]*gotgbot.Update{
		"message":  {UpdateId: 1, Message: &gotgbot.Message{MessageId: 7, Chat: chat, From: &user}},
		"business": {UpdateId: 2, BusinessMessage: &gotgbot.Message{MessageId: 8, Chat: chat, From: &user, BusinessConnectionId: "bc"}},
		"button":   {UpdateId: 3, CallbackQuery: &gotgbot.CallbackQuery{Id: "q", From: user, Message: gotgbot.Message{MessageId: 9, Chat: chat}}},
		"inline":   {UpdateId: 4, InlineQuery: &gotgbot.InlineQuery{Id: "iq", From: user}},
		"checkout": {UpdateId: 5, PreCheckoutQuery: &gotgbot.PreCheckoutQuery{Id: "pc", From: user}},
		"shipping": {UpdateId: 6, ShippingQuery: &gotgbot.ShippingQuery{Id: "sq", From: user}},
		"reaction": {UpdateId: 7, MessageReaction: &gotgbot.MessageReactionUpdated{Chat: chat, User: &user}},
	} {
		t.Run(name, func(t *testing.T) {
			a := Reply("#3 hi").WithButtons(Row(Data("ok", "y"))).To(5)
			a.File = &File{Name: "f.png", Data: []byte{0x89, 'P', 'N', 'G'}}
			b, err := actionCodec{}.Encode(u, a)
			if err != nil {
				t.Fatal(err)
			}
			got, ga, err := actionCodec{}.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ga, a) {
				t.Errorf("action %+v, want %+v", ga, a)
			}
			if target(got) != target(u) {
				t.Errorf("place %+v, want %+v", target(got), target(u))
			}
		})
	}
	if _, _, err := (actionCodec{}).Decode([]byte{actionCompact + 1, '{', '}'}); err == nil {
		t.Error("a newer format was read, want it refused")
	}
}

// everyField is an Action with every field set, so that a format that drops or merges one
// fails the round trip.
func everyField() Action {
	return Action{Kind: SendPhoto, Chat: 5, Text: "caption", ParseMode: "HTML",
		Buttons:  [][]Button{{{Text: "yes", Data: "reset:yes:1@7"}, {Text: "site", URL: "https://example.org"}}},
		Keyboard: [][]string{{"a", "b"}}, RemoveKeyboard: true, NoReply: true, EditID: 9, Alert: true, OK: true,
		File:       &File{Name: "c.png", Data: []byte{1, 2, 3}},
		Chart:      &Chart{Series: render.Series{Values: []float64{1, 2.5}, Labels: []string{"x", "y"}}, Options: render.Options{Kind: render.Bar, Title: "t", Width: 640, Height: 480}},
		ChatAction: "typing", Name: "n", Payload: []byte("p"), Answers: true}
}

// TestActionCodecReadsEveryFormat: what Encode writes (the compact format) and what builds
// before it wrote (the Action's own JSON) decode to the same action and place, so that an
// outbox left by an older build is sent after a redeploy.
func TestActionCodecReadsEveryFormat(t *testing.T) {
	u := &gotgbot.Update{UpdateId: 9, CallbackQuery: &gotgbot.CallbackQuery{Id: "q", From: gotgbot.User{Id: 7}, Message: gotgbot.Message{MessageId: 4, Chat: gotgbot.Chat{Id: 7}}}}
	p := target(u)
	for name, a := range map[string]Action{
		"every field": everyField(),
		"text":        {Kind: SendText, Text: "hello <b>&</b>", ParseMode: "HTML"},
		"zero":        {},
	} {
		t.Run(name, func(t *testing.T) {
			compact, err := actionCodec{}.Encode(u, a)
			if err != nil {
				t.Fatal(err)
			}
			if compact[0] != actionCompact {
				t.Errorf("format %d written, want %d", compact[0], actionCompact)
			}
			old, err := json.Marshal(storedAction{storedPlace: p.stored(), Action: a})
			if err != nil {
				t.Fatal(err)
			}
			for format, b := range map[string][]byte{"compact": compact, "json": append([]byte{actionJSON}, old...)} {
				got, ga, err := actionCodec{}.Decode(b)
				if err != nil {
					t.Fatalf("%s: %v", format, err)
				}
				if !reflect.DeepEqual(ga, a) {
					t.Errorf("%s: action %+v, want %+v", format, ga, a)
				}
				if target(got) != p {
					t.Errorf("%s: place %+v, want %+v", format, target(got), p)
				}
			}
		})
	}
}

// TestActionCodecReadsWhatOlderBuildsWrote: an outbox entry as a build before the compact
// format stored it (these bytes were read out of Redis) still decodes, independent of how
// storedAction is declared now.
func TestActionCodecReadsWhatOlderBuildsWrote(t *testing.T) {
	old := "\x01" + `{"c":1009984,"m":19,"a":{"Kind":1,"Chat":0,"Text":"#9 ping","ParseMode":"","Buttons":null,"Keyboard":null,"RemoveKeyboard":false,"NoReply":false,"EditID":0,"Alert":false,"OK":false,"File":null,"Chart":null,"ChatAction":"","Name":"","Payload":null,"Answers":false}}`
	u, a, err := actionCodec{}.Decode([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if want := Reply("#9 ping"); !reflect.DeepEqual(a, want) {
		t.Errorf("action %+v, want %+v", a, want)
	}
	if got, want := target(u), (place{chat: 1009984, message: 19}); got != want {
		t.Errorf("place %+v, want %+v", got, want)
	}
}

// TestActionCodecCompact: a short reply's outbox entry (its 12-byte id, then the encoded
// action) fits the 64 bytes Redis keeps compactly, and zero fields are not written.
func TestActionCodecCompact(t *testing.T) {
	u := &gotgbot.Update{UpdateId: 100_000, Message: &gotgbot.Message{MessageId: 19, Chat: gotgbot.Chat{Id: 1_009_984}}}
	b, err := actionCodec{}.Encode(u, Reply("#10 104.9 km"))
	if err != nil {
		t.Fatal(err)
	}
	want := "\x02" + `{"c":1009984,"m":19,"a":{"k":1,"t":"#10 104.9 km"}}`
	if string(b) != want {
		t.Errorf("encoded %q, want %q", b, want)
	}
	if n := 12 + len(b); n > 64 {
		t.Errorf("outbox entry of %d bytes, want at most 64", n)
	}
}
