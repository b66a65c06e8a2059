package actors_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/internal/logtest"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore/actorstore"
)

// TestFlushedRecordIsWrittenBack: after a FLUSHALL a resident user's commit is refused (the
// stored version is 0 again) and the reload finds nothing. The actor tells that from a
// stale writer, whose version would be higher: it keeps the user's state, handles the
// update on it and writes it back as a fresh snapshot, so the counter goes on from where it
// was. One log line says what happened, however many users it struck, and Stats counts
// each. A user not in memory has nothing to write back and starts afresh: what a flush
// loses.
func TestFlushedRecordIsWrittenBack(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	var logs logtest.Buffer
	rs := openStore(t, srv.URL)
	rec := newRecorder()
	rt := actors.NewDurable(ctx, actors.Config{Restart: fastRestarts, Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		actors.Logic[count, reply](counter{}), actors.Performer[reply](rec), actors.Store[count](actorstore.New(rs)), actors.ActionCodec[reply](replyCodec{}))
	defer rt.Close(ctx)
	// A user the other process served, not resident here.
	other := durableRuntime(t, openStore(t, srv.URL), newRecorder())

	id := int64(0)
	send := func(rt *actors.Runtime[count, reply], user int64) {
		t.Helper()
		id++
		if err := wait(t, take(t, rt, textUpdate(id, user, "hi"))); err != nil {
			t.Fatalf("update %d of user %d: %v", id, user, err)
		}
	}
	for range 3 {
		send(rt, 1)
		send(rt, 2)
		send(other, 3)
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	send(rt, 1)
	send(rt, 2)
	send(rt, 3)
	send(rt, 1)

	for _, tt := range []struct {
		user int64
		want []int64 // n of each reply
	}{{1, []int64{1, 2, 3, 4, 5}}, {2, []int64{1, 2, 3, 4}}, {3, []int64{1}}} {
		var got []int64
		for _, r := range rec.of(tt.user) {
			got = append(got, r.n)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("user %d: replies n=%v, want %v", tt.user, got, tt.want)
		}
		r, err := rs.Load(ctx, tt.user)
		if err != nil || r.State.n != tt.want[len(tt.want)-1] {
			t.Errorf("user %d: stored record %+v, %v; want n=%d", tt.user, r, err, tt.want[len(tt.want)-1])
		}
	}
	st := rt.Stats()
	if st.Vanished != 2 || st.Stale != 2 {
		t.Errorf("stats: %d vanished, %d stale; want 2 and 2 (users 1 and 2, once each)", st.Vanished, st.Stale)
	}
	logs.WaitFor(t, "user records vanished from the store", 5*time.Second)
	if n := strings.Count(logs.String(), "records vanished"); n != 1 {
		t.Errorf("%d log lines about vanished records, want 1:\n%s", n, logs.String())
	}
}

// TestStaleWriterIsNotAFlush: a commit refused because another process wrote the user
// since is reloaded and handled on that process's state, never mistaken for a vanished
// record: the counter continues from the other writer's, not from this actor's memory.
func TestStaleWriterIsNotAFlush(t *testing.T) {
	rts, recs, _ := twoRuntimes(t)
	for i, p := range []int{0, 0, 1, 1, 0} {
		if err := wait(t, take(t, rts[p], textUpdate(int64(i+1), 4, "hi"))); err != nil {
			t.Fatal(err)
		}
	}
	got := recs[0].of(4)
	if len(got) != 3 || got[2].n != 5 {
		t.Errorf("first process's replies %+v, want the third n=5 (after the other's 3 and 4)", got)
	}
	if st := rts[0].Stats(); st.Vanished != 0 || st.Stale != 1 {
		t.Errorf("stats: %d vanished, %d stale; want 0 and 1", st.Vanished, st.Stale)
	}
}

// TestDuplicateWhileStoreIsDown: an update the actor committed, handed to it again (a
// journal replay racing the update's finish) while the store is away, is finished as a
// duplicate without asking the store. Asking would fail, hold the user's later updates
// for a redelivery of that one, and the journal, where it is finished, never makes it.
func TestDuplicateWhileStoreIsDown(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Persist: true})
	rec := newRecorder()
	rt := durableRuntime(t, openStore(t, srv.URL), rec)
	if err := wait(t, take(t, rt, textUpdate(1, 7, "hi"))); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := wait(t, take(t, rt, textUpdate(1, 7, "hi"))); err != nil {
		t.Errorf("update 1 again with the store down: %v, want it finished as a duplicate", err)
	}
	srv.Restart()
	if err := wait(t, take(t, rt, textUpdate(2, 7, "hi"))); err != nil {
		t.Fatalf("update 2: %v", err)
	}
	var got []int64
	for _, r := range rec.of(7) {
		got = append(got, r.n)
	}
	if !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("replies n=%v, want [1 2]", got)
	}
	if st := rt.Stats(); st.Duplicates != 1 || st.NotKept != 0 {
		t.Errorf("stats: %d duplicates, %d not kept; want 1 and 0", st.Duplicates, st.NotKept)
	}
}
