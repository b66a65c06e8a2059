package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
)

// keyed is the item of update id routed by key.
func keyed(id, key int64) redisstore.Item {
	return redisstore.Item{UpdateID: id, Key: key, Raw: fmt.Appendf(nil, `{"update_id":%d,"from":%d}`, id, key)}
}

// pendingOf is the ids of the journal's pending updates.
func pendingOf(tb testing.TB, j *redisstore.Journal) string {
	tb.Helper()
	items, err := j.Pending(context.Background(), 0, 0)
	if err != nil {
		tb.Fatalf("pending: %v", err)
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.UpdateID
	}
	return fmt.Sprint(ids)
}

func TestCommitWaitsForEarlierJournaledUpdate(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st := open(t, srv.URL)
	j := st.Journal(redisstore.JournalConfig{})
	ctx := context.Background()
	const user, other, group = 7, 8, -1001234567890
	mustAppend(t, j, 5, keyed(10, user), keyed(11, user), keyed(12, other), keyed(13, group), keyed(14, group))

	r := mustLoad(t, st, user)
	if _, err := st.Commit(ctx, user, r, redisstore.Change[int64]{UpdateID: 11, State: 1}); !errors.Is(err, redisstore.ErrOutOfOrder) {
		t.Fatalf("commit of update 11 while 10 of the same key is pending: %v, want ErrOutOfOrder", err)
	}
	if got := mustLoad(t, st, user); got.Version != 0 {
		t.Fatalf("the refused commit wrote: %+v", got)
	}
	// Other keys are not held back by it.
	mustCommit(t, st, other, mustLoad(t, st, other), redisstore.Change[int64]{UpdateID: 12, State: 1})
	// Committing the earlier update unblocks the later one.
	r = mustCommit(t, st, user, r, redisstore.Change[int64]{UpdateID: 10, State: 1})
	mustCommit(t, st, user, r, redisstore.Change[int64]{UpdateID: 11, State: 2})

	// So does finishing it without a commit (an update the runtime answered and did not
	// commit: throttled, or an apology), for a group's negative key too.
	g := mustLoad(t, st, group)
	if _, err := st.Commit(ctx, group, g, redisstore.Change[int64]{UpdateID: 14, State: 1}); !errors.Is(err, redisstore.ErrOutOfOrder) {
		t.Fatalf("commit of update 14 while 13 is pending: %v, want ErrOutOfOrder", err)
	}
	mustFinish(t, j, 13)
	mustCommit(t, st, group, g, redisstore.Change[int64]{UpdateID: 14, State: 1})
	if got := pendingOf(t, j); got != "[]" {
		t.Fatalf("pending %s after every update was committed or finished, want none", got)
	}
	// Nothing of the per-key index is left behind once its updates are done.
	c := raw(t, srv)
	if keys := c.Keys(ctx, "troupe:{*}:pend").Val(); len(keys) != 0 {
		t.Fatalf("per-key pending sets left: %v", keys)
	}
}

func TestCommitWithoutJournalIgnoresIt(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	withJournal := open(t, srv.URL)
	j := withJournal.Journal(redisstore.JournalConfig{})
	mustAppend(t, j, 2, keyed(1, 5), keyed(2, 5))
	// A store that was given no journal (the runtime without journaled intake) commits as
	// it always did, and finishes nothing.
	plain := open(t, srv.URL)
	mustCommit(t, plain, 5, mustLoad(t, plain, 5), redisstore.Change[int64]{UpdateID: 2, State: 2})
	if got := pendingOf(t, j); got != "[1 2]" {
		t.Fatalf("pending %s, want [1 2]: a store without the journal finished in it", got)
	}
	// The pending update 1 is now below the key's last commit: it can never be committed,
	// so it holds nothing back. Its commit is refused as a duplicate and leaves it
	// journaled (its replies may still be in the outbox), for intake to finish.
	r := mustLoad(t, withJournal, 5)
	if _, err := withJournal.Commit(context.Background(), 5, r, redisstore.Change[int64]{UpdateID: 1, State: 9}); !errors.Is(err, redisstore.ErrDuplicate) {
		t.Fatalf("commit of update 1 after 2: %v, want ErrDuplicate", err)
	}
	mustCommit(t, withJournal, 5, r, redisstore.Change[int64]{UpdateID: 3, State: 3})
	if got := pendingOf(t, j); got != "[1 2]" {
		t.Fatalf("pending %s, want [1 2]", got)
	}
	mustFinish(t, j, 1, 2)
	if got := pendingOf(t, j); got != "[]" {
		t.Fatalf("pending %s, want none", got)
	}
}

// commands records the names of the commands sent, pipelined or not.
type commands struct {
	mu   sync.Mutex
	sent []string
}

func (h *commands) hook() redis.Hook {
	return observer(func(cmds []redis.Cmder) {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, c := range cmds {
			h.sent = append(h.sent, c.Name())
		}
	})
}

func (h *commands) names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sent)
}

// TestCommitFinishesItsUpdate: a commit with no replies finishes its update in the journal
// (and its Finish then costs nothing); one with replies lets the key's next update go but
// leaves it journaled until intake finishes it, once its replies are sent, so that a process
// stopped before sending them leaves the update for the next one's replay; a duplicate
// leaves it too.
func TestCommitFinishesItsUpdate(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	hook := &commands{}
	st := open(t, srv.URL, func(c *redisstore.Config[int64]) { c.Hooks = []redis.Hook{hook.hook()} })
	j := st.Journal(redisstore.JournalConfig{})
	const key = 3
	mustFinish(t, j, 1) // loads the script, so that the counts below are of one call
	mustAppend(t, j, 4, keyed(100, key), keyed(101, key), keyed(102, key), keyed(103, key))
	before := mustStats(t, j)

	r := mustCommit(t, st, key, mustLoad(t, st, key), redisstore.Change[int64]{UpdateID: 100, State: 1})
	s := mustStats(t, j)
	if s.Len != 3 || s.Bytes >= before.Bytes || s.Remembered != 1 {
		t.Fatalf("after the commit the journal is %+v (was %+v), want update 100 finished and remembered", s, before)
	}
	// Its Finish, which intake still calls once the update is done, costs no round trip.
	n := len(hook.names())
	mustFinish(t, j, 100)
	if got := hook.names()[n:]; len(got) != 0 {
		t.Fatalf("finishing a committed update sent %v, want nothing", got)
	}
	// A re-send of it is skipped: the commit remembered it as finished.
	mustAppend(t, j, 0, keyed(100, key))

	// With replies: journaled still, yet the next update of the key may commit.
	r = mustCommit(t, st, key, r, redisstore.Change[int64]{UpdateID: 101, State: 2, Outbox: [][]byte{[]byte("hi")}})
	r = mustCommit(t, st, key, r, redisstore.Change[int64]{UpdateID: 102, State: 3, Outbox: [][]byte{[]byte("ho")}})
	if got := pendingOf(t, j); got != "[101 102 103]" {
		t.Fatalf("pending %s after commits with replies, want [101 102 103]", got)
	}
	n = len(hook.names())
	mustFinish(t, j, 101)
	if got := hook.names()[n:]; len(got) != 1 {
		t.Fatalf("finishing an update committed with replies sent %v, want one script", got)
	}

	// An update committed by another path (a second process with no journal, an older
	// build) and then handled again here is refused as a duplicate, and stays journaled.
	other := open(t, srv.URL)
	mustCommit(t, other, key, r, redisstore.Change[int64]{UpdateID: 103, State: 4})
	if _, err := st.Commit(context.Background(), key, r, redisstore.Change[int64]{UpdateID: 103, State: 4}); !errors.Is(err, redisstore.ErrDuplicate) {
		t.Fatalf("commit of an update committed elsewhere: %v, want ErrDuplicate", err)
	}
	if got := pendingOf(t, j); got != "[102 103]" {
		t.Fatalf("pending %s after the duplicate, want [102 103]", got)
	}
	mustFinish(t, j, 102, 103)
	if got := pendingOf(t, j); got != "[]" {
		t.Fatalf("pending %s, want none", got)
	}

	// One Finish of an update this store committed with replies (its key's pending id gone
	// with the commit) and of one it never saw (its key's pending id still there): both
	// leave, with their bytes and their keys' pending ids.
	const another = 4
	mustAppend(t, j, 2, keyed(104, key), keyed(105, another))
	mustCommit(t, st, key, mustLoad(t, st, key), redisstore.Change[int64]{UpdateID: 104, State: 5, Outbox: [][]byte{[]byte("hu")}})
	mustFinish(t, j, 105, 104)
	if s := mustStats(t, j); s.Len != 0 || s.Bytes != 0 {
		t.Fatalf("after every update finished the journal is %+v, want empty, 0 bytes", s)
	}
	if keys := raw(t, srv).Keys(context.Background(), "troupe:{*}:pend").Val(); len(keys) != 0 {
		t.Fatalf("per-key pending sets left: %v", keys)
	}
}

// TestCommitFinishesSkipped: the ids a commit names as skipped (updates the runtime answered
// without a commit) leave the journal with it, so they hold it back no longer, even while
// their own Finish is still on its way; a Finish arriving later changes nothing.
func TestCommitFinishesSkipped(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st := open(t, srv.URL)
	j := st.Journal(redisstore.JournalConfig{})
	const user, other = 7, 8
	mustAppend(t, j, 4, keyed(20, user), keyed(21, user), keyed(22, user), keyed(23, other))
	r := mustCommit(t, st, user, mustLoad(t, st, user), redisstore.Change[int64]{UpdateID: 22, State: 1, Skipped: []int64{20, 21}})
	if r.UpdateID != 22 {
		t.Fatalf("committed %+v, want update 22", r)
	}
	if got := pendingOf(t, j); got != "[23]" {
		t.Fatalf("pending %s, want [23]: the skipped and the committed update finished", got)
	}
	mustFinish(t, j, 20, 21)
	if got := pendingOf(t, j); got != "[23]" {
		t.Fatalf("pending %s after a late Finish of the skipped ones, want [23]", got)
	}
	// A re-send of a skipped update is remembered as finished, like any other.
	mustAppend(t, j, 0, keyed(20, user))
}

// TestDuplicateWindowIsAWeek: Telegram numbers updates afresh, at random, after a week
// without any, so an id at or below the last committed one is a re-send only while that
// commit is less than a week old; older, it is a new update, applied.
func TestDuplicateWindowIsAWeek(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st := open(t, srv.URL)
	c := raw(t, srv)
	ctx := context.Background()
	const user = 9
	rec := "troupe:{9}:rec"
	r := mustCommit(t, st, user, mustLoad(t, st, user), redisstore.Change[int64]{UpdateID: 5_000, State: 1})
	tests := []struct {
		name string
		age  int64 // seconds since the last commit; -1: a record from before 't' was kept
		dup  bool
	}{
		{"a day old", 24 * 3600, true},
		{"no commit time", -1, true},
		{"six days old", 6 * 24 * 3600, true},
		{"eight days old", 8 * 24 * 3600, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := c.Time(ctx).Val().Unix()
			if tt.age < 0 {
				c.HDel(ctx, rec, "t")
			} else {
				c.HSet(ctx, rec, "t", now-tt.age)
			}
			next, err := st.Commit(ctx, user, r, redisstore.Change[int64]{UpdateID: 17, State: r.State + 1})
			if tt.dup {
				if !errors.Is(err, redisstore.ErrDuplicate) {
					t.Fatalf("update 17 after 5000, last commit %s: %v, want ErrDuplicate", tt.name, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("update 17 after 5000, last commit %s: %v, want it applied as a new sequence", tt.name, err)
			}
			if next.UpdateID != 17 {
				t.Fatalf("committed %+v, want update 17 the last", next)
			}
			// The new sequence is deduplicated from there on.
			if _, err := st.Commit(ctx, user, next, redisstore.Change[int64]{UpdateID: 17, State: next.State + 1}); !errors.Is(err, redisstore.ErrDuplicate) {
				t.Fatalf("update 17 again: %v, want ErrDuplicate", err)
			}
		})
	}
}

// TestFinishedWindowForgetsAfterAWeek: the journal remembers a finished id for a week, so a
// re-send is skipped, but not longer, when Telegram may give the id to a new update.
func TestFinishedWindowForgetsAfterAWeek(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st := open(t, srv.URL)
	j := st.Journal(redisstore.JournalConfig{})
	c := raw(t, srv)
	ctx := context.Background()
	mustAppend(t, j, 2, keyed(30, 1), keyed(31, 1))
	mustFinish(t, j, 30, 31)
	mustAppend(t, j, 0, keyed(30, 1), keyed(31, 1)) // re-sends, remembered
	now := c.Time(ctx).Val().Unix()
	c.ZAdd(ctx, "troupe:{journal}:done", redis.Z{Score: float64(now - 8*24*3600), Member: "30"})
	mustAppend(t, j, 1, keyed(30, 1), keyed(31, 1)) // 30 is forgotten: a new update now
	if got := pendingOf(t, j); got != "[30]" {
		t.Fatalf("pending %s, want [30]", got)
	}
}

// A refused commit writes nothing and keeps the update's place in the journal: the update
// still holds its key's later ones back, whether it was refused for a stale version or for a
// journal that does not match its record, on a delta or on a snapshot.
func TestRefusedCommitKeepsItsPlace(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := raw(t, srv)
	ctx := context.Background()
	for i, tc := range []struct {
		name      string
		maxDeltas int // 1: the third commit is a snapshot
		damage    func(p string)
		want      error
	}{
		{"stale delta", 0, func(string) {}, redisstore.ErrStale},
		{"delta on a lost journal", 0, func(p string) { c.Del(ctx, p+"log") }, redisstore.ErrCorrupt},
		{"delta on a journal one entry longer", 0, func(p string) { c.RPush(ctx, p+"log", "\x01\x02") }, redisstore.ErrCorrupt},
		{"snapshot on a lost journal", 1, func(p string) { c.Del(ctx, p+"log") }, redisstore.ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t, srv.URL, func(cfg *redisstore.Config[int64]) {
				cfg.Prefix = fmt.Sprintf("refused%d", i)
				cfg.MaxDeltas = tc.maxDeltas
			})
			j := st.Journal(redisstore.JournalConfig{})
			const key = 7
			mustAppend(t, j, 4, keyed(10, key), keyed(11, key), keyed(12, key), keyed(13, key))
			r1 := mustCommit(t, st, key, mustLoad(t, st, key), redisstore.Change[int64]{UpdateID: 10, State: 1})
			r2 := mustCommit(t, st, key, r1, redisstore.Change[int64]{UpdateID: 11, State: 2})
			p := fmt.Sprintf("refused%d:{%d}:", i, key)
			tc.damage(p)
			prev := r2
			if tc.want == redisstore.ErrStale {
				prev = r1
			}
			before := fmt.Sprint(c.HGetAll(ctx, p+"rec").Val(), c.LRange(ctx, p+"log", 0, -1).Val(), c.ZRange(ctx, p+"out", 0, -1).Val())
			if _, err := st.Commit(ctx, key, prev, redisstore.Change[int64]{UpdateID: 12, State: 3, Outbox: [][]byte{[]byte("r")}}); !errors.Is(err, tc.want) {
				t.Fatalf("commit of update 12 on version %d: %v, want %v", prev.Version, err, tc.want)
			}
			after := fmt.Sprint(c.HGetAll(ctx, p+"rec").Val(), c.LRange(ctx, p+"log", 0, -1).Val(), c.ZRange(ctx, p+"out", 0, -1).Val())
			if after != before {
				t.Fatalf("the refused commit wrote:\nbefore %s\nafter  %s", before, after)
			}
			if got := fmt.Sprint(c.ZRange(ctx, p+"pend", 0, -1).Val()); got != "[12 13]" {
				t.Fatalf("the key's pending ids after the refusal: %s, want [12 13]", got)
			}
			if _, err := st.Commit(ctx, key, r2, redisstore.Change[int64]{UpdateID: 13, State: 3}); !errors.Is(err, redisstore.ErrOutOfOrder) && !errors.Is(err, redisstore.ErrCorrupt) {
				t.Fatalf("commit of update 13 while 12 is refused and pending: %v, want ErrOutOfOrder", err)
			}
			if got := pendingOf(t, j); got != "[12 13]" {
				t.Fatalf("journal pending %s, want [12 13]", got)
			}
		})
	}
}

// DeferAck takes only the last entry of an update this store committed with replies, with a
// journal attached. The Finish of such an update removes what is left of its outbox; one
// that fails (the server away) keeps that for the next Finish, and Load keeps leaving the
// entry out meanwhile.
func TestDeferAckLeavesTheOutboxToTheFinish(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	plain := open(t, srv.URL)
	if plain.DeferAck(1, redisstore.Entry{UpdateID: 1}) {
		t.Fatal("a store without a journal deferred an acknowledgement")
	}
	st := open(t, srv.URL, func(c *redisstore.Config[int64]) { c.Timeout = 300 * time.Millisecond })
	j := st.Journal(redisstore.JournalConfig{})
	const key = 6
	mustAppend(t, j, 3, keyed(30, key), keyed(31, key), keyed(32, key))
	r := mustCommit(t, st, key, mustLoad(t, st, key), redisstore.Change[int64]{UpdateID: 30, State: 1})
	mustCommit(t, st, key, r, redisstore.Change[int64]{UpdateID: 31, State: 2, Outbox: [][]byte{[]byte("a"), []byte("b")}})
	for _, tc := range []struct {
		name string
		key  int64
		e    redisstore.Entry
	}{
		{"an update committed without replies", key, redisstore.Entry{UpdateID: 30}},
		{"an update never committed", key, redisstore.Entry{UpdateID: 32, Seq: 0}},
		{"another key's", key + 1, redisstore.Entry{UpdateID: 31, Seq: 1}},
	} {
		if st.DeferAck(tc.key, tc.e) {
			t.Errorf("%s: deferred", tc.name)
		}
	}
	if err := st.AckEntry(ctx, key, redisstore.Entry{UpdateID: 31, Seq: 0}); err != nil {
		t.Fatal(err)
	}
	if !st.DeferAck(key, redisstore.Entry{UpdateID: 31, Seq: 1}) {
		t.Fatal("the last entry of an update committed with replies was not deferred")
	}
	c := raw(t, srv)
	outbox := func() string {
		t.Helper()
		return fmt.Sprint(len(c.ZRange(ctx, "troupe:{6}:out", 0, -1).Val()), len(mustLoad(t, st, key).Outbox))
	}
	if got := outbox(); got != "1 0" {
		t.Fatalf("outbox entries in Redis and loaded: %s, want 1 0 (the deferred one left out)", got)
	}
	srv.Pause()
	if err := j.Finish(ctx, 31); err == nil {
		t.Fatal("a Finish on a paused server did not fail")
	}
	srv.Resume()
	// The server may yet run the Finish it had read when it paused; the entry stays left
	// out either way.
	if got := len(mustLoad(t, st, key).Outbox); got != 0 {
		t.Fatalf("after a failed Finish, %d outbox entries loaded, want the deferred one left out", got)
	}
	mustFinish(t, j, 31)
	if got := outbox(); got != "0 0" {
		t.Fatalf("after the Finish, outbox entries in Redis and loaded: %s, want 0 0", got)
	}
	if got := pendingOf(t, j); got != "[32]" {
		t.Fatalf("pending %s, want [32]", got)
	}
}
