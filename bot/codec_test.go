package bot

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/PaulSonOfLars/gotgbot/v2"
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
	if _, _, err := (actionCodec{}).Decode([]byte{actionFormat + 1, '{', '}'}); err == nil {
		t.Error("a newer format was read, want it refused")
	}
}

// TestActionCodecFormat: stored actions stay what json.Marshal made of them behind the
// format byte, so outboxes written before and after read the same.
func TestActionCodecFormat(t *testing.T) {
	u := &gotgbot.Update{UpdateId: 9, Message: &gotgbot.Message{MessageId: 4, Chat: gotgbot.Chat{Id: 7}}}
	for _, a := range []Action{
		{Kind: SendText, Text: "hello <b>&</b>", ParseMode: "HTML"},
		{Kind: SendText, Text: "buttons", Buttons: [][]Button{{{Text: "yes", Data: "reset:yes:1@7"}}}},
		{Kind: SendPhoto, File: &File{Name: "c.png", Data: []byte{1, 2, 3}}},
		{},
	} {
		got, err := actionCodec{}.Encode(u, a)
		if err != nil {
			t.Fatal(err)
		}
		p := target(u)
		want, err := json.Marshal(storedAction{Chat: p.chat, Message: p.message, Business: p.business, Query: p.query, Answers: p.answers, Action: a})
		if err != nil {
			t.Fatal(err)
		}
		if want = append([]byte{actionFormat}, want...); !bytes.Equal(got, want) {
			t.Errorf("encoded\n%q\nwant\n%q", got, want)
		}
	}
}
