package actors_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/troupebot/troupe/actors"
)

type outcome struct {
	res string
	err error
}

func newPool(tb testing.TB, cfg actors.PoolConfig, work func(context.Context, string) (string, error)) (*actors.Pool[string, string], *actor.ActorSystem) {
	tb.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	cfg.Logger = slog.New(slog.DiscardHandler)
	p := actors.NewPool(system, cfg, work)
	tb.Cleanup(func() {
		p.Close(context.Background())
		system.Shutdown()
	})
	return p, system
}

func submit(tb testing.TB, p *actors.Pool[string, string], req string) <-chan outcome {
	tb.Helper()
	ch := make(chan outcome, 1)
	if err := p.Submit(req, func(res string, err error) { ch <- outcome{res, err} }); err != nil {
		tb.Fatalf("submit %q: %v", req, err)
	}
	return ch
}

func result(tb testing.TB, ch <-chan outcome) outcome {
	tb.Helper()
	o, ok := within(tb, ch, 30*time.Second, "reply")
	if !ok {
		tb.FailNow()
	}
	return o
}

// within receives from ch, failing tb (without stopping it: it may run on another
// goroutine) when nothing comes within d.
func within[T any](tb testing.TB, ch <-chan T, d time.Duration, what string) (T, bool) {
	tb.Helper()
	select {
	case v := <-ch:
		return v, true
	case <-time.After(d):
		tb.Errorf("no %s within %v", what, d)
		var zero T
		return zero, false
	}
}

func TestPoolAnswersEveryJob(t *testing.T) {
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "job_seconds", Buckets: prometheus.ExponentialBuckets(1e-6, 4, 12)})
	p, _ := newPool(t, actors.PoolConfig{Workers: 2, Queue: 1000, Latency: latency}, func(_ context.Context, req string) (string, error) {
		return "done " + req, nil
	})
	var chs []<-chan outcome
	for i := range 500 {
		chs = append(chs, submit(t, p, fmt.Sprint(i)))
	}
	for i, ch := range chs {
		if o := result(t, ch); o.err != nil || o.res != fmt.Sprint("done ", i) {
			t.Fatalf("job %d: %+v", i, o)
		}
	}
	if st := p.Stats(); st.Done != 500 || st.Queued != 0 {
		t.Errorf("stats = %+v", st)
	}
	// Every answer is observed once, with the time it took.
	var m dto.Metric
	if err := latency.Write(&m); err != nil {
		t.Fatal(err)
	}
	if h := m.GetHistogram(); h.GetSampleCount() != 500 || !(h.GetSampleSum() > 0) {
		t.Errorf("latency histogram has %d observations summing to %vs, want 500 above 0", h.GetSampleCount(), h.GetSampleSum())
	}
}

func TestPoolRefusesWhenFull(t *testing.T) {
	release := make(chan struct{})
	p, _ := newPool(t, actors.PoolConfig{Workers: 2, Queue: 4}, func(context.Context, string) (string, error) {
		<-release
		return "ok", nil
	})
	var chs []<-chan outcome
	for i := range 4 {
		chs = append(chs, submit(t, p, fmt.Sprint(i)))
	}
	for range 100 {
		if err := p.Submit("more", func(string, error) { t.Error("a refused job was answered") }); !errors.Is(err, actors.ErrBusy) {
			t.Fatalf("Submit over the queue = %v, want ErrBusy", err)
		}
	}
	if st := p.Stats(); st.Queued != 4 || st.Busy != 100 {
		t.Errorf("stats = %+v: the queue must stay at its bound", st)
	}
	close(release)
	for _, ch := range chs {
		if o := result(t, ch); o.err != nil {
			t.Error(o.err)
		}
	}
	// Room again.
	if o := result(t, submit(t, p, "after")); o.err != nil {
		t.Error(o.err)
	}
}

func TestPoolSurvivesPanics(t *testing.T) {
	p, system := newPool(t, actors.PoolConfig{Workers: 1}, func(_ context.Context, req string) (string, error) {
		if req == "boom" {
			panic("renderer exploded")
		}
		return "ok", nil
	})
	var mu sync.Mutex
	restarts := 0
	system.EventStream.Subscribe(func(evt any) {
		if _, ok := evt.(*actor.SupervisorEvent); ok {
			mu.Lock()
			restarts++
			mu.Unlock()
		}
	})
	// Far more crashes than protoactor's default strategy allows (10 in 10 s) before it
	// would stop the worker for good.
	for i := range 50 {
		if o := result(t, submit(t, p, "boom")); !errors.Is(o.err, actors.ErrWorkerCrashed) {
			t.Fatalf("crash %d answered %+v, want ErrWorkerCrashed", i, o)
		}
		if o := result(t, submit(t, p, "fine")); o.err != nil || o.res != "ok" {
			t.Fatalf("after crash %d: %+v", i, o)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if restarts != 50 {
		t.Errorf("%d restart events, want 50", restarts)
	}
	if st := p.Stats(); st.Crashed != 50 || st.Queued != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestPoolDeadline passes each job's deadline on the pool's injected timer: the job is
// answered with the deadline then, whether its work honours its context or not, and not
// before.
func TestPoolDeadline(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	deadlines := make(chan func(), 2)
	p, _ := newPool(t, actors.PoolConfig{Workers: 2, Deadline: time.Hour, AfterFunc: func(d time.Duration, f func()) {
		if d != time.Hour {
			t.Errorf("deadline timer set for %v, want the configured hour", d)
		}
		deadlines <- f
	}}, func(ctx context.Context, req string) (string, error) {
		if req == "ignores its context" {
			<-stuck
			return "too late", nil
		}
		<-ctx.Done()
		return "", ctx.Err()
	})
	for _, req := range []string{"honours its context", "ignores its context"} {
		ch := submit(t, p, req)
		pass := <-deadlines
		select {
		case o := <-ch:
			t.Fatalf("%s: answered %+v before its deadline", req, o)
		default:
		}
		pass()
		if o := result(t, ch); !errors.Is(o.err, context.DeadlineExceeded) {
			t.Errorf("%s: %+v, want the deadline", req, o)
		}
	}
	if st := p.Stats(); st.TimedOut != 2 || st.Failed != 2 || st.Queued != 0 {
		t.Errorf("stats = %+v, want 2 timed out", st)
	}
}
