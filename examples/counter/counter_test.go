package counter_test

import (
	"reflect"
	"testing"

	"github.com/troupebot/troupe/bot/bottest"
	"github.com/troupebot/troupe/examples/counter"
)

// TestCounter runs the counter on the edge against the emulator over HTTP.
func TestCounter(t *testing.T) {
	h := bottest.Start(t, counter.New())
	const ann, bob = 1, 2
	steps := []struct {
		user int64
		send string // a message, or the label of a button on the last keyboard
		tap  bool
		want []string
	}{
		{ann, "hello", false, []string{"1 so far."}},
		{ann, "again", false, []string{"2 so far."}},
		{bob, "hi", false, []string{"1 so far."}},
		{ann, "/boom", false, []string{"Oops, I crashed. That message was not counted."}},
		{ann, "still here", false, []string{"3 so far."}},
		{ann, "/reset", false, []string{"Reset your count of 3?"}},
		{ann, "No", true, []string{"Kept your count of 3."}},
		{ann, "/reset", false, []string{"Reset your count of 3?"}},
		{ann, "Yes", true, []string{"Reset", "Count reset to 0."}},
		{ann, "fresh", false, []string{"1 so far."}},
		{bob, "hi again", false, []string{"2 so far."}},
		{bob, "/start", false, []string{"I count your messages. /reset starts over, /boom crashes me."}},
	}
	var keyboard bottest.Turn
	for i, s := range steps {
		var turn bottest.Turn
		if s.tap {
			turn = h.Tap(s.user, keyboard.Keyboard(), s.send)
		} else {
			turn = h.Send(s.user, s.send)
			keyboard = turn
		}
		if got := turn.Texts(); !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: user %d %q got %q, want %q", i, s.user, s.send, got, s.want)
		}
		for _, m := range turn.Sent {
			if m.Method == "sendMessage" && m.ReplyTo != turn.Update.MessageID {
				t.Errorf("step %d: %q replies to %d, want %d", i, m.Text, m.ReplyTo, turn.Update.MessageID)
			}
			if m.Method == "editMessageText" && (m.MessageID != keyboard.Keyboard().MessageID || len(m.Buttons) > 0) {
				t.Errorf("step %d: edited message %d to %q with buttons %v, want the confirmation %d without", i, m.MessageID, m.Text, m.Buttons, keyboard.Keyboard().MessageID)
			}
		}
	}
}
