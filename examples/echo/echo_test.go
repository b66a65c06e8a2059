package echo_test

import (
	"strings"
	"testing"

	"github.com/troupebot/troupe/bot/bottest"
	"github.com/troupebot/troupe/examples/echo"
)

// TestEchoContract checks the echo contract (docs: the load-test workload) on the edge,
// against the emulator over HTTP: every reply names its message, plain texts are numbered
// "#n ", a crash is apologised for and not counted, /chart is a PNG.
func TestEchoContract(t *testing.T) {
	h := bottest.Start(t, echo.New(echo.Options{Chaos: true}))
	const user = 5
	cases := []struct {
		send, method, prefix string
	}{
		{"hello", "sendMessage", "#1 hello"},
		{"panic", "sendMessage", "Sorry"},
		{"world", "sendMessage", "#2 world"},
		{"/chart", "sendPhoto", "I counted 2 of your messages."},
		{"/start", "sendMessage", echo.Help},
		{"héllo " + strings.Repeat("x", 5000), "sendMessage", "#3 héllo xxx"},
		{"/chart@troupe_emulator_bot", "sendPhoto", "I counted 3 of your messages."},
	}
	for _, c := range cases {
		turn := h.Send(user, c.send)
		if len(turn.Sent) != 1 {
			t.Fatalf("%.20q: %d replies %+v, want one", c.send, len(turn.Sent), turn.Texts())
		}
		r := turn.Sent[0]
		if r.Method != c.method || !strings.HasPrefix(r.Text, c.prefix) || r.ReplyTo != turn.Update.MessageID {
			t.Errorf("%.20q: %s %.40q to message %d; want %s %q… to %d", c.send, r.Method, r.Text, r.ReplyTo, c.method, c.prefix, turn.Update.MessageID)
		}
		if n := len([]rune(r.Text)); n > 4096 {
			t.Errorf("%.20q: a reply of %d characters, over Telegram's 4096", c.send, n)
		}
		if strings.Contains(r.Text, echo.ChaosPanic) {
			t.Errorf("the apology names the crash: %q", r.Text)
		}
		if r.Method == "sendPhoto" && (r.Width == 0 || r.Height == 0) {
			t.Errorf("%q: the chart decoded to %dx%d", c.send, r.Width, r.Height)
		}
	}
}

func TestPanicIsTextWithoutChaos(t *testing.T) {
	h := bottest.Start(t, echo.New(echo.Options{}))
	if got := h.Send(9, "panic").Texts(); len(got) != 1 || got[0] != "#1 panic" {
		t.Errorf("reply = %q, want #1 panic", got)
	}
}

// TestUsersCountApart has two users interleave: each has their own n.
func TestUsersCountApart(t *testing.T) {
	h := bottest.Start(t, echo.New(echo.Options{}))
	for i, c := range []struct {
		user int64
		want string
	}{{1, "#1 a"}, {2, "#1 a"}, {1, "#2 a"}, {1, "#3 a"}, {2, "#2 a"}} {
		if got := h.Send(c.user, "a").Texts(); len(got) != 1 || got[0] != c.want {
			t.Errorf("message %d from user %d: %q, want %q", i, c.user, got, c.want)
		}
	}
}
