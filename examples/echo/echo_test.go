package echo_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/examples/echo"
)

const token = "100:echo-token"

// run starts the echo App on the edge against a new emulator, over real HTTP, until the
// test ends.
func run(tb testing.TB, opt echo.Options) *emulator.Server {
	tb.Helper()
	quiet := slog.New(slog.DiscardHandler)
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := bot.New(bot.Config{Token: token, APIURL: emu.URL(), Logger: quiet, PollTimeout: time.Second}, echo.New(opt))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
		emu.Close()
	})
	return emu
}

func TestEchoContract(t *testing.T) {
	emu := run(t, echo.Options{Chaos: true})
	const user = 5
	texts := []string{"hello", "panic", "world", "/chart", "/start", "héllo " + strings.Repeat("x", 5000)}
	var ids []int64
	var last int64
	for _, text := range texts {
		p, err := emu.SendText(user, text)
		if err != nil {
			t.Fatal(err)
		}
		ids, last = append(ids, p.MessageID), p.UpdateID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := emu.WaitConfirmed(ctx, last); err != nil {
		t.Fatal(err)
	}
	var replies []emulator.Sent
	for _, s := range emu.Sent() {
		if s.Method != "sendChatAction" {
			replies = append(replies, s)
		}
	}
	if len(replies) != len(texts) {
		t.Fatalf("%d replies to %d messages: %+v", len(replies), len(texts), replies)
	}
	want := []struct{ method, prefix string }{
		{"sendMessage", "#1 hello"},
		{"sendMessage", "Sorry"},
		{"sendMessage", "#2 world"},
		{"sendPhoto", "I counted 2 of your messages."},
		{"sendMessage", echo.Help},
		{"sendMessage", "#3 héllo xxx"},
	}
	for i, w := range want {
		r := replies[i]
		if r.Method != w.method || !strings.HasPrefix(r.Text, w.prefix) || r.ReplyTo != ids[i] {
			t.Errorf("reply %d = %s %q to message %d; want %s %q… to %d", i, r.Method, r.Text, r.ReplyTo, w.method, w.prefix, ids[i])
		}
	}
	if _, err := png.Decode(bytes.NewReader(replies[3].Photo)); err != nil {
		t.Errorf("the chart is not a PNG: %v", err)
	}
	if n := len([]rune(replies[5].Text)); n > 4096 {
		t.Errorf("a long echo is %d characters, over Telegram's 4096", n)
	}
	if strings.Contains(replies[1].Text, echo.ChaosPanic) {
		t.Errorf("the apology names the crash: %q", replies[1].Text)
	}
}

func TestPanicIsTextWithoutChaos(t *testing.T) {
	emu := run(t, echo.Options{})
	p, err := emu.SendText(9, "panic")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sent, err := emu.WaitSent(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if sent[0].Text != "#1 panic" || sent[0].ReplyTo != p.MessageID {
		t.Errorf("reply = %+v, want #1 panic", sent[0])
	}
}

// Example runs the echo App against the Bot API emulator: a user says hello, and the bot
// answers with the message's number.
func Example() {
	quiet := slog.New(slog.DiscardHandler)
	emu, _ := emulator.New(emulator.Config{Token: token, Logger: quiet})
	defer emu.Close()
	b, _ := bot.New(bot.Config{Token: token, APIURL: emu.URL(), Logger: quiet}, echo.New(echo.Options{}))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()

	emu.SendText(42, "hello")
	emu.SendText(42, "again")
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sent, _ := emu.WaitSent(wait, 2)
	for _, s := range sent {
		fmt.Println(s.Text)
	}
	stop()
	<-done
	// Output:
	// #1 hello
	// #2 again
}
