package bot_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/examples/echo"
)

// TestWebhookMode runs the bot in webhook mode: it registers its webhook with a secret, the
// emulator pushes every update to it as Telegram does, and the echo contract holds.
func TestWebhookMode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	b := runBotWith(t, emu, bot.Config{Webhook: true, WebhookURL: "http://" + ln.Addr().String() + "/hook", WebhookSecret: "s3cret"}, echo.New(echo.Options{Chaos: true}), func(b *bot.Bot) {
		mux := http.NewServeMux()
		mux.Handle("/hook", b.WebhookHandler())
		srv := &http.Server{Handler: mux}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	})

	const users, perUser = 20, 8
	ids, _ := converse(t, emu, users, 6000, func(u int) []string {
		var texts []string
		for i := range perUser {
			text := fmt.Sprint("hi ", i)
			if (u+i)%7 == 3 {
				text = "panic"
			}
			texts = append(texts, text)
		}
		return texts
	})
	// A webhook confirms an update once it is in its actor's mailbox, before the reply:
	// wait for the replies themselves.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sent, err := emu.WaitSent(ctx, users*perUser)
	if err != nil {
		t.Fatal(err)
	}
	replies := repliesByChat(sent)
	for u := range users {
		got := replies[int64(6000+u)]
		if len(got) != perUser {
			t.Fatalf("user %d: %d replies to %d messages", u, len(got), perUser)
		}
		n := 0
		for i, r := range got {
			if r.ReplyTo != ids[u][i] {
				t.Fatalf("user %d reply %d answers %d, want %d", u, i, r.ReplyTo, ids[u][i])
			}
			if strings.HasPrefix(r.Text, "Sorry") {
				continue
			}
			n++
			if !strings.HasPrefix(r.Text, fmt.Sprintf("#%d ", n)) {
				t.Fatalf("user %d reply %d = %q, want #%d", u, i, r.Text, n)
			}
		}
	}
	info := emu.WebhookInfo()
	if info.Url == "" || info.Posts < users*perUser {
		t.Errorf("webhook info = %+v", info)
	}
	if st := b.Snapshot().Intake; st.Mode != "webhook" || st.Received < users*perUser || st.Refused != 0 {
		t.Errorf("intake stats = %+v", st)
	}
}
