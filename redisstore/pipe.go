package redisstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxPipeline bounds the commands one round trip carries, so that one reply stays small
// and the callers at its end do not wait on a huge one.
const maxPipeline = 256

// pipe sends the commands of callers that wait at the same moment in one pipeline (group
// commit): one round trip, one write and one read on each side for all of them, which is
// most of what a small command costs the client and the server. A caller alone is sent at
// once, by its own goroutine, with no added wait; callers that arrive while a pipeline is in
// flight queue, and the next pipeline carries them all. Each caller gets its own command's
// reply, error included, or its own context's error if that ends first.
type pipe struct {
	rdb     *redis.Client
	timeout time.Duration

	mu      sync.Mutex
	queue   []*pipeCall
	sending bool // a goroutine is sending the queue; it stops once the queue is empty
}

// enqueuer runs one caller's command on c: queued when c is a pipeline, at once when it is
// the client (a call alone). eval asks for a script by its source rather than its digest:
// the server had lost the script (NOSCRIPT).
type enqueuer func(ctx context.Context, c redis.Cmdable, eval bool) redis.Cmder

type pipeCall struct {
	enqueue enqueuer
	cmd     redis.Cmder   // set before done is closed
	done    chan struct{} // closed once cmd holds the reply
}

func newPipe(rdb *redis.Client, timeout time.Duration) *pipe {
	return &pipe{rdb: rdb, timeout: timeout}
}

// do sends one command with whatever other callers are waiting, and returns it with its
// reply, or ctx's error when ctx ends first (the command may still run, as a timed-out
// command of go-redis may).
func (p *pipe) do(ctx context.Context, enqueue enqueuer) (redis.Cmder, error) {
	c := &pipeCall{enqueue: enqueue, done: make(chan struct{})}
	p.mu.Lock()
	p.queue = append(p.queue, c)
	lead := !p.sending
	p.sending = true
	p.mu.Unlock()
	if lead {
		// The first caller sends, on its goroutine: alone, it pays no hand-over.
		p.sendNext(ctx)
		p.mu.Lock()
		more := len(p.queue) > 0
		p.sending = more
		p.mu.Unlock()
		if more {
			// Whoever queued meanwhile goes in the next round trip, sent by a goroutine of
			// its own, so that this caller returns with its reply now.
			go p.drain(context.WithoutCancel(ctx))
		}
	}
	select {
	case <-c.done:
		return c.cmd, c.cmd.Err()
	case <-ctx.Done():
	}
	p.mu.Lock()
	if i := slices.Index(p.queue, c); i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1) // never sent
	}
	p.mu.Unlock()
	return nil, ctx.Err()
}

// drain sends the queue until it is empty.
func (p *pipe) drain(ctx context.Context) {
	for {
		p.sendNext(ctx)
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.sending = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// sendNext sends the first maxPipeline queued calls as one pipeline and answers them.
func (p *pipe) sendNext(ctx context.Context) {
	p.mu.Lock()
	n := min(len(p.queue), maxPipeline)
	batch := slices.Clone(p.queue[:n])
	p.queue = slices.Delete(p.queue, 0, n)
	p.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	// The round trip is everyone's: no one caller's cancellation may fail it for all.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
	defer cancel()
	p.exec(ctx, batch, false)
	var lost []*pipeCall
	for _, c := range batch {
		if c.cmd.Err() != nil && redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			lost = append(lost, c)
			continue
		}
		close(c.done)
	}
	if len(lost) > 0 {
		// A restarted or flushed server: send those scripts' source, which caches them.
		p.exec(ctx, lost, true)
		for _, c := range lost {
			close(c.done)
		}
	}
}

func (p *pipe) exec(ctx context.Context, batch []*pipeCall, eval bool) {
	if len(batch) == 1 {
		// Alone: a pipeline of one would cost the client more and save nothing.
		batch[0].cmd = batch[0].enqueue(ctx, p.rdb, eval)
		return
	}
	pl := p.rdb.Pipeline()
	for _, c := range batch {
		c.cmd = c.enqueue(ctx, pl, eval)
	}
	_, _ = pl.Exec(ctx) // every command holds its own error
}

// script runs s on keys and args, by digest (by source after a NOSCRIPT); ro runs it as a
// read-only script, which the server runs while out of memory too.
func (p *pipe) script(ctx context.Context, s *redis.Script, ro bool, keys []string, args ...any) (*redis.Cmd, error) {
	cmd, err := p.do(ctx, func(ctx context.Context, pl redis.Cmdable, eval bool) redis.Cmder {
		switch {
		case eval && ro:
			return s.EvalRO(ctx, pl, keys, args...)
		case eval:
			return s.Eval(ctx, pl, keys, args...)
		case ro:
			return s.EvalShaRO(ctx, pl, keys, args...)
		}
		return s.EvalSha(ctx, pl, keys, args...)
	})
	if err != nil {
		return nil, err
	}
	return cmd.(*redis.Cmd), nil
}
