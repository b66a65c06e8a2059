package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
)

func open(tb testing.TB, url string, tweak ...func(*redisstore.Config[int64])) *redisstore.Store[int64] {
	tb.Helper()
	return mustOpen(tb, redisstore.Open[int64], redisstore.Config[int64]{URL: url, Codec: redisstore.Int64Codec{}, Timeout: 2 * time.Second}, tweak...)
}

// raw is a plain client for looking at (and damaging) what the store wrote.
func raw(tb testing.TB, srv *redistest.Server) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(srv.URL)
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func mustLoad(tb testing.TB, st *redisstore.Store[int64], key int64) redisstore.Record[int64] {
	tb.Helper()
	r, err := st.Load(context.Background(), key)
	if err != nil {
		tb.Fatalf("load %d: %v", key, err)
	}
	return r
}

func mustCommit(tb testing.TB, st *redisstore.Store[int64], key int64, prev redisstore.Record[int64], ch redisstore.Change[int64]) redisstore.Record[int64] {
	tb.Helper()
	next, err := st.Commit(context.Background(), key, prev, ch)
	if err != nil {
		tb.Fatalf("commit %d update %d: %v", key, ch.UpdateID, err)
	}
	return next
}

// dump is every key the store wrote for one user, with its content.
func dump(tb testing.TB, c *redis.Client, key int64) string {
	tb.Helper()
	ctx := context.Background()
	p := "troupe:{" + strconv.FormatInt(key, 10) + "}:"
	var b strings.Builder
	fmt.Fprintf(&b, "rec=%v ", c.HGetAll(ctx, p+"rec").Val())
	fmt.Fprintf(&b, "log=%q ", c.LRange(ctx, p+"log", 0, -1).Val())
	fmt.Fprintf(&b, "out=%q", c.ZRange(ctx, p+"out", 0, -1).Val())
	return b.String()
}

func TestCommitLoadCompaction(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st := open(t, srv.URL, func(c *redisstore.Config[int64]) { c.MaxDeltas = 3 })
	c := raw(t, srv)
	ctx := context.Background()
	const key = -100123 // a group's chat id
	r := mustLoad(t, st, key)
	if r.Version != 0 || r.State != 0 || r.UpdateID != 0 || len(r.Outbox) != 0 {
		t.Fatalf("load of a new key = %+v, want the zero record", r)
	}
	for i := int64(1); i <= 10; i++ {
		r = mustCommit(t, st, key, r, redisstore.Change[int64]{UpdateID: 100 + i, State: i * i})
		if r.Version != i {
			t.Fatalf("after commit %d: version %d", i, r.Version)
		}
		got := mustLoad(t, st, key)
		if got.State != i*i || got.Version != i || got.UpdateID != 100+i {
			t.Fatalf("after commit %d: load = %+v, want state %d version %d update %d", i, got, i*i, i, 100+i)
		}
		// Commits 1, 5, 9 write snapshots; three deltas follow each.
		if n, want := c.LLen(ctx, "troupe:{-100123}:log").Val(), (i-1)%4; n != want {
			t.Fatalf("after commit %d: journal of %d deltas, want %d", i, n, want)
		}
	}
	// A record Commit returned is as good as a loaded one for the next commit.
	r = mustCommit(t, st, key, r, redisstore.Change[int64]{UpdateID: 200, State: 7})
	if got := mustLoad(t, st, key); got.State != 7 || got.Version != 11 {
		t.Fatalf("load = %+v, want state 7 version 11", got)
	}
}

func TestStaleWriterIsRefused(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a, b := open(t, srv.URL), open(t, srv.URL)
	c := raw(t, srv)
	ctx := context.Background()
	r := mustCommit(t, a, 1, mustLoad(t, a, 1), redisstore.Change[int64]{UpdateID: 10, State: 1})

	ra, rb := mustLoad(t, a, 1), mustLoad(t, b, 1)
	before := dump(t, c, 1)
	if _, err := a.Commit(ctx, 1, ra, redisstore.Change[int64]{UpdateID: 11, State: 2, Outbox: [][]byte{[]byte("from a")}}); err != nil {
		t.Fatalf("first writer: %v", err)
	}
	afterA := dump(t, c, 1)
	_, err := b.Commit(ctx, 1, rb, redisstore.Change[int64]{UpdateID: 12, State: 99, Outbox: [][]byte{[]byte("from b")}})
	if !errors.Is(err, redisstore.ErrStale) {
		t.Fatalf("second writer on version %d: err = %v, want ErrStale", rb.Version, err)
	}
	if got := dump(t, c, 1); got != afterA || got == before {
		t.Fatalf("the stale writer changed the store:\nbefore %s\nafter  %s", afterA, got)
	}
	got := mustLoad(t, b, 1)
	if got.State != 2 || got.Version != r.Version+1 || len(got.Outbox) != 1 || string(got.Outbox[0].Data) != "from a" {
		t.Fatalf("load = %+v, want a's commit only", got)
	}
	// Reloaded, the second writer commits.
	mustCommit(t, b, 1, got, redisstore.Change[int64]{UpdateID: 12, State: 3})
}

func TestDuplicateUpdateIsRefused(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st := open(t, srv.URL)
	c := raw(t, srv)
	ctx := context.Background()
	r := mustCommit(t, st, 5, mustLoad(t, st, 5), redisstore.Change[int64]{UpdateID: 50, State: 1,
		Outbox: [][]byte{[]byte("#1 hello"), []byte("chart")}})
	before := dump(t, c, 5)
	for _, id := range []int64{50, 49} {
		_, err := st.Commit(ctx, 5, r, redisstore.Change[int64]{UpdateID: id, State: 2, Outbox: [][]byte{[]byte("again")}})
		if !errors.Is(err, redisstore.ErrDuplicate) {
			t.Fatalf("commit of update %d after 50: err = %v, want ErrDuplicate", id, err)
		}
		if got := dump(t, c, 5); got != before {
			t.Fatalf("a refused duplicate wrote:\nbefore %s\nafter  %s", before, got)
		}
	}
	out, err := st.Outbox(ctx, 5)
	if err != nil || len(out) != 2 || out[0].UpdateID != 50 || string(out[1].Data) != "chart" {
		t.Fatalf("outbox = %+v, %v; want update 50's two replies", out, err)
	}
}

func TestOutboxStaysUntilAcked(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st := open(t, srv.URL)
	ctx := context.Background()
	r := mustLoad(t, st, 7)
	// Update ids that sort differently as text than as numbers.
	for _, id := range []int64{9, 10, 300, 1 << 40} {
		r = mustCommit(t, st, 7, r, redisstore.Change[int64]{UpdateID: id, State: id,
			Outbox: [][]byte{fmt.Appendf(nil, "%d/0", id), fmt.Appendf(nil, "%d/1", id), {}}})
	}
	pending := func() string {
		t.Helper()
		var s []string
		for _, e := range mustLoad(t, st, 7).Outbox {
			if want := fmt.Sprintf("%d/%d", e.UpdateID, e.Seq); len(e.Data) > 0 && string(e.Data) != want {
				t.Fatalf("entry %d/%d holds %q", e.UpdateID, e.Seq, e.Data)
			}
			s = append(s, fmt.Sprintf("%d/%d", e.UpdateID, e.Seq))
		}
		return strings.Join(s, " ")
	}
	if got, want := pending(), "9/0 9/1 9/2 10/0 10/1 10/2 300/0 300/1 300/2 1099511627776/0 1099511627776/1 1099511627776/2"; got != want {
		t.Fatalf("outbox = %s\nwant     %s", got, want)
	}
	if err := st.AckEntry(ctx, 7, redisstore.Entry{UpdateID: 9, Seq: 0}); err != nil {
		t.Fatal(err)
	}
	if err := st.Ack(ctx, 7, 10); err != nil {
		t.Fatal(err)
	}
	if err := st.AckEntry(ctx, 7, redisstore.Entry{UpdateID: 300, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if got, want := pending(), "9/1 9/2 300/0 300/2 1099511627776/0 1099511627776/1 1099511627776/2"; got != want {
		t.Fatalf("after acks, outbox = %s\nwant                 %s", got, want)
	}
}

func TestCorruptRecordIsNeverOverwritten(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st := open(t, srv.URL)
	c := raw(t, srv)
	ctx := context.Background()
	damage := []struct {
		name string
		f    func(p string)
	}{
		{"a codec from the future", func(p string) { c.RPush(ctx, p+"log", "\x09\x02"); c.HIncrBy(ctx, p+"rec", "n", 1) }},
		{"garbled bytes", func(p string) { c.RPush(ctx, p+"log", "\x01\xff\xff"); c.HIncrBy(ctx, p+"rec", "n", 1) }},
		{"a lost journal", func(p string) { c.Del(ctx, p+"log") }},
		{"a version not a number", func(p string) { c.HSet(ctx, p+"rec", "v", "x") }},
	}
	for i, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			key := int64(80 + i)
			// A writer holding an older version, and one that found nothing (a fresh
			// activation whose load failed), are refused with ErrCorrupt, not ErrStale.
			r := mustCommit(t, st, key, mustLoad(t, st, key), redisstore.Change[int64]{UpdateID: 1, State: 1})
			mustCommit(t, st, key, r, redisstore.Change[int64]{UpdateID: 2, State: 2})
			d.f("troupe:{" + strconv.FormatInt(key, 10) + "}:")
			before := dump(t, c, key)
			_, err := st.Load(ctx, key)
			if !errors.Is(err, redisstore.ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("key %d", key)) {
				t.Fatalf("load: err = %v, want ErrCorrupt naming key %d", err, key)
			}
			for _, prev := range []redisstore.Record[int64]{{}, r} {
				_, err = st.Commit(ctx, key, prev, redisstore.Change[int64]{UpdateID: 3, State: 3})
				if !errors.Is(err, redisstore.ErrCorrupt) {
					t.Fatalf("commit on version %d: err = %v, want ErrCorrupt", prev.Version, err)
				}
			}
			if got := dump(t, c, key); got != before {
				t.Fatalf("the corrupt record changed:\nbefore %s\nafter  %s", before, got)
			}
		})
	}
}

func TestAuthFromURL(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: "s3cret"})
	st := open(t, srv.URL)
	mustCommit(t, st, 1, mustLoad(t, st, 1), redisstore.Change[int64]{UpdateID: 1, State: 1})
	for _, url := range []string{"redis://" + srv.Addr, "redis://:wrong@" + srv.Addr} {
		_, err := redisstore.Open(context.Background(), redisstore.Config[int64]{URL: url, Codec: redisstore.Int64Codec{}})
		if err == nil {
			t.Fatalf("open %s: no error, want an auth failure", url)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Fatalf("the error repeats the password: %v", err)
		}
	}
	if _, err := redisstore.Open(context.Background(), redisstore.Config[int64]{URL: "http://" + srv.Addr, Codec: redisstore.Int64Codec{}}); err == nil {
		t.Fatal("open of an http:// URL: no error")
	}
}

// eventually retries f until it succeeds, for at most 10 s.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after 10s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval, not a wait for a result
	}
}

func TestRedisRestartedMidUse(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Persist: true})
	st := open(t, srv.URL)
	ctx := context.Background()
	r := mustLoad(t, st, 3)
	for i := int64(1); i <= 5; i++ {
		r = mustCommit(t, st, 3, r, redisstore.Change[int64]{UpdateID: i, State: i, Outbox: [][]byte{[]byte("reply")}})
	}
	srv.Kill()
	if _, err := st.Load(ctx, 3); err == nil {
		t.Fatal("load while redis is down: no error")
	}
	if _, err := st.Commit(ctx, 3, r, redisstore.Change[int64]{UpdateID: 6, State: 6}); err == nil {
		t.Fatal("commit while redis is down: no error")
	}
	if err := st.Ping(ctx); err == nil {
		t.Fatal("ping while redis is down: no error")
	}
	srv.Restart()
	eventually(t, "ping after the restart", func() error { return st.Ping(ctx) })
	got := mustLoad(t, st, 3)
	if got.State != 5 || got.Version != 5 || got.UpdateID != 5 || len(got.Outbox) != 5 {
		t.Fatalf("after the restart, load = %+v, want all 5 commits", got)
	}
	// The script cache is gone with the old process: EVALSHA falls back to EVAL.
	mustCommit(t, st, 3, got, redisstore.Change[int64]{UpdateID: 6, State: 6})
}

func TestPausedRedisTimesOut(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st := open(t, srv.URL, func(c *redisstore.Config[int64]) { c.Timeout = 200 * time.Millisecond })
	r := mustCommit(t, st, 1, mustLoad(t, st, 1), redisstore.Change[int64]{UpdateID: 1, State: 1})
	srv.Pause()
	t.Cleanup(srv.Resume)
	calls := map[string]func() error{
		"load": func() error { _, err := st.Load(context.Background(), 1); return err },
		"commit": func() error {
			_, err := st.Commit(context.Background(), 1, r, redisstore.Change[int64]{UpdateID: 2, State: 2})
			return err
		},
		"ack": func() error { return st.Ack(context.Background(), 1, 1) },
	}
	failOnPause(t, calls)
	srv.Resume()
	eventually(t, "load after resume", func() error { _, err := st.Load(context.Background(), 1); return err })
}

func TestFullRedisRefusesWholeCommits(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Args: []string{"--maxmemory-policy", "noeviction"}})
	st := open(t, srv.URL, func(c *redisstore.Config[int64]) { c.MaxDeltas = 1 << 30; c.MaxDeltaBytes = 1 << 30 })
	c := raw(t, srv)
	ctx := context.Background()
	if err := c.ConfigSet(ctx, "maxmemory", strconv.FormatInt(usedMemory(t, c)+(1<<20), 10)).Err(); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 16<<10)
	var full error
	var last redisstore.Record[int64] // what the key holds after its last commit that was not refused
	var key int64
	for key = 1; key < 10_000 && full == nil; key++ {
		// Each key takes a small commit, then a large one with replies. Either may be the
		// first refused: the server refuses a script when its memory is over the limit as the
		// script starts, so where that falls depends on how much Lua and the client
		// buffers hold at that moment.
		last = mustLoad(t, st, key)
		r, err := st.Commit(ctx, key, last, redisstore.Change[int64]{UpdateID: 1, State: key})
		if err != nil {
			full = err
			break
		}
		last = r
		_, full = st.Commit(ctx, key, r, redisstore.Change[int64]{UpdateID: 2, State: key + 1, Outbox: [][]byte{big, big}})
	}
	if full != nil && last.Version > 0 {
		key-- // the loop moved on past the key of the refused large commit
	}
	if !errors.Is(full, redisstore.ErrFull) {
		t.Fatalf("filling redis: err = %v, want ErrFull", full)
	}
	if !strings.Contains(full.Error(), "OOM") {
		t.Fatalf("the error does not say redis is out of memory: %v", full)
	}
	got, err := st.Load(ctx, key)
	if err != nil || got.Version != last.Version || got.State != last.State || len(got.Outbox) != 0 {
		t.Fatalf("after the refused commit, load = %+v, %v; want version %d, state %d, no outbox", got, err, last.Version, last.State)
	}
}
