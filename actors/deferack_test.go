package actors_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/PaulSonOfLars/gotgbot/v2"
	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
)

// lateFinisher performs every action and reports each accepted, then reports the whole not
// performed: as a sender whose last report says it stopped after all.
type lateFinisher struct{ rec *recorder }

func (l lateFinisher) Perform(ctx context.Context, u *gotgbot.Update, actions []reply, report actors.Report) {
	l.rec.Perform(ctx, u, actions, func(int, error) {})
	for i := range actions {
		report(i, nil)
	}
	report(actors.Finished, fmt.Errorf("stopped: %w", actors.ErrNotPerformed))
}

// TestJournaledUpdateLeavesItsLastAckToTheFinish: an update given with SubmitJournaled has
// every outbox entry but the last acknowledged as it is performed; the last stays in Redis,
// left out of every Load, until the journal's Finish of the update removes it. An update
// given with Submit has all of them acknowledged; so has one whose last report says it was
// not all performed, the journal then keeping the update without a Finish to come.
func TestJournaledUpdateLeavesItsLastAckToTheFinish(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	inRedis := func(key int64) int64 {
		t.Helper()
		n, err := c.ZCard(ctx, fmt.Sprintf("troupe:{%d}:out", key)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct {
		name      string
		journaled bool
		perform   func(*recorder) actors.Performer[reply]
		kept      bool // the update comes back done(nil)
		left      int64
	}{
		{"journaled", true, func(r *recorder) actors.Performer[reply] { return r }, true, 1},
		{"not journaled", false, func(r *recorder) actors.Performer[reply] { return r }, true, 0},
		{"journaled, not all performed after all", true, func(r *recorder) actors.Performer[reply] { return lateFinisher{rec: r} }, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			rs := openStore(t, srv.URL)
			j := rs.Journal(redisstore.JournalConfig{})
			const key, id = 9, 41
			u := textUpdate(id, key, "hi")
			if _, err := j.Append(ctx, []redisstore.Item{{UpdateID: id, Key: key, Raw: []byte(`{"update_id":41}`)}}); err != nil {
				t.Fatal(err)
			}
			rec := newRecorder()
			rt := durableRuntimeOf(t, rs, triple{}, tc.perform(rec))
			done := make(chan error, 1)
			submit := rt.Submit
			if tc.journaled {
				submit = rt.SubmitJournaled
			}
			if err := submit(u, func(err error) { done <- err }); err != nil {
				t.Fatal(err)
			}
			if err := wait(t, done); (err == nil) != tc.kept {
				t.Fatalf("outcome %v, want kept %v", err, tc.kept)
			}
			if got := len(rec.of(key)); got != 3 {
				t.Fatalf("%d replies performed, want 3", got)
			}
			if got := inRedis(key); got != tc.left {
				t.Fatalf("%d outbox entries in Redis once the update is done, want %d", got, tc.left)
			}
			if r, err := rs.Load(ctx, key); err != nil || len(r.Outbox) != 0 {
				t.Fatalf("load: outbox %+v (%v), want none: what is left is performed", r.Outbox, err)
			}
			if err := j.Finish(ctx, id); err != nil {
				t.Fatal(err)
			}
			if got := inRedis(key); got != 0 {
				t.Fatalf("%d outbox entries in Redis after the update's Finish, want none", got)
			}
			if n, err := j.Len(ctx); err != nil || n != 0 {
				t.Fatalf("journal holds %d (%v) after the Finish, want none", n, err)
			}
		})
	}
}
