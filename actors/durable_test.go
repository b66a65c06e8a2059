package actors_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
	"github.com/troupebot/troupe/redisstore/actorstore"
)

// countCodec stores a count as redisstore's Int64Codec stores an int64.
type countCodec struct{ redisstore.Int64Codec }

func (c countCodec) Snapshot(s count) ([]byte, error) { return c.Int64Codec.Snapshot(s.n) }
func (c countCodec) Delta(_, next count) ([]byte, bool, error) {
	return c.Int64Codec.Delta(0, next.n)
}
func (c countCodec) Restore(snap []byte, deltas [][]byte) (count, error) {
	n, err := c.Int64Codec.Restore(snap, deltas)
	return count{n: n}, err
}

// replyCodec encodes a reply with the user it goes to: a format byte and four varints.
type replyCodec struct{}

func (replyCodec) Encode(u *gotgbot.Update, r reply) ([]byte, error) {
	key, _ := actors.KeyOf(u)
	b := []byte{1}
	for _, v := range []int64{key, r.update, r.n, map[bool]int64{true: 1}[r.paused]} {
		b = binary.AppendVarint(b, v)
	}
	return b, nil
}

func (replyCodec) Decode(data []byte) (*gotgbot.Update, reply, error) {
	if len(data) == 0 || data[0] != 1 {
		return nil, reply{}, fmt.Errorf("reply format %v unknown", data[:min(len(data), 1)])
	}
	var v [4]int64
	rest := data[1:]
	for i := range v {
		n, w := binary.Varint(rest)
		if w <= 0 {
			return nil, reply{}, errors.New("reply truncated")
		}
		v[i], rest = n, rest[w:]
	}
	return textUpdate(0, v[0], ""), reply{update: v[1], n: v[2], paused: v[3] == 1}, nil
}

// openStore opens a redisstore on url for count states, closed at cleanup.
func openStore(tb testing.TB, url string) *redisstore.Store[count] {
	tb.Helper()
	rs, err := redisstore.Open(context.Background(), redisstore.Config[count]{URL: url, Codec: countCodec{}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rs.Close() })
	return rs
}

// durableRuntime runs the counter on rs with an outbox, performing through p.
func durableRuntime(tb testing.TB, rs *redisstore.Store[count], p actors.Performer[reply]) *actors.Runtime[count, reply] {
	tb.Helper()
	return durableRuntimeOf(tb, rs, counter{}, p)
}

// durableRuntimeOf is durableRuntime running logic.
func durableRuntimeOf(tb testing.TB, rs *redisstore.Store[count], logic actors.Logic[count, reply], p actors.Performer[reply]) *actors.Runtime[count, reply] {
	tb.Helper()
	rt := actors.NewDurable(context.Background(), actors.Config{Restart: fastRestarts, Logger: slog.New(slog.DiscardHandler)},
		logic, p, actors.Store[count](actorstore.New(rs)), actors.ActionCodec[reply](replyCodec{}))
	tb.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

// holder is a Performer that records the actions and never finishes them, as a process
// killed while its replies are on the way; performed says when it was handed some.
type holder struct {
	rec       *recorder
	performed chan struct{}
}

func newHolder() holder { return holder{rec: newRecorder(), performed: make(chan struct{}, 64)} }

func (h holder) Perform(ctx context.Context, u *gotgbot.Update, actions []reply, _ actors.Report) {
	h.rec.Perform(ctx, u, actions, func(int, error) {})
	h.performed <- struct{}{}
}

// await waits for n performs.
func (h holder) await(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case <-h.performed:
		case <-deadline:
			tb.Fatalf("fewer than %d performs within 10s", n)
		}
	}
}

// twoRuntimes runs two durable runtimes, as two processes would, on one real redis-server
// (its URL is the third result), each with its own connections and recorder.
func twoRuntimes(t *testing.T) ([2]*actors.Runtime[count, reply], [2]*recorder, string) {
	t.Helper()
	srv := redistest.Start(t, redistest.Options{})
	recs := [2]*recorder{newRecorder(), newRecorder()}
	return [2]*actors.Runtime[count, reply]{
		durableRuntime(t, openStore(t, srv.URL), recs[0]),
		durableRuntime(t, openStore(t, srv.URL), recs[1]),
	}, recs, srv.URL
}

// TestTwoRuntimesOnOneStore: two processes take turns on the same users. Each commit of
// the one that loaded an older version is refused, and it handles the update again on the
// other's state: no update overwrites another, every counter goes 1, 2, 3 … across both.
func TestTwoRuntimesOnOneStore(t *testing.T) {
	rts, recs, url := twoRuntimes(t)
	const users, perUser = 20, 6
	var wg sync.WaitGroup
	for user := int64(1); user <= users; user++ {
		wg.Go(func() {
			for i := int64(1); i <= perUser; i++ {
				if err := wait(t, take(t, rts[i%2], textUpdate(user*100+i, user, "hi"))); err != nil {
					t.Errorf("user %d update %d: %v", user, i, err)
				}
			}
		})
	}
	wg.Wait()
	for user := int64(1); user <= users; user++ {
		got := map[int64]int64{}
		for _, rec := range recs {
			for _, r := range rec.of(user) {
				got[r.update] = r.n
			}
		}
		for i := int64(1); i <= perUser; i++ {
			if got[user*100+i] != i {
				t.Errorf("user %d: update %d answered n=%d, want %d", user, i, got[user*100+i], i)
			}
		}
	}
	stale := rts[0].Stats().Stale + rts[1].Stats().Stale
	// From the third update on, each runtime's loaded record is one commit behind.
	if want := int64(users * (perUser - 2)); stale != want {
		t.Errorf("%d stale commits, want %d", stale, want)
	}
	rec, err := openStore(t, url).Load(context.Background(), 1)
	if err != nil || rec.State.n != perUser || rec.UpdateID != 100+perUser {
		t.Errorf("stored record %+v, %v: want n=%d after update %d", rec, err, perUser, 100+perUser)
	}
}

// TestDuplicateUpdateAppliedOnce: an update delivered again (Telegram re-sends what was
// not confirmed) is recognised by its id and changes nothing, here or in another process.
func TestDuplicateUpdateAppliedOnce(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rec := newRecorder()
	rt := durableRuntime(t, openStore(t, srv.URL), rec)
	other := durableRuntime(t, openStore(t, srv.URL), rec)
	for _, step := range []struct {
		rt *actors.Runtime[count, reply]
		id int64
	}{{rt, 1}, {rt, 2}, {rt, 2}, {rt, 1}, {other, 2}} {
		if err := wait(t, take(t, step.rt, textUpdate(step.id, 7, "hi"))); err != nil {
			t.Errorf("update %d: %v", step.id, err)
		}
	}
	if got := rec.of(7); len(got) != 2 || got[1].n != 2 {
		t.Errorf("replies %+v, want n=1, 2 once each", got)
	}
	if d := rt.Stats().Duplicates + other.Stats().Duplicates; d != 3 {
		t.Errorf("%d duplicates counted, want 3", d)
	}
	if r, _ := openStore(t, srv.URL).Load(context.Background(), 7); r.State.n != 2 {
		t.Errorf("stored n=%d, want 2", r.State.n)
	}
}

// TestCrashMidUpdateCommitsNothing: a panic in the logic leaves the stored record as it
// was, the outbox of the update before it included, and the restarted actor does not send
// that outbox again while its first sending is still under way.
func TestCrashMidUpdateCommitsNothing(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rs := openStore(t, srv.URL)
	h := newHolder()
	rt := durableRuntime(t, rs, h)
	take(t, rt, textUpdate(1, 3, "hi")) // held: its reply stays in the outbox
	take(t, rt, textUpdate(2, 3, "panic"))
	h.await(t, 2)
	r, err := rs.Load(context.Background(), 3)
	if err != nil || r.State.n != 1 || r.UpdateID != 1 || len(r.Outbox) != 1 || r.Outbox[0].UpdateID != 1 {
		t.Errorf("stored record %+v, %v: want update 1's, its reply pending", r, err)
	}
	take(t, rt, textUpdate(3, 3, "hi"))
	h.await(t, 1)
	got := h.rec.of(3)
	if len(got) != 3 || got[0].n != 1 || got[1].n != 0 || got[2].n != 2 {
		t.Errorf("replies %+v, want n=1, the apology, n=2", got)
	}
	if st := rt.Stats(); st.Resent != 0 {
		t.Errorf("%d actions sent again, want 0: update 1's reply is still on its way", st.Resent)
	}
}

// TestOutboxFirstAfterRestart: replies committed but not finished when a process stopped
// are sent by the next one when the user's actor activates, in order, before the user's new
// update is handled, and leave the outbox once finished.
func TestOutboxFirstAfterRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	h := newHolder()
	first := durableRuntime(t, openStore(t, srv.URL), h)
	for id := int64(1); id <= 3; id++ {
		take(t, first, textUpdate(id, 5, "hi"))
	}
	h.await(t, 3) // each performed after its commit
	rs := openStore(t, srv.URL)
	first.Close(context.Background()) // as if killed: the held replies are never finished

	rec := newRecorder()
	second := durableRuntime(t, rs, rec)
	if err := wait(t, take(t, second, textUpdate(4, 5, "hi"))); err != nil {
		t.Fatal(err)
	}
	got := rec.of(5)
	if len(got) != 4 {
		t.Fatalf("replies %+v, want 4", got)
	}
	for i, r := range got {
		if r.update != int64(i+1) || r.n != int64(i+1) {
			t.Errorf("reply %d = %+v, want update %d with n=%d", i, r, i+1, i+1)
		}
	}
	if st := second.Stats(); st.Resent != 3 {
		t.Errorf("%d actions sent again, want 3", st.Resent)
	}
	if r, _ := rs.Load(context.Background(), 5); len(r.Outbox) != 0 {
		t.Errorf("outbox %+v left after every reply finished", r.Outbox)
	}
}

// take hands u to rt and returns where its outcome arrives.
func take(tb testing.TB, rt *actors.Runtime[count, reply], u *gotgbot.Update) <-chan error {
	tb.Helper()
	ch := make(chan error, 1)
	if err := rt.Submit(u, func(err error) { ch <- err }); err != nil {
		tb.Fatalf("submit update %d: %v", u.UpdateId, err)
	}
	return ch
}

// wait returns the outcome, failing tb after a deadline.
func wait(tb testing.TB, ch <-chan error) error {
	tb.Helper()
	err, ok := within(tb, ch, 10*time.Second, "outcome")
	if !ok {
		return errors.New("not done")
	}
	return err
}

// TestCorruptRecordIsApologisedAndKept: a user whose stored record cannot be decoded gets an
// apology, the update is finished (it would fail the same way again), the record is left as
// it is, and another user is not affected.
func TestCorruptRecordIsApologisedAndKept(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	ctx := context.Background()
	if err := c.HSet(ctx, "troupe:{8}:rec", "v", "1", "s", "\xff garbage").Err(); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	rt := durableRuntime(t, openStore(t, srv.URL), rec)
	for _, u := range []*gotgbot.Update{textUpdate(1, 8, "hi"), textUpdate(2, 9, "hi")} {
		if err := wait(t, take(t, rt, u)); err != nil {
			t.Errorf("update %d: %v, want it finished", u.UpdateId, err)
		}
	}
	if got := rec.of(8); len(got) != 1 || got[0].n != 0 {
		t.Errorf("corrupt user's replies %+v, want one apology", got)
	}
	if got := rec.of(9); len(got) != 1 || got[0].n != 1 {
		t.Errorf("other user's replies %+v, want n=1", got)
	}
	if s := c.HGet(ctx, "troupe:{8}:rec", "s").Val(); s != "\xff garbage" {
		t.Errorf("corrupt record now %q, want it left as it was", s)
	}
	if st := rt.Stats(); st.Corrupt != 1 || rt.StoreErr() != nil {
		t.Errorf("stats %+v, store error %v: want 1 corrupt, the store healthy", st, rt.StoreErr())
	}
}
