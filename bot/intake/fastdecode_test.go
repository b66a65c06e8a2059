package intake

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/emulator"
)

// quickSeeds are updates in the shapes Telegram sends, with the edge cases of
// each part of the reader; each one either takes the quick path or is left to
// encoding/json, and FuzzQuickUpdate mutates them.
var quickSeeds = []struct {
	raw   string
	quick bool // whether the quick path must take it
}{
	{`{"update_id":5,"message":{"message_id":1,"from":{"id":7,"is_bot":false,"first_name":"A","last_name":"B","username":"ab","language_code":"en"},"chat":{"id":7,"first_name":"A","last_name":"B","username":"ab","type":"private"},"date":1733000000,"text":"/start","entities":[{"offset":0,"length":6,"type":"bot_command"}]}}`, true},
	{` { "update_id" : 6 , "message" : { "message_id" : 2 , "chat" : { "id" : -1001 , "type" : "supergroup" , "title" : "Группа 🚀" } , "date" : 1 , "text" : "12.5 кофе" } } `, true},
	{`{"update_id":7,"edited_message":{"message_id":3,"chat":{"id":7,"type":"private"},"date":1,"edit_date":2,"text":"x","entities":[]}}`, true},
	{`{"update_id":8,"message":{"message_id":4,"chat":{"id":7,"type":"private"},"date":1,"text":"a\nb \"q\" \u00e9 \ud83d\ude80 \/"}}`, true},
	{`{"update_id":9,"message":{"message_id":5,"chat":{"id":7,"type":"private"},"date":1,"text":"see","entities":[{"offset":0,"length":3,"type":"text_link","url":"https://t.me"},{"offset":0,"length":3,"type":"pre","language":"go"},{"offset":0,"length":3,"type":"custom_emoji","custom_emoji_id":"5"}]}}`, true},
	{`{"update_id":10,"callback_query":{"id":"q1","from":{"id":7,"is_bot":false,"first_name":"A","is_premium":true},"message":{"message_id":3,"from":{"id":1,"is_bot":true,"first_name":"Bot"},"chat":{"id":7,"type":"private"},"date":5,"text":"Reset?"},"chat_instance":"77","data":"reset:yes:1@7"}}`, true},
	{`{"update_id":11,"callback_query":{"id":"q2","from":{"id":7,"is_bot":false,"first_name":"A"},"inline_message_id":"im","chat_instance":"1","game_short_name":"g"}}`, true},
	{`{"update_id":-0,"message":{"message_id":999999999999999999,"chat":{"id":-999999999999999999,"type":"private"},"date":0}}`, true},
	{`{"update_id":12}`, true},
	// Left to encoding/json.
	{`{"update_id":13,"callback_query":{"id":"q","from":{"id":7,"is_bot":false,"first_name":"A"},"message":{"message_id":3,"chat":{"id":7,"type":"private"},"date":0}}}`, false},
	{`{"update_id":14,"message":{"message_id":1,"chat":{"id":7,"type":"private"},"date":1,"reply_to_message":{"message_id":0,"chat":{"id":7,"type":"private"},"date":1}}}`, false},
	{`{"update_id":15,"message":{"message_id":1,"message_id":2,"chat":{"id":7,"type":"private"},"date":1}}`, false},
	{`{"update_id":16,"message":{"message_id":1,"from":{"id":1},"from":{"first_name":"x"},"chat":{"id":7,"type":"private"},"date":1}}`, false},
	{`{"update_id":17,"message":null}`, false},
	{`{"update_id":18,"message":{"message_id":1.0,"chat":{"id":7,"type":"private"},"date":1}}`, false},
	{`{"update_id":19,"message":{"message_id":1e2,"chat":{"id":7,"type":"private"},"date":1}}`, false},
	{`{"update_id":20,"message":{"message_id":01,"chat":{"id":7,"type":"private"},"date":1}}`, false},
	{`{"update_id":21,"message":{"Message_Id":1,"chat":{"id":7,"type":"private"},"date":1}}`, false},
	{`{"update_id":22,"message":{"message_id":1,"chat":{"id":7,"type":"private"},"date":1,"text":"` + "\xff" + `"}}`, true},
	{`{"update_id":23,"message":{"message_id":1,"chat":{"id":7,"type":"private"},"date":1,"text":"` + "\x01" + `"}}`, false},
	{`{"update_id":24,"message":{"message_id":12345678901234567890,"chat":{"id":7,"type":"private"},"date":1}}`, false},
	{`{"update_id":25,"message":{"message_id":1,"chat":{"id":7,"type":"private"},"date":1}}x`, false},
	{`{"update_id":26,"message":{"message_id":1,"chat":{"id":7,"type":"private"},"date":1,"text":"\ud800"}}`, true},
	{`{"update_id":27,"message":{"message_id":1,"chat":{"id":7,"type":"private"},"date":1,"text":"\x"}}`, false},
	{`{"update_id":28,"chat_member":{}}`, false},
	{`{"update_id":29,"message":{"message_id":1,"chat":{"id":7,"type":"private"},"date":1,"text":7}}`, false},
	{`{"update_id":30,"message":{"message_id":1,"chat":{"id":7,"type":"private"},"date":1,}}`, false},
	{`{"update_id":31,"message":{"from":{"id":7,"is_bot":tru}}}`, false},
}

// TestQuickUpdateMatchesEncodingJSON: whatever the quick path takes, it
// decodes to what encoding/json makes of it.
func TestQuickUpdateMatchesEncodingJSON(t *testing.T) {
	for _, s := range quickSeeds {
		u, ok := quickUpdate([]byte(s.raw))
		if ok != s.quick {
			t.Errorf("%s: quick path took it: %v, want %v", s.raw, ok, s.quick)
		}
		if ok {
			checkSameAsJSON(t, []byte(s.raw), u)
		}
	}
}

// TestQuickUpdateTakesTheEmulators: the updates the emulator (and so the load
// test) sends for a text message and a command take the quick path, or the
// path would be dead weight.
func TestQuickUpdateTakesTheEmulators(t *testing.T) {
	srv, err := emulator.New(emulator.Config{Token: "1:t"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, text := range []string{"hello", "/stats", "12.5 coffee", "многострочный\nтекст"} {
		if _, err := srv.SendText(7, text); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Get(srv.URL() + "/bot" + srv.Token() + "/getUpdates")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	raws := answer.Result
	if len(raws) != 4 {
		t.Fatalf("%d updates queued, want 4", len(raws))
	}
	for _, raw := range raws {
		u, ok := quickUpdate(raw)
		if !ok {
			t.Errorf("quick path declined the emulator's %s", raw)
			continue
		}
		checkSameAsJSON(t, raw, u)
	}
}

func checkSameAsJSON(t *testing.T, raw []byte, got *gotgbot.Update) {
	t.Helper()
	var want gotgbot.Update
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("quick path took %q, which encoding/json refuses: %v", raw, err)
	}
	if !reflect.DeepEqual(got, &want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(&want)
		t.Fatalf("quick path decoded %q\nas   %s\nwant %s", raw, g, w)
	}
}

func FuzzQuickUpdate(f *testing.F) {
	for _, s := range quickSeeds {
		f.Add([]byte(s.raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if u, ok := quickUpdate(raw); ok {
			checkSameAsJSON(t, raw, u)
		}
	})
}

// BenchmarkDecodeUpdate decodes the emulator's text message both ways.
func BenchmarkDecodeUpdate(b *testing.B) {
	raw := []byte(quickSeeds[0].raw)
	b.Run("quick", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := quickUpdate(raw); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var u gotgbot.Update
			if err := json.Unmarshal(raw, &u); err != nil {
				b.Fatal(err)
			}
		}
	})
}
