package echobot_test

import (
	"bytes"
	"context"
	"image/png"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/cmd/loadtest/internal/echobot"
	"github.com/troupebot/troupe/emulator"
)

const token = "100:echobot-test"

func TestEchoContract(t *testing.T) {
	emu, err := emulator.New(emulator.Config{Token: token, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	b, err := echobot.New(echobot.Config{APIURL: emu.URL(), Token: token, Chaos: true, PollTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	wait, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	// The bot confirms an update when it fetches the next batch, before answering it, so
	// the test waits for the answers themselves.
	sends := 0
	awaitSends := func() {
		t.Helper()
		sends++
		if _, err := emu.WaitSent(wait, sends); err != nil {
			t.Fatal(err)
		}
	}
	say := func(text string) emulator.Pushed {
		t.Helper()
		p, err := emu.SendText(7, text)
		if err != nil {
			t.Fatal(err)
		}
		awaitSends()
		return p
	}
	hello, num, crash, stats, reset := say("hello"), say("42"), say("panic"), say("/stats"), say("/reset")
	sent := emu.Sent()
	kb := sent[len(sent)-1]
	press, err := emu.PressButton(7, 7, kb.MessageID, kb.Buttons[0][0].Data)
	if err != nil {
		t.Fatal(err)
	}
	awaitSends()
	after, chart := say("again"), say("/chart")

	want := []struct {
		method  string
		replyTo int64
		prefix  string
	}{
		{"sendMessage", hello.MessageID, "#1 "},
		{"sendMessage", num.MessageID, "#2 "},
		{"sendMessage", crash.MessageID, "Sorry"},
		{"sendMessage", stats.MessageID, "/stats"},
		{"sendMessage", reset.MessageID, "Delete"},
		{"answerCallbackQuery", 0, "Cancelled"},
		{"sendMessage", after.MessageID, "#3 "},
		{"sendPhoto", chart.MessageID, ""},
	}
	sent = emu.Sent()
	if len(sent) != len(want) {
		t.Fatalf("sent %d requests, want %d: %+v", len(sent), len(want), sent)
	}
	for i, w := range want {
		s := sent[i]
		if s.Method != w.method || s.ReplyTo != w.replyTo || !strings.HasPrefix(s.Text, w.prefix) {
			t.Errorf("sent[%d] = %s replying to %d %q; want %s replying to %d %q…", i, s.Method, s.ReplyTo, s.Text, w.method, w.replyTo, w.prefix)
		}
	}
	if _, err := png.Decode(bytes.NewReader(sent[7].Photo)); err != nil {
		t.Errorf("the chart is not a PNG: %v", err)
	}
	if sent[5].CallbackQueryID != press.CallbackQueryID {
		t.Errorf("answered query %q, want %q", sent[5].CallbackQueryID, press.CallbackQueryID)
	}
}
