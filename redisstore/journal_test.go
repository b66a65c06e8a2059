package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
)

func openJournal(tb testing.TB, url string, tweak ...func(*redisstore.JournalConfig)) *redisstore.Journal {
	tb.Helper()
	return mustOpen(tb, redisstore.OpenJournal, redisstore.JournalConfig{URL: url, Timeout: 2 * time.Second}, tweak...)
}

// mustOpen opens a store or a journal with cfg as tweak changes it, closed at cleanup.
func mustOpen[C any, T interface{ Close() error }](tb testing.TB, open func(context.Context, C) (T, error), cfg C, tweak ...func(*C)) T {
	tb.Helper()
	for _, f := range tweak {
		f(&cfg)
	}
	v, err := open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("open %T: %v", cfg, err) // not cfg itself: its URL may hold a password
	}
	tb.Cleanup(func() { _ = v.Close() })
	return v
}

// update is the item of update id: routed by a key of its own, raw bytes naming both.
func update(id int64) redisstore.Item {
	key := id%7 - 3 // users and groups (negative ids)
	return redisstore.Item{UpdateID: id, Key: key, Raw: fmt.Appendf(nil, `{"update_id":%d,"from":%d}`, id, key)}
}

func updates(ids ...int64) []redisstore.Item {
	items := make([]redisstore.Item, len(ids))
	for i, id := range ids {
		items[i] = update(id)
	}
	return items
}

func mustAppend(tb testing.TB, j *redisstore.Journal, want int, items ...redisstore.Item) {
	tb.Helper()
	n, err := j.Append(context.Background(), items)
	if err != nil || n != want {
		tb.Fatalf("append of %d updates = %d, %v; want %d added", len(items), n, err, want)
	}
}

func mustFinish(tb testing.TB, j *redisstore.Journal, ids ...int64) {
	tb.Helper()
	if err := j.Finish(context.Background(), ids...); err != nil {
		tb.Fatalf("finish %v: %v", ids, err)
	}
}

// pendingIDs pages through the whole journal, n at a time, checking each item's key and
// bytes against what update wrote for its id.
func pendingIDs(tb testing.TB, j *redisstore.Journal, n int) []int64 {
	tb.Helper()
	var ids []int64
	after := int64(0)
	for {
		page, err := j.Pending(context.Background(), after, n)
		if err != nil {
			tb.Fatalf("pending after %d: %v", after, err)
		}
		if len(page) > n {
			tb.Fatalf("pending after %d: %d items, asked for %d", after, len(page), n)
		}
		if len(page) == 0 {
			return ids
		}
		for _, it := range page {
			if want := update(it.UpdateID); it.Key != want.Key || !bytes.Equal(it.Raw, want.Raw) {
				tb.Fatalf("pending item %d = key %d %q, want key %d %q", it.UpdateID, it.Key, it.Raw, want.Key, want.Raw)
			}
			ids = append(ids, it.UpdateID)
		}
		after = page[len(page)-1].UpdateID
	}
}

func mustStats(tb testing.TB, j *redisstore.Journal) redisstore.JournalStats {
	tb.Helper()
	s, err := j.Stats(context.Background())
	if err != nil {
		tb.Fatalf("stats: %v", err)
	}
	return s
}

func TestJournalOrderAndPaging(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	j := openJournal(t, srv.URL)
	// Ids that sort differently as text than as numbers, appended out of order.
	mustAppend(t, j, 4, updates(10, 9, 1<<40, 300)...)
	mustAppend(t, j, 3, updates(11, 2, 100_000)...)
	want := "[2 9 10 11 300 100000 1099511627776]"
	for _, n := range []int{1, 2, 3, 7, 1000} {
		if got := fmt.Sprint(pendingIDs(t, j, n)); got != want {
			t.Fatalf("pending in pages of %d = %s, want %s", n, got, want)
		}
	}
	page, err := j.Pending(context.Background(), 10, 2)
	if err != nil || fmt.Sprint(ids(page)) != "[11 300]" {
		t.Fatalf("pending after 10, 2 of them = %v, %v; want [11 300]", ids(page), err)
	}
	var bytes int64
	for _, it := range updates(2, 9, 10, 11, 300, 100_000, 1<<40) {
		bytes += int64(8 + len(it.Raw))
	}
	if s := mustStats(t, j); s.Len != 7 || s.Bytes != bytes || s.Remembered != 0 {
		t.Fatalf("stats = %+v, want 7 pending in %d bytes", s, bytes)
	}
	if _, err := j.Append(context.Background(), updates(0)); err == nil {
		t.Fatal("append of update id 0: no error")
	}
}

func ids(items []redisstore.Item) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = it.UpdateID
	}
	return out
}

func TestJournalSkipsDuplicates(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	j := openJournal(t, srv.URL, func(c *redisstore.JournalConfig) { c.Remember = 3 })
	first := update(5)
	twin := first
	twin.Raw = []byte("a second copy, which must not replace the first")
	steps := []struct {
		name    string
		do      func() (int, error)
		added   int
		pending string
	}{
		{"twice in one batch", func() (int, error) {
			return j.Append(context.Background(), []redisstore.Item{first, update(6), twin, update(6)})
		}, 2, "[5 6]"},
		{"again in the next batch", func() (int, error) {
			return j.Append(context.Background(), append(updates(6, 7), twin))
		}, 1, "[5 6 7]"},
		{"finish", func() (int, error) { return 0, j.Finish(context.Background(), 5, 6) }, 0, "[7]"},
		{"finish again, and ids never journaled", func() (int, error) { return 0, j.Finish(context.Background(), 5, 6, 99) }, 0, "[7]"},
		{"a re-send after finish", func() (int, error) { return j.Append(context.Background(), updates(5, 6, 7, 8)) }, 1, "[7 8]"},
		// Finished ids beyond Remember are forgotten: the oldest is journaled again, and the
		// store's per-key deduplication refuses to apply it twice.
		{"finish past Remember", func() (int, error) { return 0, j.Finish(context.Background(), 7, 8) }, 0, "[]"},
		{"a re-send of forgotten and remembered ids", func() (int, error) {
			return j.Append(context.Background(), updates(5, 6, 7, 8))
		}, 1, "[5]"},
	}
	for _, s := range steps {
		n, err := s.do()
		if err != nil || n != s.added {
			t.Fatalf("%s: added %d, %v; want %d", s.name, n, err, s.added)
		}
		if got := fmt.Sprint(pendingIDs(t, j, 10)); got != s.pending {
			t.Fatalf("%s: pending %s, want %s", s.name, got, s.pending)
		}
	}
	if s := mustStats(t, j); s.Remembered != 3 || s.Bytes != int64(8+len(first.Raw)) {
		t.Fatalf("stats = %+v, want 3 remembered and update 5's bytes", s)
	}
}

func TestJournalFullRefusesWholeBatch(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	bounds := []struct {
		name string
		cfg  func(*redisstore.JournalConfig)
	}{
		{"cap", func(c *redisstore.JournalConfig) { c.Cap = 5 }},
		{"bytes", func(c *redisstore.JournalConfig) {
			c.MaxBytes = 0
			for _, it := range updates(1, 2, 3, 4, 5) {
				c.MaxBytes += int64(8 + len(it.Raw))
			}
		}},
	}
	for i, b := range bounds {
		t.Run(b.name, func(t *testing.T) {
			j := openJournal(t, srv.URL, b.cfg, func(c *redisstore.JournalConfig) { c.Prefix = "full" + strconv.Itoa(i) })
			// Six new updates exceed either bound on an empty journal: split, not wait.
			if _, err := j.Append(ctx, updates(1, 2, 3, 4, 5, 6)); !errors.Is(err, redisstore.ErrBatchTooLarge) {
				t.Fatalf("append of a batch past the bound on an empty journal: %v, want ErrBatchTooLarge", err)
			}
			mustAppend(t, j, 3, updates(1, 2, 3)...)
			before := mustStats(t, j)
			// Two new updates fit, three do not; the duplicate in the batch takes no room.
			n, err := j.Append(ctx, updates(3, 4, 5, 6))
			if !errors.Is(err, redisstore.ErrJournalFull) || n != 0 {
				t.Fatalf("append past the bound = %d, %v; want ErrJournalFull", n, err)
			}
			if got := mustStats(t, j); got != before {
				t.Fatalf("a refused batch changed the journal: %+v, was %+v", got, before)
			}
			mustAppend(t, j, 2, updates(3, 4, 5)...)
			if _, err := j.Append(ctx, updates(6)); !errors.Is(err, redisstore.ErrJournalFull) {
				t.Fatalf("append to a full journal: %v, want ErrJournalFull", err)
			}
			// A batch of re-sends only is no news and no error, full or not.
			mustAppend(t, j, 0, updates(1, 5)...)
			mustFinish(t, j, 1)
			mustAppend(t, j, 1, updates(6)...)
			if got := fmt.Sprint(pendingIDs(t, j, 10)); got != "[2 3 4 5 6]" {
				t.Fatalf("pending %s, want [2 3 4 5 6]", got)
			}
		})
	}
}

func TestJournalOutOfMemory(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Args: []string{"--maxmemory-policy", "noeviction"}})
	j := openJournal(t, srv.URL, func(c *redisstore.JournalConfig) { c.MaxBytes = 1 << 40; c.Cap = 1 << 30 })
	c := raw(t, srv)
	ctx := context.Background()
	if err := c.ConfigSet(ctx, "maxmemory", strconv.FormatInt(usedMemory(t, c)+(1<<20), 10)).Err(); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 16<<10)
	batch := func(first int64) []redisstore.Item {
		items := make([]redisstore.Item, 4)
		for i := range items {
			items[i] = redisstore.Item{UpdateID: first + int64(i), Key: 1, Raw: big}
		}
		return items
	}
	var full error
	var id int64 = 1
	for ; id < 10_000 && full == nil; id += 4 {
		before := mustStats(t, j)
		_, full = j.Append(ctx, batch(id))
		if full != nil && mustStats(t, j) != before {
			t.Fatalf("the refused batch changed the journal: %+v, was %+v", mustStats(t, j), before)
		}
	}
	id -= 4
	if !errors.Is(full, redisstore.ErrFull) || !strings.Contains(full.Error(), "OOM") {
		t.Fatalf("filling redis: err = %v, want ErrFull saying OOM", full)
	}
	page, err := j.Pending(ctx, id-1, 10)
	if err != nil || len(page) != 0 {
		t.Fatalf("pending from the refused batch = %v, %v; want none, readable while full", ids(page), err)
	}
	// Draining works while full, and makes room.
	s := mustStats(t, j)
	all := make([]int64, 0, s.Len)
	for i := int64(1); i < id; i++ {
		all = append(all, i)
	}
	mustFinish(t, j, all...)
	mustAppend(t, j, 4, batch(id)...)
}

func TestJournalPausedRedisTimesOut(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	j := openJournal(t, srv.URL, func(c *redisstore.JournalConfig) { c.Timeout = 200 * time.Millisecond })
	mustAppend(t, j, 1, update(1))
	srv.Pause()
	t.Cleanup(srv.Resume)
	ctx := context.Background()
	calls := map[string]func() error{
		"append":  func() error { _, err := j.Append(ctx, updates(2)); return err },
		"pending": func() error { _, err := j.Pending(ctx, 0, 10); return err },
		"finish":  func() error { return j.Finish(ctx, 1) },
		"stats":   func() error { _, err := j.Stats(ctx); return err },
	}
	failOnPause(t, calls)
	srv.Resume()
	eventually(t, "stats after resume", func() error { _, err := j.Stats(ctx); return err })
	// A call that timed out may still have run once the server woke; whichever did, the
	// journal reads whole.
	pendingIDs(t, j, 10)
}

// failOnPause runs each call against a paused server, whose client has a 200ms timeout,
// and fails t unless every call returns an error, and in time.
func failOnPause(t *testing.T, calls map[string]func() error) {
	t.Helper()
	for name, call := range calls {
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("%s on a paused redis: no error", name)
			}
		case <-time.After(10 * time.Second): // a hang guard, fifty times the timeout
			t.Fatalf("%s on a paused redis still waits after 10s; its timeout is 200ms", name)
		}
	}
}

func TestJournalSurvivesRedisRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Persist: true})
	j := openJournal(t, srv.URL)
	ctx := context.Background()
	mustAppend(t, j, 5, updates(1, 2, 3, 4, 5)...)
	mustFinish(t, j, 2, 4)
	before := mustStats(t, j)
	srv.Kill()
	if _, err := j.Append(ctx, updates(6)); err == nil {
		t.Fatal("append while redis is down: no error")
	}
	if err := j.Ping(ctx); err == nil {
		t.Fatal("ping while redis is down: no error")
	}
	srv.Restart()
	eventually(t, "ping after the restart", func() error { return j.Ping(ctx) })
	if got := fmt.Sprint(pendingIDs(t, j, 2)); got != "[1 3 5]" {
		t.Fatalf("after the restart, pending %s, want [1 3 5]", got)
	}
	if got := mustStats(t, j); got != before {
		t.Fatalf("after the restart, stats %+v, want %+v", got, before)
	}
	// The finished ids are remembered across the restart; the script cache is not, and
	// EVALSHA falls back to EVAL.
	mustAppend(t, j, 1, updates(2, 4, 5, 6)...)
}

func TestJournalConcurrentAppenders(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a, b := openJournal(t, srv.URL), openJournal(t, srv.URL)
	const total, batch = 2000, 10
	var wg sync.WaitGroup
	added := make([]int, 2)
	errs := make([]error, 2)
	for w, j := range []*redisstore.Journal{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Both appenders send every id, in batches that straddle each other's.
			for first := int64(1 + w*batch/2); first <= total; first += batch {
				var items []redisstore.Item
				for id := first; id < first+batch && id <= total; id++ {
					items = append(items, update(id))
				}
				n, err := j.Append(context.Background(), items)
				if err != nil {
					errs[w] = err
					return
				}
				added[w] += n
			}
			if w == 1 { // the first few ids, which appender 1 skipped
				n, err := j.Append(context.Background(), updates(1, 2, 3, 4, 5))
				added[w], errs[w] = added[w]+n, err
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if added[0]+added[1] != total {
		t.Fatalf("appenders added %d + %d, want %d in all", added[0], added[1], total)
	}
	got := pendingIDs(t, a, 1000)
	if len(got) != total {
		t.Fatalf("%d pending, want %d", len(got), total)
	}
	for i, id := range got {
		if id != int64(i+1) {
			t.Fatalf("pending[%d] = %d, want %d", i, id, i+1)
		}
	}
}

func TestStoreJournalSharesTheClient(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st := open(t, srv.URL)
	j := st.Journal(redisstore.JournalConfig{Cap: 2})
	mustAppend(t, j, 2, updates(1, 2)...)
	if _, err := j.Append(context.Background(), updates(3)); !errors.Is(err, redisstore.ErrJournalFull) {
		t.Fatalf("append past Cap 2: %v, want ErrJournalFull", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing the journal left the store's connections alone; the commit, going with the
	// journal, finished its update there.
	mustCommit(t, st, 1, mustLoad(t, st, 1), redisstore.Change[int64]{UpdateID: 1, State: 1})
	if got := fmt.Sprint(pendingIDs(t, j, 10)); got != "[2]" {
		t.Fatalf("pending %s, want [2]", got)
	}
}
