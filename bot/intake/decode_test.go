package intake_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/bot/notebook"
)

func TestDecodeUpdate(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		id   int64
		err  bool
	}{
		{"message", `{"update_id":5,"message":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"},"from":{"id":7,"is_bot":false,"first_name":"A"},"text":"hi"}}`, 5, false},
		{"callback", `{"update_id":6,"callback_query":{"id":"q","from":{"id":7,"is_bot":false,"first_name":"A"},"chat_instance":"1","data":"reset:no:1"}}`, 6, false},
		{"unknown kind", `{"update_id":8,"something_new":{"x":1}}`, 8, false},
		{"wrong type inside", `{"update_id":9,"message":{"text":12}}`, 9, true},
		{"no update_id", `{"message":{}}`, 0, true},
		{"not JSON", `{"update_id":`, 0, true},
		{"not an object", `[1,2]`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := intake.DecodeUpdate([]byte(tt.raw))
			var id int64
			var ue *intake.UndecodableError
			switch {
			case u != nil:
				id = u.UpdateId
			case errors.As(err, &ue):
				id = ue.ID
			}
			if (err != nil) != tt.err || id != tt.id {
				t.Fatalf("DecodeUpdate = %v, %v; want id %d, error %v", u, err, tt.id, tt.err)
			}
			if tt.name == "no update_id" && !errors.Is(err, intake.ErrNoUpdateID) {
				t.Errorf("err = %v, want ErrNoUpdateID", err)
			}
		})
	}
}

// FuzzDecodeUpdate feeds arbitrary bytes through everything an update meets outside an
// actor (decoding, routing), and through the conversation itself: none may panic.
//
//	go test ./bot/intake -run '^$' -fuzz FuzzDecodeUpdate -fuzztime 30s
func FuzzDecodeUpdate(f *testing.F) {
	for _, seed := range []string{
		`{"update_id":5,"message":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"},"from":{"id":7,"is_bot":false,"first_name":"A"},"text":"/chart bar 5"}}`,
		`{"update_id":6,"callback_query":{"id":"q","from":{"id":7,"is_bot":false,"first_name":"A"},"chat_instance":"1","data":"reset:yes:1","message":{"message_id":3,"date":0,"chat":{"id":7,"type":"private"}}}}`,
		`{"update_id":7,"edited_message":{"message_id":1,"date":0,"chat":{"id":-100,"type":"supergroup"},"text":"12.5 coffee"}}`,
		`{"update_id":8,"message":{"message_id":1,"date":0,"chat":{"id":-100,"type":"group"},"sender_chat":{"id":-100,"type":"group"},"forward_origin":{"type":"user","date":1,"sender_user":{"id":1,"is_bot":false,"first_name":"x"}}}}`,
		`{"update_id":1}`,
	} {
		f.Add([]byte(seed))
	}
	nb := &notebook.Notebook{Charts: true, Admins: map[int64]bool{7: true}}
	me := &gotgbot.User{Id: 1, IsBot: true, Username: "troupe_bot"}
	f.Add([]byte(`{"update_id":1,"message":{"chat_background_set":{"type":{"type":"fill","fill":{"type":"gradient"}}}}}`))
	f.Add([]byte(`{"update_id":1,"chat_boost":{"boost":{"source":{"source":"premium"}}}}`))
	f.Add([]byte(`{"update_id":5,"message":{"forward_origin":{"type":"hologram"}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := intake.DecodeUpdate(raw)
		var ue *intake.UndecodableError
		if errors.As(err, &ue) && !json.Valid(raw) {
			t.Fatalf("%q taken for a well-formed undecodable update %d", raw, ue.ID)
		}
		if err != nil {
			return
		}
		if u == nil || !json.Valid(raw) {
			t.Fatalf("accepted %q as %v", raw, u)
		}
		key, _ := actors.KeyOf(u)
		user, chat := actors.Origin(u)
		c, actions := nb.Handle(notebook.Context{}, &bot.Update{Update: u, Me: me, Key: key, Sender: user, Chat: chat})
		_ = c
		for _, a := range actions {
			if len(a.Text) > 4096*4 {
				t.Fatalf("reply of %d bytes", len(a.Text))
			}
		}
	})
}
