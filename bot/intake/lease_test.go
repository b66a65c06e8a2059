package intake_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot/botapi"
	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/internal/logtest"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
	"github.com/troupebot/troupe/redisstore/actorstore"
)

// taker is a Submitter that keeps every update at once and remembers which it got.
type taker struct {
	mu   sync.Mutex
	got  map[int64]int
	seen chan int64
}

func newTaker() *taker { return &taker{got: map[int64]int{}, seen: make(chan int64, 1000)} }

func (tk *taker) Submit(u *gotgbot.Update, done func(error)) error {
	tk.mu.Lock()
	tk.got[u.UpdateId]++
	tk.mu.Unlock()
	tk.seen <- u.UpdateId
	done(nil)
	return nil
}

func (tk *taker) count(id int64) int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.got[id]
}

// await waits until tk got update id.
func (tk *taker) await(tb testing.TB, id int64) {
	tb.Helper()
	awaitUpdate(tb, tk.seen, id)
}

// leased is one poller under the polling lease, as one process runs it.
type leased struct {
	p    *intake.Poller
	tk   *taker
	logs *logtest.Buffer
	stop context.CancelFunc
	done chan error
	once sync.Once
	err  error
}

// startLeased runs a journaled poller named holder on the journal and lease at url, against
// emu, its lease held for ttl at a time.
func startLeased(tb testing.TB, emu *emulator.Server, url, holder string, ttl time.Duration) *leased {
	tb.Helper()
	j, err := redisstore.OpenJournal(context.Background(), redisstore.JournalConfig{URL: url, Timeout: 200 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = j.Close() })
	lp := &leased{tk: newTaker(), logs: &logtest.Buffer{}, done: make(chan error, 1)}
	api := botapi.New(emu.URL(), &http.Client{}).For(token)
	lp.p = intake.NewJournaledPoller(api, lp.tk, actorstore.NewJournal(j), intake.PollerConfig{
		Timeout:    time.Second,
		Logger:     slog.New(slog.NewTextHandler(lp.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Lease:      actorstore.NewLease(j, j.Lease(ttl), holder),
		LeaseRetry: 50 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	lp.stop = cancel
	go func() { lp.done <- lp.p.Run(ctx) }()
	tb.Cleanup(lp.halt)
	return lp
}

// halt stops the poller and waits for Run to return; Run's error is then in err.
func (lp *leased) halt() {
	lp.once.Do(func() {
		lp.stop()
		lp.err = <-lp.done
	})
}

// waitHeld waits until the poller holds the lease (held) or stands by (!held).
func (lp *leased) waitHeld(tb testing.TB, held bool) {
	tb.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for lp.p.Stats().LeaseHeld != held {
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("lease held %v after 10s, want %v; stats %+v\n%s", !held, held, lp.p.Stats(), lp.logs)
		}
	}
}

// leaseSetup starts the Redis and the Bot API the pollers of a test share.
func leaseSetup(tb testing.TB) (*redistest.Server, *emulator.Server) {
	tb.Helper()
	srv := redistest.Start(tb, redistest.Options{})
	emu, err := emulator.New(emulator.Config{Token: token})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { emu.Close() })
	return srv, emu
}

// steal makes the lease at url what a paused holder comes back to: expired (released here,
// as from's token), and acquired by thief. It returns thief's lease and token, and the
// journal the lease is on.
func steal(tb testing.TB, url, from string, token int64, thief string) (*redisstore.Lease, int64, *redisstore.Journal) {
	tb.Helper()
	j, err := redisstore.OpenJournal(context.Background(), redisstore.JournalConfig{URL: url})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = j.Close() })
	l := j.Lease(time.Minute)
	if err := l.Release(context.Background(), from, token); err != nil {
		tb.Fatal(err)
	}
	tok, err := l.Acquire(context.Background(), thief)
	if err != nil {
		tb.Fatal(err)
	}
	return l, tok, j
}

// TestLeaseOnePollerAtATime: of two pollers on one journal, the one holding the lease
// polls and the other stands by without calling getUpdates; when the holder stops it
// releases the lease and the other takes over at once, from where the holder left off.
func TestLeaseOnePollerAtATime(t *testing.T) {
	srv, emu := leaseSetup(t)
	a := startLeased(t, emu, srv.URL, "a", 2*time.Second)
	a.waitHeld(t, true)
	b := startLeased(t, emu, srv.URL, "b", 2*time.Second)
	b.logs.WaitFor(t, "standing by", 10*time.Second)

	first, _ := emu.SendText(1, "one")
	a.tk.await(t, first.UpdateID)
	wait(t, emu, first.UpdateID)
	if st := b.p.Stats(); st.Fetched != 0 || st.LeaseHeld || st.LeaseAcquired != 0 {
		t.Errorf("the standby polled: %+v", st)
	}

	stopped := time.Now()
	a.halt()
	if !strings.Contains(a.logs.String(), "polling lease released") {
		t.Errorf("the holder did not release the lease on stopping:\n%s", a.logs)
	}
	if a.err != nil {
		t.Errorf("the holder's Run: %v", a.err)
	}
	b.waitHeld(t, true)
	t.Logf("takeover after a release: %v", time.Since(stopped).Round(time.Millisecond))
	second, _ := emu.SendText(1, "two")
	b.tk.await(t, second.UpdateID)
	wait(t, emu, second.UpdateID)
	if n := b.tk.count(first.UpdateID); n != 0 {
		t.Errorf("the successor got update %d, which its predecessor journaled and finished, %d times", first.UpdateID, n)
	}
	for _, lp := range []*leased{a, b} {
		if strings.Contains(lp.logs.String(), "getUpdates failed") {
			t.Errorf("a getUpdates failed (409: two pollers at once?):\n%s", lp.logs)
		}
	}
	if st := b.p.Stats(); st.LeaseToken != 2 || st.LeaseAcquired != 1 {
		t.Errorf("successor's lease: %+v, want token 2, acquired once", st)
	}
}

// TestLeaseStolenStopsPolling: a holder whose renewal is refused (another acquired the
// lease while it was paused) stops polling at once and stands by; it polls again only once
// it acquires the lease anew.
func TestLeaseStolenStopsPolling(t *testing.T) {
	srv, emu := leaseSetup(t)
	a := startLeased(t, emu, srv.URL, "a", time.Second)
	a.waitHeld(t, true)

	other, tok, _ := steal(t, srv.URL, "a", 1, "other")
	ctx := context.Background()
	a.waitHeld(t, false)
	a.logs.WaitFor(t, "polling lease lost", 5*time.Second)
	if st := a.p.Stats(); st.LeaseLost != 1 {
		t.Errorf("lease lost %d times, want 1", st.LeaseLost)
	}
	// Nobody polls now: an update waits, unconfirmed, until a poller holds the lease.
	pushed, _ := emu.SendText(2, "waits")
	if err := other.Release(ctx, "other", tok); err != nil {
		t.Fatal(err)
	}
	a.waitHeld(t, true)
	a.tk.await(t, pushed.UpdateID)
	if st := a.p.Stats(); st.LeaseToken != 3 || st.LeaseAcquired != 2 {
		t.Errorf("after taking the lease back: %+v, want token 3, acquired twice", st)
	}
}

// TestLeaseStoreAwayStopsPolling: a holder that cannot reach its store for longer than the
// TTL gives the lease up (for all it knows another holds it now) and stops fetching; once
// the store is back it acquires the lease again and polls.
func TestLeaseStoreAwayStopsPolling(t *testing.T) {
	srv, emu := leaseSetup(t)
	a := startLeased(t, emu, srv.URL, "a", 600*time.Millisecond)
	a.waitHeld(t, true)
	srv.Pause()
	a.waitHeld(t, false)
	srv.Resume()
	a.logs.WaitFor(t, "no renewal of the polling lease", 5*time.Second)
	a.waitHeld(t, true)
	pushed, _ := emu.SendText(3, "back")
	a.tk.await(t, pushed.UpdateID)
	if st := a.p.Stats(); st.LeaseLost != 1 || st.LeaseAcquired != 2 {
		t.Errorf("after the store came back: %+v, want lost once, acquired twice", st)
	}
}

// TestLeaseFencedAppendConfirmsNothing: a holder that does not know yet that it lost the
// lease (its next renewal is far off, as for a process paused past its TTL) fetches a batch,
// and the journal refuses it for its stale token: nothing is journaled, submitted or
// confirmed, the poller stops polling at once, and the update is the next holder's.
func TestLeaseFencedAppendConfirmsNothing(t *testing.T) {
	srv, emu := leaseSetup(t)
	a := startLeased(t, emu, srv.URL, "a", time.Minute) // renewed every 18 s: not in this test
	a.waitHeld(t, true)
	if err := emu.WaitPolling(context.Background()); err != nil {
		t.Fatal(err)
	}
	thief, tok, j := steal(t, srv.URL, "a", 1, "thief")
	ctx := context.Background()

	pushed, _ := emu.SendText(4, "fenced")
	a.waitHeld(t, false)
	a.logs.WaitFor(t, "polling lease lost", 5*time.Second)
	if !strings.Contains(a.logs.String(), "lease token 1: the lease's token is 2 now") {
		t.Errorf("the poller lost the lease otherwise than by a fenced append:\n%s", a.logs)
	}
	if c := emu.Confirmed(); c >= pushed.UpdateID {
		t.Errorf("update %d confirmed (up to %d) by a poller whose token was stale", pushed.UpdateID, c)
	}
	if n := a.tk.count(pushed.UpdateID); n != 0 {
		t.Errorf("update %d submitted %d times by a poller whose token was stale", pushed.UpdateID, n)
	}
	if page, err := j.Pending(ctx, 0, 10); err != nil || len(page) != 0 {
		t.Errorf("journal holds %v (%v) after a fenced append", page, err)
	}

	if err := thief.Release(ctx, "thief", tok); err != nil {
		t.Fatal(err)
	}
	a.tk.await(t, pushed.UpdateID)
	wait(t, emu, pushed.UpdateID)
}
