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
	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/examples/echo"
)

const token = "100:e2e-token"

// startBot runs the real edge with app against a new emulator over real HTTP, and stops it
// (checking it stopped cleanly) when the test ends.
func startBot[S any](tb testing.TB, cfg bot.Config, app bot.App[S]) *emulator.Server {
	tb.Helper()
	emu, _ := startBotWith(tb, cfg, app)
	return emu
}

// startBotWith is startBot that also returns the Bot, for its operator's view.
func startBotWith[S any](tb testing.TB, cfg bot.Config, app bot.App[S]) (*emulator.Server, *bot.Bot) {
	tb.Helper()
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet()})
	if err != nil {
		tb.Fatal(err)
	}
	return emu, runBot(tb, emu, cfg, app)
}

// converse has users 0..users-1 (chat ids base+u) each send script(u) in order, all users
// at once, waits until the bot finished every message, and returns each user's message ids
// and the bot's replies per chat, in order (chat actions left out).
func converse(tb testing.TB, emu *emulator.Server, users int, base int64, script func(u int) []string) (ids [][]int64, replies map[int64][]emulator.Sent) {
	tb.Helper()
	ids = make([][]int64, users)
	var mu sync.Mutex
	var last int64
	var wg sync.WaitGroup
	for u := range users {
		wg.Go(func() {
			for _, text := range script(u) {
				p, err := emu.SendText(base+int64(u), text)
				if err != nil {
					tb.Error(err)
					return
				}
				ids[u] = append(ids[u], p.MessageID)
				mu.Lock()
				last = max(last, p.UpdateID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	waitConfirmed(tb, emu, last)
	return ids, repliesByChat(emu.Sent())
}

// repliesByChat groups what the bot sent by chat, in order, leaving chat actions out.
func repliesByChat(sent []emulator.Sent) map[int64][]emulator.Sent {
	replies := make(map[int64][]emulator.Sent)
	for _, s := range sent {
		if s.Method != "sendChatAction" {
			replies[s.ChatID] = append(replies[s.ChatID], s)
		}
	}
	return replies
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
	emu := startBot(t, bot.Config{}, echo.New(echo.Options{Chaos: true}))

	texts := func(u int) []string {
		var out []string
		for i := range perUser {
			text := fmt.Sprintf("hello %d", i)
			switch {
			case i%4 == 1:
				text = strconv.Itoa(i * 10)
			case (u+i)%5 == 3:
				text = "panic"
			}
			out = append(out, text)
		}
		return out
	}
	ids, replies := converse(t, emu, users, 1000, texts)
	for u := range users {
		got := replies[int64(1000+u)]
		if len(got) != perUser {
			t.Fatalf("user %d: %d replies to %d messages", u, len(got), perUser)
		}
		n := 0
		for i, text := range texts(u) {
			r := got[i]
			if r.Method != "sendMessage" || r.ReplyTo != ids[u][i] {
				t.Fatalf("user %d reply %d = %s replying to %d, want a reply to message %d", u, i, r.Method, r.ReplyTo, ids[u][i])
			}
			if text == "panic" {
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
	emu := startBot(t, bot.Config{}, notebook.New(notebook.Options{}))
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
