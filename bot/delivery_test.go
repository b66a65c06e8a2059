package bot_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/outbound"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/examples/echo"
)

// faultyBot runs the bot against an emulator that injects faults from the start, and
// records every refused request.
func faultyBot(tb testing.TB, cfg bot.Config, faults emulator.Faults) (*emulator.Server, *faultLog) {
	tb.Helper()
	log := &faultLog{}
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet(), Faults: faults, OnFault: log.add})
	if err != nil {
		tb.Fatal(err)
	}
	runBot(tb, emu, cfg, echo.New(echo.Options{}))
	return emu, log
}

type faultLog struct {
	mu     sync.Mutex
	faults []emulator.Fault
}

func (l *faultLog) add(f emulator.Fault) {
	l.mu.Lock()
	l.faults = append(l.faults, f)
	l.mu.Unlock()
}

func (l *faultLog) all() []emulator.Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]emulator.Fault(nil), l.faults...)
}

// TestRepliesSurviveFaults has the Bot API answer 429s (with retry_after), 5xx and drop
// connections: every message is still answered exactly once, in order per chat, and no
// request for a chat goes out before a 429's retry_after has passed.
func TestRepliesSurviveFaults(t *testing.T) {
	const users, perUser = 24, 6
	emu, faults := faultyBot(t, bot.Config{}, emulator.Faults{Rate429: 0.1, RetryAfter: 1, Rate5xx: 0.1, RateDrop: 0.05})
	ids, byChat := converse(t, emu, users, 3000, func(int) []string {
		var texts []string
		for i := range perUser {
			texts = append(texts, fmt.Sprint("hello ", i))
		}
		return texts
	})
	for u := range users {
		got := byChat[int64(3000+u)]
		if len(got) != perUser {
			t.Fatalf("user %d: %d replies to %d messages", u, len(got), perUser)
		}
		for i, s := range got {
			if s.ReplyTo != ids[u][i] || s.Text[:3] != fmt.Sprintf("#%d ", i+1) {
				t.Fatalf("user %d reply %d = %q to message %d, want #%d to %d", u, i, s.Text, s.ReplyTo, i+1, ids[u][i])
			}
		}
	}
	st := emu.Stats()
	if st.Injected429 == 0 || st.Injected5xx == 0 || st.Dropped == 0 {
		t.Fatalf("faults injected: %+v; the test needs each kind", st)
	}
	// After a 429 for a chat, nothing may reach that chat before retry_after is over.
	attempts := map[int64][]time.Time{}
	for _, f := range faults.all() {
		attempts[f.ChatID] = append(attempts[f.ChatID], f.At)
	}
	for _, s := range emu.Sent() {
		attempts[s.ChatID] = append(attempts[s.ChatID], s.At)
	}
	for _, f := range faults.all() {
		if f.Kind != "429" {
			continue
		}
		until := f.At.Add(time.Duration(f.RetryAfter) * time.Second)
		for _, at := range attempts[f.ChatID] {
			if at.After(f.At) && at.Before(until) {
				t.Errorf("chat %d: a request %v after a 429 with retry_after %ds", f.ChatID, at.Sub(f.At), f.RetryAfter)
			}
		}
	}
}

// TestKeepsTelegramsLimits has the emulator enforce Telegram's rate limits while the bot
// keeps them: no message may be refused for going too fast.
func TestKeepsTelegramsLimits(t *testing.T) {
	const users, perUser = 4, 5
	emu, faults := faultyBot(t, bot.Config{Limits: outbound.TelegramLimits}, emulator.Faults{EnforceLimits: true})
	var last int64
	for i := range perUser {
		for u := range users {
			p, _ := emu.SendText(int64(4000+u), fmt.Sprint(i))
			last = p.UpdateID
		}
	}
	waitConfirmed(t, emu, last)
	if n := len(emu.Sent()); n != users*perUser {
		t.Errorf("%d replies, want %d", n, users*perUser)
	}
	if f := faults.all(); len(f) != 0 {
		t.Errorf("the bot went over Telegram's limits %d times, first: %+v", len(f), f[0])
	}
}

// runBot runs app on the edge against emu until the test ends.
func runBot[S any](tb testing.TB, emu *emulator.Server, cfg bot.Config, app bot.App[S]) *bot.Bot {
	tb.Helper()
	return runBotWith(tb, emu, cfg, app, func(*bot.Bot) {})
}

// runBotWith is runBot with a hook that runs after the bot is built and before it runs.
func runBotWith[S any](tb testing.TB, emu *emulator.Server, cfg bot.Config, app bot.App[S], hook func(*bot.Bot)) *bot.Bot {
	tb.Helper()
	cfg.Token, cfg.APIURL = token, emu.URL()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	cfg.PollTimeout = 2 * time.Second
	if cfg.MaxUnsentPerChat == 0 {
		// These tests read an update confirmed as an update answered.
		cfg.MaxUnsentPerChat = -1
	}
	b, err := bot.New(cfg, app)
	if err != nil {
		tb.Fatal(err)
	}
	hook(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Error("Run did not return after cancel")
		}
		emu.Close()
	})
	return b
}
