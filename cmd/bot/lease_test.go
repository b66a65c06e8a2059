package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/internal/repotest"
)

// polls is the Bot API as one process sees it: the emulator, behind a server of its own
// that notes when that process calls getUpdates, so that a test tells the two apart.
type polls struct {
	mu     sync.Mutex
	at     []time.Time
	polled chan struct{} // closed and replaced on every getUpdates
}

func watchPolls(tb testing.TB, emu *emulator.Server) (*polls, string) {
	tb.Helper()
	p := &polls{polled: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/getUpdates") {
			p.mu.Lock()
			p.at = append(p.at, time.Now())
			close(p.polled)
			p.polled = make(chan struct{})
			p.mu.Unlock()
		}
		emu.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	return p, srv.URL
}

// since counts the getUpdates calls made after t.
func (p *polls) since(t time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, at := range p.at {
		if at.After(t) {
			n++
		}
	}
	return n
}

// firstAfter waits for the first getUpdates call after t and returns when it came.
func (p *polls) firstAfter(ctx context.Context, tb testing.TB, t time.Time) time.Time {
	tb.Helper()
	for {
		p.mu.Lock()
		for _, at := range p.at {
			if at.After(t) {
				p.mu.Unlock()
				return at
			}
		}
		polled := p.polled
		p.mu.Unlock()
		select {
		case <-polled:
		case <-ctx.Done():
			tb.Fatalf("no getUpdates after %v: %v", t.Format(time.StampMilli), ctx.Err())
		}
	}
}

// TestPollingLeaseFailover runs two echo bots in polling mode on one Redis and one Bot
// API, 1,000 users × 10 messages, and stops the one holding the polling lease mid-load,
// for good: with SIGKILL the other takes over once the lease expires, with SIGTERM at once
// (the holder releases it). Until then the standby never calls getUpdates. Nothing is
// lost, nothing is applied twice, every user's counter runs 1, 2, 3 … across the takeover;
// the takeover time (stop → the successor's first getUpdates) is logged.
func TestPollingLeaseFailover(t *testing.T) {
	bin := repotest.Bot(t)
	for i, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			leaseFailover(t, bin, fmt.Sprintf("%d:lease-token", 90+i), sig)
		})
	}
}

func leaseFailover(t *testing.T, bin, token string, sig syscall.Signal) {
	srv := redistest.Start(t, redistest.Options{})
	const users, perUser = 1000, 10
	emu := quietEmulator(t, token)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	holderPolls, holderAPI := watchPolls(t, emu)
	standbyPolls, standbyAPI := watchPolls(t, emu)

	holder := startDurableAt(ctx, t, bin, holderAPI, token, srv.URL, "polling")
	holder.poll(t, "the first process holds the lease", func() bool { return holder.metric(t, "troupe_polling_lease_held") == 1 })
	standby := startDurableAt(ctx, t, bin, standbyAPI, token, srv.URL, "polling")
	standingBy := time.Now()
	if held := standby.metric(t, "troupe_polling_lease_held"); held != 0 {
		t.Fatalf("the second process: troupe_polling_lease_held %v, want 0 while the first holds it", held)
	}

	l := sendLoad(t, emu, users, perUser)
	if _, err := emu.WaitSent(ctx, users*perUser/4); err != nil {
		t.Fatal(err)
	}
	if n := standbyPolls.since(time.Time{}); n != 0 {
		t.Errorf("the standby called getUpdates %d times while the other held the lease", n)
	}
	if got := standby.metric(t, "troupe_polling_lease_held"); got != 0 {
		t.Errorf("the standby says troupe_polling_lease_held %v", got)
	}
	if code, _ := standby.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("the standby's /readyz = %d, want 200: it is healthy, just not polling", code)
	}
	signalled := time.Now()
	if err := holder.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	first := standbyPolls.firstAfter(ctx, t, signalled)
	t.Logf("%v: takeover in %v (signal → the successor's first getUpdates), after %v on standby; %d of %d replies sent by then",
		sig, first.Sub(signalled).Round(time.Millisecond), signalled.Sub(standingBy).Round(time.Millisecond), len(emu.Sent()), users*perUser)
	<-holder.exited
	if sig == syscall.SIGTERM && !strings.Contains(holder.logs.String(), "polling lease released") {
		t.Errorf("the holder did not release the lease at SIGTERM:\n%s", holder.logs)
	}
	if n := holderPolls.since(first); n != 0 {
		t.Errorf("the stopped holder called getUpdates %d times after its successor began", n)
	}

	l.waitAnswered(ctx, t, stopped{standby})
	if dupes := l.audit(t); dupes > maxDupesAtKill {
		t.Errorf("%d duplicate replies, more than the %d that can be in flight at a kill", dupes, maxDupesAtKill)
	}
	if got := standby.metric(t, "troupe_polling_lease_held"); got != 1 {
		t.Errorf("the successor says troupe_polling_lease_held %v, want 1", got)
	}
	if got := standby.metric(t, "troupe_polling_lease_acquired_total"); got != 1 {
		t.Errorf("the successor says troupe_polling_lease_acquired_total %v, want 1", got)
	}
	standby.stop()
	for name, b := range map[string]*durableBot{"holder": holder, "successor": standby} {
		if strings.Contains(b.logs.String(), "Conflict") {
			t.Errorf("the %s met a 409 Conflict (two pollers at once):\n%s", name, b.logs)
		}
	}
}
