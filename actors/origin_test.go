package actors_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/emulator"
)

// TestOriginKnowsEveryUpdateType sets each pointer field of gotgbot's Update in turn, to a
// value whose users and chats all have ids, and checks that KeyOf routes it: a gotgbot
// upgrade that adds an update type fails here until Origin knows it.
func TestOriginKnowsEveryUpdateType(t *testing.T) {
	ut := reflect.TypeFor[gotgbot.Update]()
	for i := range ut.NumField() {
		f := ut.Field(i)
		if f.Type.Kind() != reflect.Pointer {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			u, err := emulator.Sample(name)
			if err != nil {
				t.Fatal(err)
			}
			key, ok := actors.KeyOf(&u)
			user, chat := actors.Origin(&u)
			if f.Name == "Poll" {
				// A poll's new state has neither user nor chat: the bot-wide key, documented.
				if !ok || key != 0 || user != nil || chat != nil {
					t.Errorf("KeyOf = %d, %v; Origin = %v, %v; want key 0 and neither", key, ok, user, chat)
				}
				return
			}
			if !ok || key == 0 || (user == nil && chat == nil) {
				t.Errorf("KeyOf = %d, %v; Origin = %v, %v; want a key from a user or a chat", key, ok, user, chat)
			}
			if user != nil && key != user.Id {
				t.Errorf("key %d, want the user's id %d", key, user.Id)
			}
		})
	}
}
