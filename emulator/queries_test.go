package emulator_test

import (
	"encoding/json"
	"testing"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/emulator"
)

// TestAnswerQueries pushes each kind of query and answers it as Telegram would check: an
// answer names an open query of its own kind, once; a refusal says why.
func TestAnswerQueries(t *testing.T) {
	s := newServer(t)
	checkout, err := s.PreCheckout(7, "EUR", 500, "book")
	if err != nil {
		t.Fatal(err)
	}
	shipping, _ := s.ShippingQuery(7, "book", gotgbot.ShippingAddress{CountryCode: "DE", City: "Berlin"})
	inline, _ := s.InlineQuery(7, "cats")
	if _, err := s.SendText(7, "hi"); err != nil { // the chat of the press must exist
		t.Fatal(err)
	}
	press, err := s.PressButton(7, 7, 1, "x")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		params map[string]any
		code   int // 0: accepted
	}{
		{"checkout refused without a reason", "answerPreCheckoutQuery", map[string]any{"pre_checkout_query_id": checkout.CallbackQueryID, "ok": false}, 400},
		{"checkout answered as a shipping query", "answerShippingQuery", map[string]any{"shipping_query_id": checkout.CallbackQueryID, "ok": false, "error_message": "no"}, 400},
		{"checkout accepted", "answerPreCheckoutQuery", map[string]any{"pre_checkout_query_id": checkout.CallbackQueryID, "ok": true}, 0},
		{"checkout answered twice", "answerPreCheckoutQuery", map[string]any{"pre_checkout_query_id": checkout.CallbackQueryID, "ok": true}, 400},
		{"shipping accepted without options", "answerShippingQuery", map[string]any{"shipping_query_id": shipping.CallbackQueryID, "ok": true}, 400},
		{"shipping refused", "answerShippingQuery", map[string]any{"shipping_query_id": shipping.CallbackQueryID, "ok": false, "error_message": "not there"}, 0},
		{"inline without results", "answerInlineQuery", map[string]any{"inline_query_id": inline.CallbackQueryID}, 400},
		{"inline answered as a callback", "answerCallbackQuery", map[string]any{"callback_query_id": inline.CallbackQueryID}, 400},
		{"inline answered", "answerInlineQuery", map[string]any{"inline_query_id": inline.CallbackQueryID, "results": []any{}}, 0},
		{"callback answered", "answerCallbackQuery", map[string]any{"callback_query_id": press.CallbackQueryID}, 0},
	}
	for _, tt := range tests {
		r := callJSON(t, s, tt.method, tt.params)
		if tt.code == 0 && !r.OK || tt.code != 0 && r.ErrorCode != tt.code {
			t.Errorf("%s: %s = %+v, want code %d", tt.name, tt.method, r, tt.code)
		}
	}
	var answers []emulator.Sent
	for _, sent := range s.Sent() {
		if sent.Method != "sendMessage" {
			answers = append(answers, sent)
		}
	}
	want := []emulator.Sent{
		{Method: "answerPreCheckoutQuery", CallbackQueryID: checkout.CallbackQueryID, OK: true},
		{Method: "answerShippingQuery", CallbackQueryID: shipping.CallbackQueryID, Text: "not there"},
		{Method: "answerInlineQuery", CallbackQueryID: inline.CallbackQueryID},
		{Method: "answerCallbackQuery", CallbackQueryID: press.CallbackQueryID},
	}
	if len(answers) != len(want) {
		t.Fatalf("recorded %+v", answers)
	}
	for i, w := range want {
		a := answers[i]
		if a.Method != w.Method || a.CallbackQueryID != w.CallbackQueryID || a.OK != w.OK || a.Text != w.Text || a.Results != 0 {
			t.Errorf("answer %d = %+v, want %+v", i, a, w)
		}
	}
	updates := getUpdates(t, s, map[string]any{"timeout": 0})
	if len(updates) < 3 {
		t.Fatalf("%d updates queued, want the three queries and more", len(updates))
	}
}

func TestSendDocumentAndDelete(t *testing.T) {
	s := newServer(t)
	p, err := s.SendText(7, "hi")
	if err != nil {
		t.Fatal(err)
	}
	r := callMultipart(t, s, "sendDocument", map[string]string{"chat_id": "7", "caption": "notes"}, map[string][]byte{"document": []byte("1,2,3\n")})
	mustOK(t, r)
	for _, tc := range []struct {
		name string
		id   int64
		ok   bool
	}{{"the user's message", p.MessageID, true}, {"no such message", 99, false}} {
		r := callJSON(t, s, "deleteMessage", map[string]any{"chat_id": 7, "message_id": tc.id})
		if r.OK != tc.ok {
			t.Errorf("deleteMessage of %s = %+v, want ok %v", tc.name, r, tc.ok)
		}
	}
	if r := callMultipart(t, s, "sendDocument", map[string]string{"chat_id": "7"}, nil); r.OK {
		t.Error("sendDocument without a document was accepted")
	}
	sent := s.Sent()
	if len(sent) != 2 {
		t.Fatalf("sent = %+v", sent)
	}
	doc, del := sent[0], sent[1]
	if doc.Method != "sendDocument" || string(doc.Document) != "1,2,3\n" || doc.FileName != "document.png" || doc.Text != "notes" {
		t.Errorf("document = %+v", doc)
	}
	if del.Method != "deleteMessage" || del.ChatID != 7 || del.MessageID != p.MessageID {
		t.Errorf("deletion = %+v", del)
	}
}

func TestSampleOfEveryType(t *testing.T) {
	for _, name := range emulator.UpdateTypes() {
		u, err := emulator.Sample(name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(u)
		if err != nil {
			t.Fatalf("sample %s: %v", name, err)
		}
		// What a bot does with it: gotgbot must decode it again.
		var back gotgbot.Update
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("sample %s does not decode: %v", name, err)
		}
	}
	if _, err := emulator.Sample("telepathy"); err == nil {
		t.Error("a sample of an unknown type")
	}
}
