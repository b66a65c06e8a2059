package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Pool errors, answered to a job instead of its result.
var (
	// ErrBusy refuses a job because the pool's queue is full: the caller should tell the
	// user to try again rather than wait in an ever longer line.
	ErrBusy = errors.New("actors: pool busy")
	// ErrWorkerCrashed answers a job whose worker panicked; the worker was restarted.
	ErrWorkerCrashed = errors.New("actors: pool worker crashed")
	// ErrPoolClosed refuses jobs after Close.
	ErrPoolClosed = errors.New("actors: pool closed")
)

// PoolConfig tunes a Pool. The zero value is usable.
type PoolConfig struct {
	// Workers is the number of worker actors; 0 means GOMAXPROCS, since work such as
	// rendering a chart is CPU-bound.
	Workers int
	// Queue bounds the jobs waiting or running; past it Submit returns ErrBusy. 0 means
	// 8 × Workers.
	Queue int
	// Deadline bounds one job from Submit to reply; the job's context carries it, and a
	// job not answered by then is answered with context.DeadlineExceeded. 0 means 10s.
	Deadline time.Duration
	// Logger receives worker crashes; nil means slog.Default().
	Logger *slog.Logger
	// Latency, when set, observes each answered job's time from Submit to its answer, in
	// seconds. The pool keeps no latencies itself: a histogram (a prometheus.Histogram
	// fits) gives percentiles at a fixed cost, where a pool-kept sample had to be sorted
	// on every read.
	Latency Observer
	// AfterFunc replaces time.AfterFunc, which answers a job at its deadline and cancels its
	// context, so tests can pass the deadline without waiting it out.
	AfterFunc func(d time.Duration, f func())
}

// Observer receives observations, such as job latencies in seconds. It is
// prometheus.Observer's one method, declared here so the runtime need not know what
// exports the figures.
type Observer interface {
	Observe(float64)
}

// Pool runs jobs on a fixed set of worker actors under one supervisor actor, which hands
// each job to the least busy worker. It is bounded: at most Queue jobs wait or run, so a
// flood of requests gets ErrBusy instead of growing memory. A worker that panics is
// restarted and its job answered with ErrWorkerCrashed, however often it happens.
//
// protoactor's router pools are not used here: their routees are supervised by the
// router's default strategy, which stops a routee for good after 10 crashes in 10 s while
// the router keeps sending it work.
type Pool[Req, Res any] struct {
	cfg    PoolConfig
	log    *slog.Logger
	system *actor.ActorSystem
	work   func(context.Context, Req) (Res, error)
	pid    *actor.PID
	closed atomic.Bool

	queued                            atomic.Int64
	done, failed, busy, crashed, late atomic.Int64
}

// PoolStats is a snapshot of a Pool's counters.
type PoolStats struct {
	Workers, Capacity int
	Queued            int64 // jobs waiting or running now
	Done              int64 // jobs answered with a result
	Failed            int64 // jobs answered with an error (crashes and timeouts included)
	Busy              int64 // jobs refused with ErrBusy
	Crashed           int64 // worker panics
	TimedOut          int64 // jobs answered at their deadline
}

type job[Req, Res any] struct {
	req      Req
	reply    func(Res, error)
	start    time.Time
	ctx      context.Context // ends at the deadline, or when the job is answered
	cancel   context.CancelFunc
	answered atomic.Bool
	worker   int
}

// NewPool starts a pool of workers running work, as actors of system.
func NewPool[Req, Res any](system *actor.ActorSystem, cfg PoolConfig, work func(context.Context, Req) (Res, error)) *Pool[Req, Res] {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 8 * cfg.Workers
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	p := &Pool[Req, Res]{cfg: cfg, log: cfg.Logger, system: system, work: work}
	p.pid = system.Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor {
		return &poolSupervisor[Req, Res]{pool: p}
	}), "pool")
	return p
}

// Submit queues req; reply is called exactly once, with the result or an error, from a
// worker or a timer goroutine. When the queue is full it returns ErrBusy and never calls
// reply.
func (p *Pool[Req, Res]) Submit(req Req, reply func(Res, error)) error {
	if p.closed.Load() {
		return ErrPoolClosed
	}
	if p.queued.Add(1) > int64(p.cfg.Queue) {
		p.queued.Add(-1)
		p.busy.Add(1)
		return fmt.Errorf("%w: %d jobs queued", ErrBusy, p.cfg.Queue)
	}
	now := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(p.cfg.Deadline))
	j := &job[Req, Res]{req: req, reply: reply, start: now, ctx: ctx, cancel: cancel}
	// A job whose worker is stuck past the deadline (work that ignores its context) is
	// still answered on time; the worker's late result is dropped.
	p.cfg.AfterFunc(p.cfg.Deadline, func() {
		var zero Res
		if p.answer(j, zero, fmt.Errorf("job not done within %v: %w", p.cfg.Deadline, context.DeadlineExceeded)) {
			p.late.Add(1)
		}
	})
	p.system.Root.Send(p.pid, j)
	return nil
}

// answer replies to j unless it was answered already; it reports whether it did.
func (p *Pool[Req, Res]) answer(j *job[Req, Res], res Res, err error) bool {
	if j.answered.Swap(true) {
		return false
	}
	j.cancel()
	p.queued.Add(-1)
	if err != nil {
		p.failed.Add(1)
	} else {
		p.done.Add(1)
	}
	if p.cfg.Latency != nil {
		p.cfg.Latency.Observe(time.Since(j.start).Seconds())
	}
	j.reply(res, err)
	return true
}

// Stats returns the pool's counters; latencies go to PoolConfig.Latency.
func (p *Pool[Req, Res]) Stats() PoolStats {
	return PoolStats{
		Workers: p.cfg.Workers, Capacity: p.cfg.Queue,
		Queued: p.queued.Load(), Done: p.done.Load(), Failed: p.failed.Load(),
		Busy: p.busy.Load(), Crashed: p.crashed.Load(), TimedOut: p.late.Load(),
	}
}

// Close refuses new jobs and stops the workers once the queued jobs are done, or when ctx
// ends.
func (p *Pool[Req, Res]) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	f := p.system.Root.PoisonFuture(p.pid)
	done := make(chan error, 1)
	go func() { done <- f.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		p.system.Root.Stop(p.pid)
		return fmt.Errorf("close pool: %w", ctx.Err())
	}
}

// poolSupervisor owns the workers: it routes jobs to the least busy one and supervises
// them.
type poolSupervisor[Req, Res any] struct {
	pool    *Pool[Req, Res]
	workers []*actor.PID
	load    []int
}

// finished tells the supervisor a worker is done with a job.
type finished struct{ worker int }

func (s *poolSupervisor[Req, Res]) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *job[Req, Res]:
		i := slices.Index(s.load, slices.Min(s.load))
		s.load[i]++
		m.worker = i
		c.Send(s.workers[i], m)
	case *finished:
		s.load[m.worker]--
	case *actor.Started:
		props := actor.PropsFromProducer(func() actor.Actor { return &poolWorker[Req, Res]{pool: s.pool} })
		for range s.pool.cfg.Workers {
			s.workers = append(s.workers, c.Spawn(props))
			s.load = append(s.load, 0)
		}
	}
}

// HandleFailure answers the job of a crashed worker and restarts it: workers keep no state,
// and each crash belongs to one job, so restarting at once cannot loop.
func (s *poolSupervisor[Req, Res]) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, message any) {
	s.pool.crashed.Add(1)
	crash, ok := reason.(*Crash)
	if !ok {
		crash = &Crash{Reason: reason}
	}
	s.pool.log.Error("pool worker crashed", slog.Any("panic", crash.Reason), slog.String("stack", string(crash.Stack)))
	if j, ok := message.(*job[Req, Res]); ok {
		s.load[j.worker]--
		var zero Res
		s.pool.answer(j, zero, fmt.Errorf("%w: %v", ErrWorkerCrashed, crash.Reason))
	}
	system.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: actor.RestartDirective})
	sup.RestartChildren(child)
}

type poolWorker[Req, Res any] struct{ pool *Pool[Req, Res] }

func (w *poolWorker[Req, Res]) Receive(c actor.Context) {
	j, ok := c.Message().(*job[Req, Res])
	if !ok {
		return
	}
	if j.answered.Load() {
		c.Send(c.Parent(), &finished{worker: j.worker}) // timed out while queued
		return
	}
	res, err := w.run(j.ctx, j)
	w.pool.answer(j, res, err)
	c.Send(c.Parent(), &finished{worker: j.worker})
}

// run does the work, keeping the panic's stack for the log before the supervisor takes
// over.
func (w *poolWorker[Req, Res]) run(ctx context.Context, j *job[Req, Res]) (Res, error) {
	defer func() {
		if r := recover(); r != nil {
			panic(&Crash{Reason: r, Stack: debug.Stack()})
		}
	}()
	return w.pool.work(ctx, j.req)
}
