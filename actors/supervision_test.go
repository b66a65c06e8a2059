package actors_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupebot/troupe/actors"
)

// subscribe returns a channel of the runtime's events of type T.
func subscribe[T any](tb testing.TB, rt *actors.Runtime[count, reply]) <-chan T {
	tb.Helper()
	ch := make(chan T, 1<<16)
	sub := rt.System().EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(T); ok {
			ch <- e
		}
	})
	tb.Cleanup(func() { rt.System().EventStream.Unsubscribe(sub) })
	return ch
}

func await[T any](tb testing.TB, ch <-chan T, n int, what string) []T {
	tb.Helper()
	var got []T
	deadline := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case e := <-ch:
			got = append(got, e)
		case <-deadline:
			tb.Fatalf("saw %d %s events, want %d", len(got), what, n)
		}
	}
	return got
}

// clock is a settable clock for the runtime's decisions (cool-down ends, idleness).
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// deliver sends one update and returns a channel closed when it is done.
func deliver(tb testing.TB, rt *actors.Runtime[count, reply], id, user int64, text string) <-chan struct{} {
	tb.Helper()
	ch := make(chan struct{})
	if err := rt.Deliver(textUpdate(id, user, text), func() { close(ch) }); err != nil {
		tb.Fatal(err)
	}
	return ch
}

func done(tb testing.TB, chs ...<-chan struct{}) {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for _, ch := range chs {
		select {
		case <-ch:
		case <-deadline:
			tb.Fatal("update not done within 30s")
		}
	}
}

// TestCrashLoopCoolsDown has one user crash on every message: after MaxRestarts crashes in
// the window the user is paused (told once, in the apology of the crash that tripped it),
// their later updates finish unanswered, other users carry on, and after the pause the user
// is served again with their committed context.
func TestCrashLoopCoolsDown(t *testing.T) {
	clk := newClock()
	rec := newRecorder()
	policy := fastRestarts
	policy.MaxRestarts, policy.Window, policy.CoolDown = 3, time.Minute, time.Hour
	rt := newRuntime(t, rec, actors.Config{Restart: policy, Now: clk.now})
	coolDowns := subscribe[*actors.CoolDown](t, rt)

	const bad, good = 1, 2
	id := int64(0)
	next := func() int64 { id++; return id }
	done(t, deliver(t, rt, next(), bad, "hi")) // n=1 committed before the loop
	for range 4 {
		done(t, deliver(t, rt, next(), bad, "panic"), deliver(t, rt, next(), good, "hi"))
	}
	cd := await(t, coolDowns, 1, "cool-down")[0]
	if cd.Key != bad || !cd.Until.Equal(clk.now().Add(time.Hour)) {
		t.Errorf("cool-down = %+v", cd)
	}
	replies := rec.of(bad)
	if len(replies) != 5 {
		t.Fatalf("crashing user got %d replies, want 1 + 4 apologies: %+v", len(replies), replies)
	}
	for i, r := range replies[1:] {
		if want := i == 3; r.paused != want {
			t.Errorf("apology %d says paused=%v, want %v (only the 4th crash trips the limit)", i+1, r.paused, want)
		}
	}
	// Paused: finished, unanswered.
	done(t, deliver(t, rt, next(), bad, "hi"), deliver(t, rt, next(), bad, "hi"))
	if got := len(rec.of(bad)); got != 5 {
		t.Errorf("a paused user got a reply (%d replies)", got)
	}
	st := rt.Stats()
	if st.CoolingDown != 1 || st.Paused != 2 || st.Restarts.Total != 4 || len(st.Restarts.Top) == 0 || st.Restarts.Top[0].Key != bad {
		t.Errorf("stats = %+v", st)
	}
	if got := rec.of(good); len(got) != 4 || got[3].n != 4 {
		t.Errorf("the other user was affected: %+v", got)
	}
	// After the pause the user is served again, from the last committed context.
	clk.advance(time.Hour)
	done(t, deliver(t, rt, next(), bad, "hi"))
	if got := rec.of(bad); len(got) != 6 || got[5].n != 2 {
		t.Errorf("after the pause: %+v, want n=2", got)
	}
	if st := rt.Stats(); st.CoolingDown != 0 {
		t.Errorf("still %d cooling down", st.CoolingDown)
	}
}

// idleTimeout is short so the sweep, which runs on a real ticker, comes every millisecond;
// the runtime judges idleness by the test's clock, so an actor idles only when the test
// moves that clock on.
const idleTimeout = 4 * time.Millisecond

func TestIdleActorsPassivateAndComeBack(t *testing.T) {
	const users = 200
	clk := newClock()
	rec := newRecorder()
	rt := newRuntime(t, rec, actors.Config{Restart: fastRestarts, IdleTimeout: idleTimeout, Now: clk.now})
	passivated := subscribe[*actors.Passivated](t, rt)
	var first []<-chan struct{}
	for u := range users {
		first = append(first, deliver(t, rt, int64(u+1), int64(u+1), "hi"))
	}
	done(t, first...)
	if st := rt.Stats(); st.Resident != users || st.Passivated != 0 {
		t.Fatalf("stats = %+v before any time passed, want all %d resident", st, users)
	}
	clk.advance(idleTimeout)
	await(t, passivated, users, "passivation")
	if st := rt.Stats(); st.Resident != 0 || st.Passivated != users {
		t.Fatalf("stats = %+v, want all passivated", st)
	}
	var again []<-chan struct{}
	for u := range users {
		again = append(again, deliver(t, rt, int64(users+u+1), int64(u+1), "hi"))
	}
	done(t, again...)
	for u := range users {
		if got := rec.of(int64(u + 1)); len(got) != 2 || got[1].n != 2 {
			t.Fatalf("user %d after passivation: %+v, want n=2", u+1, got)
		}
	}
}

func TestResidentCapEvictsLeastRecentlyUsed(t *testing.T) {
	rec := newRecorder()
	rt := newRuntime(t, rec, actors.Config{Restart: fastRestarts, Shards: 1, MaxResident: 10})
	passivated := subscribe[*actors.Passivated](t, rt)
	// Users 1..10 fill the cap; then user 1 is used again, so user 2 is the least recent.
	id := int64(0)
	for u := range 10 {
		id++
		done(t, deliver(t, rt, id, int64(u+1), "hi"))
	}
	id++
	done(t, deliver(t, rt, id, 1, "hi"))
	id++
	done(t, deliver(t, rt, id, 11, "hi"))
	if e := await(t, passivated, 1, "eviction")[0]; e.Key != 2 {
		t.Errorf("evicted user %d, want 2 (the least recently used)", e.Key)
	}
	// Many more users: residency stays at the cap, and nobody's context is lost.
	for u := 11; u < 200; u++ {
		id++
		done(t, deliver(t, rt, id, int64(u+1), "hi"))
	}
	await(t, passivated, 200-10-1, "eviction")
	if st := rt.Stats(); st.Resident > 10 {
		t.Errorf("%d resident, cap 10", st.Resident)
	}
	for u := range 200 {
		id++
		done(t, deliver(t, rt, id, int64(u+1), "hi"))
		want := int64(2)
		if u == 0 {
			want = 3
		}
		if got := rec.of(int64(u + 1)); got[len(got)-1].n != want {
			t.Fatalf("user %d: n=%d after eviction, want %d", u+1, got[len(got)-1].n, want)
		}
	}
}

// TestPassivationLosesNothing races passivation against deliveries: actors go idle and are
// asked to stop while new updates for them are on the way. Every update must be answered
// once, in order, with the counter continuous.
func TestPassivationLosesNothing(t *testing.T) {
	const users, waves = 100, 30
	rec := newRecorder()
	clk := newClock()
	rt := newRuntime(t, rec, actors.Config{Restart: fastRestarts, IdleTimeout: idleTimeout, Now: clk.now, MaxResident: users / 2, Shards: 4})
	id := int64(0)
	for w := range waves {
		// Every actor is idle from now on, so sweeps ask them to stop while the wave's
		// updates are on their way.
		clk.advance(idleTimeout)
		var wave []<-chan struct{}
		for u := range users {
			// Half the users skip every other wave, so their actors idle and passivate.
			if u%2 == 0 && w%2 == 1 {
				continue
			}
			id++
			wave = append(wave, deliver(t, rt, id, int64(u+1), "hi"))
		}
		done(t, wave...)
	}
	for u := range users {
		got := rec.of(int64(u + 1))
		for i, r := range got {
			if r.n != int64(i+1) {
				t.Fatalf("user %d reply %d has n=%d: an update was lost or replayed", u+1, i, r.n)
			}
		}
	}
	if st := rt.Stats(); st.Passivated == 0 || st.Backlog != 0 {
		t.Errorf("stats = %+v: want passivations to have happened and nothing left", st)
	}
}

// sized is a state whose size a store can bound.
type sized struct{ n int }

type grower struct{}

func (grower) Handle(s sized, u *gotgbot.Update) (sized, []reply) {
	s.n++
	return s, []reply{{update: u.UpdateId, n: int64(s.n)}}
}

func (grower) Apology(u *gotgbot.Update, crash *actors.Crash, _ time.Duration) []reply {
	if err, ok := crash.Reason.(error); ok && errors.Is(err, actors.ErrStateTooLarge) {
		return []reply{{update: u.UpdateId, n: -1}}
	}
	return []reply{{update: u.UpdateId}}
}

func (grower) Throttled(*gotgbot.Update) []reply { return nil }

func TestStateTooLargeIsRefused(t *testing.T) {
	rec := newRecorder()
	store := actors.NewMemoryStore(actors.MemoryConfig[sized]{MaxSize: 2, Size: func(s sized) int { return s.n }})
	rt := actors.New(context.Background(), actors.Config{Restart: fastRestarts, Logger: slog.New(slog.DiscardHandler)}, actors.Logic[sized, reply](grower{}), actors.Performer[reply](rec), actors.Store[sized](store))
	defer rt.Close(context.Background())
	for i := range 4 {
		ch := make(chan struct{})
		rt.Deliver(textUpdate(int64(i+1), 1, "x"), func() { close(ch) })
		done(t, ch)
	}
	got := rec.of(1)
	want := []int64{1, 2, -1, -1} // the third commit would make the state 3: refused, and so is the fourth
	for i, r := range got {
		if r.n != want[i] {
			t.Errorf("reply %d: n=%d, want %d", i, r.n, want[i])
		}
	}
	if r, _ := store.Load(context.Background(), 1); r.State.n != 2 {
		t.Errorf("committed state %d, want 2", r.State.n)
	}
}

func TestStoreExpiry(t *testing.T) {
	clk := newClock()
	store := actors.NewMemoryStore(actors.MemoryConfig[int]{ExpireAfter: time.Hour, Now: clk.now})
	ctx := context.Background()
	store.Commit(ctx, 1, actors.Record[int]{}, actors.Change[int]{State: 10})
	store.Commit(ctx, 2, actors.Record[int]{}, actors.Change[int]{State: 20})
	clk.advance(50 * time.Minute)
	if r, _ := store.Load(ctx, 1); r.Version == 0 {
		t.Fatal("state 1 expired early")
	}
	clk.advance(20 * time.Minute) // 1 was loaded 20 minutes ago, 2 committed 70 minutes ago
	if r, _ := store.Load(ctx, 1); r.Version == 0 || r.State != 10 {
		t.Errorf("state 1 = %+v: loading it should have kept it", r)
	}
	if r, _ := store.Load(ctx, 2); r.Version != 0 {
		t.Error("state 2 did not expire")
	}
	// Commits sweep: a key never loaded again is dropped too.
	store.Commit(ctx, 3, actors.Record[int]{}, actors.Change[int]{State: 30})
	clk.advance(2 * time.Hour)
	for i := range 2 * 64 {
		store.Commit(ctx, int64(100+i), actors.Record[int]{}, actors.Change[int]{State: i})
	}
	if n := store.Len(); n > 2*64 {
		t.Errorf("%d states kept, want the expired ones swept", n)
	}
}

// countingHandler counts log records and the crashes they say were not logged.
type countingHandler struct {
	mu      sync.Mutex
	records int
	muted   int64
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Message == "user actor crashed" {
		h.records++
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "crashes_not_logged" {
				h.muted += a.Value.Int64()
			}
			return true
		})
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func TestCrashStormDoesNotFloodTheLog(t *testing.T) {
	h := &countingHandler{}
	rec := newRecorder()
	rt := actors.New(context.Background(), actors.Config{Restart: fastRestarts, Logger: slog.New(h)}, actors.Logic[count, reply](counter{}), actors.Performer[reply](rec), actors.NewMemoryStore(actors.MemoryConfig[count]{}))
	defer rt.Close(context.Background())
	var all []<-chan struct{}
	for u := range 300 {
		all = append(all, deliver(t, rt, int64(u+1), int64(u+1), "panic"))
	}
	done(t, all...)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.records > 100 {
		t.Errorf("%d crash log lines for 300 crashes in a burst; want them rate-limited", h.records)
	}
	if rt.Stats().Crashes != 300 {
		t.Errorf("crashes = %d, want 300", rt.Stats().Crashes)
	}
}

// TestFloodIsThrottled has one user send far faster than the flood limit: updates past the
// burst are not handled, the first of them is answered (told once), and another user is
// not affected; once the bucket refills the user is served again, from their context.
func TestFloodIsThrottled(t *testing.T) {
	clk := newClock()
	rec := newRecorder()
	rt := newRuntime(t, rec, actors.Config{Restart: fastRestarts, Now: clk.now, Flood: actors.FloodLimit{Rate: 1, Burst: 5}})
	id := int64(0)
	var flood []<-chan struct{}
	for range 20 {
		id++
		flood = append(flood, deliver(t, rt, id, 1, "hi"))
		id++
		flood = append(flood, deliver(t, rt, id, 2, "hi"))
	}
	done(t, flood...)
	got := rec.of(1)
	if len(got) != 6 {
		t.Fatalf("flooding user got %d replies, want 5 handled and one notice: %+v", len(got), got)
	}
	for i, r := range got[:5] {
		if r.n != int64(i+1) {
			t.Errorf("reply %d: n=%d", i, r.n)
		}
	}
	if got[5].n != -2 {
		t.Errorf("6th reply %+v, want the throttle notice", got[5])
	}
	if len(rec.of(2)) != 6 {
		t.Errorf("user 2 got %d replies, want the same as user 1 from a bucket of their own", len(rec.of(2)))
	}
	if st := rt.Stats(); st.Throttled != 2*14+2 || st.Backlog != 0 {
		t.Errorf("stats = %+v", st)
	}
	clk.advance(10 * time.Second)
	id++
	done(t, deliver(t, rt, id, 1, "hi"))
	if got := rec.of(1); got[len(got)-1].n != 6 {
		t.Errorf("after the flood: n=%d, want 6", got[len(got)-1].n)
	}
}

// flakyStore fails its first loads, like a durable store whose database is away.
type flakyStore struct {
	*actors.MemoryStore[count]
	failures atomic.Int32
}

func (s *flakyStore) Load(ctx context.Context, key int64) (actors.Record[count], error) {
	if s.failures.Add(-1) >= 0 {
		return actors.Record[count]{}, errors.New("database unreachable")
	}
	return s.MemoryStore.Load(ctx, key)
}

// TestStoreOutageIsNotKeptNotLooped: while the store cannot load a user's context, each
// update is finished as not kept (to be delivered again), changes nothing and is not
// answered; the user's later updates wait for it; no restart loop; once the store answers,
// the redelivered updates carry on from the committed context, in order.
func TestStoreOutageIsNotKeptNotLooped(t *testing.T) {
	rec := newRecorder()
	store := &flakyStore{MemoryStore: actors.NewMemoryStore(actors.MemoryConfig[count]{})}
	store.Commit(context.Background(), 1, actors.Record[count]{}, actors.Change[count]{State: count{n: 41}})
	store.failures.Store(2) // the actor's start, then the first update
	rt := actors.New(context.Background(), actors.Config{Restart: fastRestarts, Logger: slog.New(slog.DiscardHandler)},
		actors.Logic[count, reply](counter{}), actors.Performer[reply](rec), actors.Store[count](store))
	defer rt.Close(context.Background())
	restarts := subscribe[*actor.SupervisorEvent](t, rt)
	submit := func(id int64) error { return wait(t, take(t, rt, textUpdate(id, 1, "hi"))) }
	for _, id := range []int64{1, 2} {
		if err := submit(id); !errors.Is(err, actors.ErrNotKept) {
			t.Errorf("update %d: done(%v), want ErrNotKept", id, err)
		}
	}
	if rt.StoreErr() == nil {
		t.Error("StoreErr() = nil during the outage")
	}
	if st := rt.Stats(); st.NotKept != 2 || st.StoreErrors != 2 || st.Backlog != 0 {
		t.Errorf("stats = %+v, want 2 not kept after 2 store errors", st)
	}
	for _, id := range []int64{1, 2} {
		if err := submit(id); err != nil {
			t.Errorf("redelivered update %d: done(%v)", id, err)
		}
	}
	got := rec.of(1)
	if len(got) != 2 || got[0].n != 42 || got[1].n != 43 {
		t.Errorf("replies = %+v, want n=42, 43 (nothing for the updates not kept)", got)
	}
	if err := rt.StoreErr(); err != nil {
		t.Errorf("StoreErr() = %v after the store answered", err)
	}
	select {
	case e := <-restarts:
		t.Errorf("a store outage restarted the actor: %+v", e)
	default:
	}
}
