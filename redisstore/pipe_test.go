package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/internal/redistest"
)

// gate is a go-redis hook that records every round trip (a command alone or a pipeline)
// and, once armed, holds the next one until released, so that a test can queue callers
// behind a round trip in flight.
type gate struct {
	mu      sync.Mutex
	armed   bool
	entered chan struct{} // closed when the held pipeline reached the hook
	release chan struct{} // closing it lets the held pipeline go
	sizes   []int         // commands per round trip, in order
	tags    []any         // each round trip's ctx value of tagKey
}

type tagKey struct{}

func (g *gate) arm() {
	g.mu.Lock()
	g.armed, g.entered, g.release = true, make(chan struct{}), make(chan struct{})
	g.mu.Unlock()
}

func (g *gate) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *gate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		g.pass(ctx, 1)
		return next(ctx, cmd)
	}
}

func (g *gate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		g.pass(ctx, len(cmds))
		return next(ctx, cmds)
	}
}

// pass records a round trip of n commands, and holds it if the gate is armed.
func (g *gate) pass(ctx context.Context, n int) {
	g.mu.Lock()
	g.sizes = append(g.sizes, n)
	g.tags = append(g.tags, ctx.Value(tagKey{}))
	hold, entered, release := g.armed, g.entered, g.release
	g.armed = false
	g.mu.Unlock()
	if hold {
		close(entered)
		<-release
	}
}

func (g *gate) pipelines() ([]int, []any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.sizes...), append([]any(nil), g.tags...)
}

func openGated(t *testing.T, srv *redistest.Server) (*Store[int64], *gate) {
	t.Helper()
	g := &gate{}
	st, err := Open(context.Background(), Config[int64]{URL: srv.URL, Codec: Int64Codec{}, Timeout: 10 * time.Second, Hooks: []redis.Hook{g}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, g
}

// waitQueued waits until n callers wait in p's queue, polling: the queue has no event of
// its own to wait on.
func waitQueued(t *testing.T, p *pipe, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p.mu.Lock()
		got := len(p.queue)
		p.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// hold starts a Load that leads a pipeline and is held at the gate, and returns when it is.
func hold(t *testing.T, st *Store[int64], g *gate) <-chan error {
	t.Helper()
	g.arm()
	held := make(chan error, 1)
	go func() { _, err := st.Load(context.Background(), 1); held <- err }()
	select {
	case <-g.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the first pipeline never reached the server")
	}
	return held
}

func TestPipeAloneIsSentAtOnce(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st, g := openGated(t, srv)
	if _, err := st.Load(context.Background(), 1); err != nil { // a connection, the script cached
		t.Fatal(err)
	}
	g.mu.Lock()
	g.sizes, g.tags = nil, nil
	g.mu.Unlock()
	ctx := context.WithValue(context.Background(), tagKey{}, "caller")
	if _, err := st.Load(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// One round trip with the one command, sent on the caller's own goroutine (its context
	// reached the hook): it waited for no company.
	sizes, tags := g.pipelines()
	if fmt.Sprint(sizes) != "[1]" || tags[0] != "caller" {
		t.Fatalf("a caller alone sent round trips of %v commands with contexts %v, want one of 1 with its own", sizes, tags)
	}
	st.pipe.mu.Lock()
	sending := st.pipe.sending
	st.pipe.mu.Unlock()
	if sending {
		t.Fatal("the pipe is still sending after its only caller returned")
	}
}

func TestPipeCoalescesConcurrentCallers(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st, g := openGated(t, srv)
	const journalCap = 10
	j := st.Journal(JournalConfig{Cap: journalCap})
	ctx := context.Background()
	const n = 200 // callers, five kinds; within maxPipeline, so one round trip takes them all
	recs := make([]Record[int64], n)
	for i := range n {
		key := int64(i + 10)
		r, err := st.Load(ctx, key)
		if err == nil {
			recs[i], err = st.Commit(ctx, key, r, Change[int64]{UpdateID: 1, State: 1, Outbox: [][]byte{[]byte("a"), []byte("b")}})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	held := hold(t, st, g)
	// As after a server restart: the round trip below finds no script cached, and must send
	// their source. (A client of its own, so that the gate sees nothing of it.)
	flusher := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer flusher.Close()
	if err := flusher.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		key := int64(i + 10)
		wg.Go(func() {
			switch i % 5 {
			case 0:
				_, errs[i] = st.Commit(ctx, key, recs[i], Change[int64]{UpdateID: 2, State: 2})
			case 1:
				stale := recs[i]
				stale.Version--
				_, errs[i] = st.Commit(ctx, key, stale, Change[int64]{UpdateID: 2, State: 2})
			case 2:
				errs[i] = st.Ack(ctx, key, 1)
			case 3:
				errs[i] = st.AckEntry(ctx, key, Entry{UpdateID: 1, Seq: 0})
			case 4:
				_, errs[i] = j.Append(ctx, []Item{{UpdateID: 1000 + int64(i), Key: key, Raw: []byte("{}")}})
			}
		})
	}
	waitQueued(t, st.pipe, n)
	// One more caller gives up while queued: it gets its own error and is never sent.
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error, 1)
	go func() {
		_, err := st.Commit(cctx, 5, Record[int64]{}, Change[int64]{UpdateID: 1, State: 1})
		gaveUp <- err
	}()
	waitQueued(t, st.pipe, n+1)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("a caller whose context ended while queued: %v, want context.Canceled", err)
	}
	sent, _ := g.pipelines()
	close(g.release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatalf("the held load: %v", err)
	}
	// One round trip took all the waiting callers, and one more their scripts' source
	// (among others: the held load's own, new connections' handshakes, the stale commits'
	// reloads).
	if sizes, _ := g.pipelines(); !slices.Contains(sizes[len(sent):], n) || !slices.Contains(sizes[len(sent):], n/5*3) {
		t.Fatalf("round trips after the held one: %v, want the first of all %d waiting callers, then their %d scripts", sizes[len(sent):], n, n/5*3)
	}
	appended := 0
	for i, err := range errs {
		key := int64(i + 10)
		var want error
		switch i % 5 {
		case 1:
			want = ErrStale
		case 4:
			if err == nil {
				appended++
				continue
			}
			want = ErrJournalFull
		}
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("caller %d (kind %d): %v, want %v", i, i%5, err, want)
		}
		r, lerr := st.Load(ctx, key)
		if lerr != nil {
			t.Fatal(lerr)
		}
		wantOut := map[int]string{0: "[1/0 1/1]", 1: "[1/0 1/1]", 2: "[]", 3: "[1/1]", 4: "[1/0 1/1]"}[i%5]
		if got := entries(r.Outbox); got != wantOut {
			t.Errorf("caller %d (kind %d): outbox %s, want %s", i, i%5, got, wantOut)
		}
	}
	if appended != journalCap {
		t.Errorf("%d single appends succeeded, want the journal's cap, %d", appended, journalCap)
	}
	if r, err := st.Load(ctx, 5); err != nil || r.Version != 0 {
		t.Errorf("the caller that gave up was sent: %+v, %v", r, err)
	}
}

func entries(es []Entry) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = fmt.Sprintf("%d/%d", e.UpdateID, e.Seq)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestPipeFullRedisPerCaller(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Args: []string{"--maxmemory-policy", "noeviction"}})
	st, g := openGated(t, srv)
	j := st.Journal(JournalConfig{})
	ctx := context.Background()
	r, err := st.Load(ctx, 2)
	if err == nil {
		r, err = st.Commit(ctx, 2, r, Change[int64]{UpdateID: 1, State: 1, Outbox: [][]byte{[]byte("a")}})
	}
	if err == nil {
		_, err = j.Append(ctx, []Item{{UpdateID: 50, Key: 3, Raw: []byte("{}")}})
	}
	if err != nil {
		t.Fatal(err)
	}
	c := st.rdb
	used, err := strconv.ParseInt(infoField(t, c, "used_memory"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+(1<<20), 10)).Err(); err != nil {
		t.Fatal(err)
	}
	// Fill it until a write is refused, then lower the bound well under what is used, so
	// that what the finish frees does not let the append in.
	for i := 0; ; i++ {
		err := c.Set(ctx, "junk:"+strconv.Itoa(i), bytes.Repeat([]byte("x"), 64<<10), 0).Err()
		if redis.IsOOMError(err) {
			break
		}
		if err != nil || i > 1000 {
			t.Fatalf("filling redis: %v after %d writes", err, i)
		}
	}
	if err := c.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+(1<<19), 10)).Err(); err != nil {
		t.Fatal(err)
	}

	held := hold(t, st, g)
	calls := []struct {
		name string
		call func() error
		want error
	}{
		{"commit", func() error {
			_, err := st.Commit(ctx, 2, r, Change[int64]{UpdateID: 2, State: 2})
			return err
		}, ErrFull},
		{"append", func() error { _, err := j.Append(ctx, []Item{{UpdateID: 51, Key: 3, Raw: []byte("{}")}}); return err }, ErrFull},
		{"finish", func() error { return j.Finish(ctx, 50) }, nil},
		{"ack", func() error { return st.Ack(ctx, 2, 1) }, nil},
		{"load", func() error { _, err := st.Load(ctx, 2); return err }, nil},
	}
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() { errs[i] = c.call() })
	}
	waitQueued(t, st.pipe, len(calls))
	close(g.release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for i, c := range calls {
		if c.want == nil && errs[i] != nil || c.want != nil && !errors.Is(errs[i], c.want) {
			t.Errorf("%s in a pipeline on a full server: %v, want %v", c.name, errs[i], c.want)
		}
	}
	if got, err := st.Load(ctx, 2); err != nil || got.Version != r.Version || len(got.Outbox) != 0 {
		t.Errorf("after the full round trip key 2 is %+v, %v; want the first commit, acknowledged", got, err)
	}
}

func infoField(t *testing.T, c *redis.Client, field string) string {
	t.Helper()
	for _, line := range strings.Split(c.Info(context.Background(), "memory").Val(), "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO has no %s", field)
	return ""
}

func TestPipePausedRedisTimesOutEveryCaller(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st, err := Open(context.Background(), Config[int64]{URL: srv.URL, Codec: Int64Codec{}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	j := st.Journal(JournalConfig{})
	srv.Pause()
	t.Cleanup(srv.Resume)
	const n = 50
	errs := make(chan error, n)
	for i := range n {
		go func() {
			var err error
			switch i % 3 {
			case 0:
				_, err = st.Commit(context.Background(), int64(i), Record[int64]{}, Change[int64]{UpdateID: 1, State: 1})
			case 1:
				err = st.Ack(context.Background(), int64(i), 1)
			case 2:
				_, err = j.Append(context.Background(), []Item{{UpdateID: int64(i), Key: int64(i), Raw: []byte("{}")}})
			}
			errs <- err
		}()
	}
	deadline := time.After(20 * time.Second) // far past the 200ms timeout: a hang fails
	for range n {
		select {
		case err := <-errs:
			if err == nil {
				t.Fatal("a call to a paused server succeeded")
			}
		case <-deadline:
			t.Fatal("calls to a paused server did not return")
		}
	}
}
