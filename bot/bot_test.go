package bot_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/emulator"
)

const token = "100:e2e-token"

// startBot runs the real bot against a new emulator over real HTTP, and stops it (checking
// it stopped cleanly) when the test ends.
func startBot(tb testing.TB, cfg bot.Config) *emulator.Server {
	tb.Helper()
	return startBotHook(tb, cfg, func(*bot.Bot) {})
}

func startBotHook(tb testing.TB, cfg bot.Config, hook func(*bot.Bot)) *emulator.Server {
	tb.Helper()
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet()})
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Token, cfg.APIURL = token, emu.URL()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	cfg.PollTimeout = 2 * time.Second
	b, err := bot.New(cfg)
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
	return emu
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func waitConfirmed(tb testing.TB, emu *emulator.Server, id int64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := emu.WaitConfirmed(ctx, id); err != nil {
		tb.Fatal(err)
	}
}

// TestEchoContract drives many users at once over long polling, with chaos on, and audits
// every reply by the echo contract: one reply per message, naming it, in order per user, the
// counter continuing after crashes.
func TestEchoContract(t *testing.T) {
	const users, perUser = 100, 12
	emu := startBot(t, bot.Config{Chaos: true})

	type msg struct {
		id    int64
		text  string
		crash bool
	}
	sent := make([][]msg, users)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last int64
	for u := range users {
		wg.Go(func() {
			for i := range perUser {
				text := fmt.Sprintf("hello %d", i)
				switch {
				case i%4 == 1:
					text = strconv.Itoa(i * 10)
				case (u+i)%5 == 3:
					text = "panic"
				}
				p, err := emu.SendText(int64(1000+u), text)
				if err != nil {
					t.Error(err)
					return
				}
				sent[u] = append(sent[u], msg{id: p.MessageID, text: text, crash: text == "panic"})
				mu.Lock()
				last = max(last, p.UpdateID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	waitConfirmed(t, emu, last)

	replies := make(map[int64][]emulator.Sent)
	for _, s := range emu.Sent() {
		replies[s.ChatID] = append(replies[s.ChatID], s)
	}
	for u := range users {
		got := replies[int64(1000+u)]
		if len(got) != perUser {
			t.Fatalf("user %d: %d replies to %d messages", u, len(got), perUser)
		}
		n := 0
		for i, m := range sent[u] {
			r := got[i]
			if r.Method != "sendMessage" || r.ReplyTo != m.id {
				t.Fatalf("user %d reply %d = %s replying to %d, want a reply to message %d", u, i, r.Method, r.ReplyTo, m.id)
			}
			if m.crash {
				if !strings.HasPrefix(r.Text, "Sorry") {
					t.Fatalf("user %d: crash answered %q, want an apology", u, r.Text)
				}
				continue
			}
			n++
			if want := fmt.Sprintf("#%d ", n); !strings.HasPrefix(r.Text, want) {
				t.Fatalf("user %d reply %d = %q, want it to start with %q", u, i, r.Text, want)
			}
		}
	}
}

func TestResetConversation(t *testing.T) {
	emu := startBot(t, bot.Config{})
	const user = 7
	for _, text := range []string{"5", "6 tea", "/reset"} {
		p, err := emu.SendText(user, text)
		if err != nil {
			t.Fatal(err)
		}
		waitConfirmed(t, emu, p.UpdateID)
	}
	sent := emu.Sent()
	confirm := sent[len(sent)-1]
	if confirm.Text != "Delete all 2 values? This cannot be undone." || len(confirm.Buttons) != 1 || len(confirm.Buttons[0]) != 2 {
		t.Fatalf("confirmation = %+v", confirm)
	}
	p, err := emu.PressButton(user, user, confirm.MessageID, confirm.Buttons[0][0].Data)
	if err != nil {
		t.Fatal(err)
	}
	waitConfirmed(t, emu, p.UpdateID)
	p, _ = emu.SendText(user, "/stats")
	waitConfirmed(t, emu, p.UpdateID)

	sent = emu.Sent()[len(sent):]
	want := []struct{ method, text string }{
		{"answerCallbackQuery", "Deleted"},
		{"editMessageText", "Deleted all 2 values."},
		{"sendMessage", "No values yet. Send a number to record it."},
	}
	if len(sent) != len(want) {
		t.Fatalf("sent %+v", sent)
	}
	for i, w := range want {
		if sent[i].Method != w.method || sent[i].Text != w.text {
			t.Errorf("sent[%d] = %s %q, want %s %q", i, sent[i].Method, sent[i].Text, w.method, w.text)
		}
	}
	if sent[1].MessageID != confirm.MessageID || len(sent[1].Buttons) != 0 {
		t.Errorf("the edit changed message %d with buttons %v; want message %d without", sent[1].MessageID, sent[1].Buttons, confirm.MessageID)
	}
}
