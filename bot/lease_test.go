package bot_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
	"github.com/troupebot/troupe/redisstore/actorstore"
)

// TestStatusShowsPollingLease: a durable bot polling under the lease says on /status who
// holds it, with which token, and that this process polls.
func TestStatusShowsPollingLease(t *testing.T) {
	const admin = 9
	srv := redistest.Start(t, redistest.Options{})
	emu, err := emulator.New(emulator.Config{Token: token, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	lj, err := redisstore.OpenJournal(context.Background(), redisstore.JournalConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lj.Close() })
	b, _, _ := journaled(t, emu, srv.URL, redisstore.JournalConfig{}, notebook.New(notebook.Options{Admins: []int64{admin}}), slog.New(slog.DiscardHandler), false,
		func(c *bot.Config) { c.Lease = actorstore.NewLease(lj, lj.Lease(0), "bot-a") })
	send(t, emu, admin, "/status")
	status := waitText(t, emu, admin)
	for _, want := range []string{"polling lease: bot-a (token 1, ", " left) · this process polls · acquired 1 · lost 0\n"} {
		if !strings.Contains(status, want) {
			t.Errorf("/status lacks %q:\n%s", want, status)
		}
	}
	if l := b.Snapshot().Lease; !l.On || !l.Held || l.Holder != "bot-a" || l.Token != 1 || l.Left <= 0 {
		t.Errorf("snapshot's lease %+v, want held by bot-a with token 1", l)
	}
}

// waitText waits for the bot's first reply in chat and returns its text.
func waitText(tb testing.TB, emu *emulator.Server, chat int64) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for n := 1; ; n++ {
		sent, err := emu.WaitSent(ctx, n)
		if err != nil {
			tb.Fatal(err)
		}
		for _, s := range sent {
			if s.ChatID == chat {
				return s.Text
			}
		}
	}
}

// TestStatusLeaseLine: the lease's line in each state /status can find it in.
func TestStatusLeaseLine(t *testing.T) {
	tests := []struct {
		name  string
		lease bot.LeaseStats
		want  string // "" for no line
	}{
		{"no lease", bot.LeaseStats{}, ""},
		{"held here", bot.LeaseStats{On: true, Held: true, Holder: "h:1", Token: 4, Left: 4230 * time.Millisecond, Acquired: 2, Lost: 1},
			"polling lease: h:1 (token 4, 4.2s left) · this process polls · acquired 2 · lost 1\n"},
		{"held elsewhere", bot.LeaseStats{On: true, Holder: "h:2", Token: 5, Left: time.Second},
			"polling lease: h:2 (token 5, 1s left) · this process stands by · acquired 0 · lost 0\n"},
		{"free", bot.LeaseStats{On: true, Token: 5}, "polling lease: free (last token 5) · this process stands by · acquired 0 · lost 0\n"},
		{"unreadable", bot.LeaseStats{On: true, Held: true, Err: "timeout"}, "polling lease: unreadable (timeout) · this process polls · acquired 0 · lost 0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bot.Snapshot{Lease: tt.lease}.String()
			if tt.want == "" && strings.Contains(got, "polling lease") || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("/status:\n%s\nwant the line %q", got, tt.want)
			}
		})
	}
}
