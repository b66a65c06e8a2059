package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/internal/repotest"
	"github.com/troupebot/troupe/redisstore"
)

// TestSigkillOnRedisLosesNothing kills the echo bot with SIGKILL in the middle of a load and
// starts it again on the same Redis, in polling mode and in webhook mode (which answers
// Telegram once an update is journaled): no message is lost, none is applied twice, and
// every user's counter runs 1, 2, 3 … across the kill. A reply may arrive twice only when
// it was on its way at the kill (its outbox entry not yet acknowledged): the same text
// again, and at most as many as the updates in flight.
func TestSigkillOnRedisLosesNothing(t *testing.T) {
	bin := repotest.Bot(t)
	tests := []struct {
		name string
		mode func(t *testing.T) []string // the flags of the mode
	}{
		{"polling", func(*testing.T) []string { return nil }},
		{"webhook", func(t *testing.T) []string {
			// One port for both processes: Telegram keeps posting to the URL registered.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			return []string{"-mode", "webhook", "-listen", addr, "-webhook-url", "http://" + addr + "/webhook"}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigkillOnRedis(t, bin, fmt.Sprintf("%d:durable-token", 78+i*100), tt.mode(t))
		})
	}
}

func sigkillOnRedis(t *testing.T, bin, token string, mode []string) {
	srv := redistest.Start(t, redistest.Options{})
	const users, perUser = 1000, 10
	emu := quietEmulator(t, token)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := func() (*exec.Cmd, *strings.Builder) {
		return startUnpaced(ctx, t, bin, emu.URL(), token, append([]string{"-app", "echo", "-store", srv.URL}, mode...)...)
	}

	first, _ := start()
	l := sendLoad(t, emu, users, perUser)
	if _, err := emu.WaitSent(ctx, users*perUser/4); err != nil {
		t.Fatal(err)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	byFirst := len(emu.Sent())
	t.Logf("the first process sent %d of %d replies before SIGKILL", byFirst, users*perUser)
	if byFirst >= users*perUser {
		t.Logf("the first process finished everything before the kill; the test proves less")
	}

	second, secondLogs := start()
	defer func() {
		second.Process.Signal(syscall.SIGTERM)
		second.Wait()
	}()
	l.waitAnswered(ctx, t, secondLogs)
	if dupes := l.audit(t); dupes > maxDupesAtKill {
		t.Errorf("%d duplicate replies, more than the %d that can be in flight at a kill", dupes, maxDupesAtKill)
	}
}

// maxDupesAtKill is the most replies a kill can leave to be sent twice: up to 100 updates'
// replies on their way, and the last replies whose acknowledgement waits for their update's
// finish in the journal.
const maxDupesAtKill = 100 + redisstore.MaxDeferredAcks

// TestRedisDownIsNotReady: while Redis is away /readyz answers 503 and /metrics says so, a
// message is neither answered nor confirmed, and once Redis is back the bot is ready again
// and the message is answered from where the user was.
func TestRedisDownIsNotReady(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	const token = "79:ready-token"
	emu := quietEmulator(t, token)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	later := func() { clock.Add(int64(time.Minute)) } // past the cached ping and the last error

	cfg, err := parseConfig([]string{"-app", "echo", "-store", srv.URL}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	bc := botConfig(cfg, token, emu.URL(), log)
	bc.PollTimeout, bc.Now = time.Second, now
	b, closeStore, err := newBot(cfg, bc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- b.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(serveOps(ln, b, "/webhook", log))
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if err := emu.WaitPolling(ctx); err != nil {
		t.Fatal(err)
	}
	first, _ := emu.SendText(5, "one")
	if err := emu.WaitConfirmed(ctx, first.UpdateID); err != nil {
		t.Fatal(err)
	}
	// Confirmed means journaled; the reply means committed too. Killing Redis before the
	// commit is done would let a retried commit land on the emptied server, and "two"
	// would then rightly be #2.
	if sent, err := emu.WaitSent(ctx, 1); err != nil {
		t.Fatal(err)
	} else if sent[0].Text != "#1 one" {
		t.Fatalf("first reply %q, want #1 one", sent[0].Text)
	}
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d with Redis up, want 200", code)
	}

	srv.Kill()
	later()
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with Redis down, want 503", code)
	}
	if _, body := get("/metrics"); !strings.Contains(body, "troupe_store_up 0") {
		t.Errorf("/metrics does not say the store is down:\n%s", grepLines(body, "troupe_store"))
	}
	second, _ := emu.SendText(5, "two")

	srv.Restart() // empty: what was committed before is gone from Redis, as after a FLUSHALL
	later()
	// Ready again once a call finds Redis back: the poller's next journal append (it may
	// first find a pooled connection dead, or its lease gone with the data, and stand by
	// for a moment), as a platform's probe would see it, asked until then.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for code, _ := get("/readyz"); code != http.StatusOK; code, _ = get("/readyz") {
		select {
		case <-ctx.Done():
			t.Fatalf("/readyz = %d with Redis back, want 200", code)
		case <-tick.C:
		}
	}
	if err := emu.WaitConfirmed(ctx, second.UpdateID); err != nil {
		t.Fatal(err)
	}
	// Confirmed once journaled: the answer follows.
	sent, err := emu.WaitSent(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The store came back empty, but user 5's actor held its context: written back, not lost.
	if got := sent[len(sent)-1]; got.ReplyTo != second.MessageID || got.Text != "#2 two" {
		t.Errorf("last reply %+v, want #2 two answering message %d (the emptied store's record written back)", got, second.MessageID)
	}
	if _, body := get("/metrics"); !strings.Contains(body, "troupe_store_up 1") || !strings.Contains(body, "troupe_store_records_vanished_total 1") {
		t.Errorf("/metrics does not say the store is back and lost one record:\n%s", grepLines(body, "troupe_store"))
	}
}

// quietEmulator starts a Bot API emulator for token that logs nothing, closed at cleanup.
func quietEmulator(tb testing.TB, token string) *emulator.Server {
	tb.Helper()
	emu, err := emulator.New(emulator.Config{Token: token, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { emu.Close() })
	return emu
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
