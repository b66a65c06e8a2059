package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
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
// reply, error included, or its own context's error if that ends first, or a timeout error
// after the pipe's timeout.
type pipe struct {
	rdb     *redis.Client
	timeout time.Duration

	mu      sync.Mutex
	queue   []*pipeCall
	sending bool // a goroutine is sending the queue; it stops once the queue is empty
}

// A pipeCall is one caller's command. Calls are pooled: one per command would be two
// allocations on every commit and acknowledgement, and the collector's work with them.
type pipeCall struct {
	args   []any   // the command; a script's name and digest (or source) go in args[0:2]
	script *script // nil for a plain command
	cmd    *redis.Cmd
	done   chan struct{} // capacity 1: signalled once cmd holds the reply
}

var calls = sync.Pool{New: func() any { return &pipeCall{done: make(chan struct{}, 1)} }}

// timers are the callers' deadlines, pooled and reset: a context.WithTimeout per call would
// allocate four objects and register each call with its parent context under a lock that
// every actor shares.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// A script is a Lua script by digest and by source: sent by digest (EVALSHA), by source
// after the server answered NOSCRIPT (a restarted or flushed server), which caches it. ro
// runs it as a read-only script, which the server runs while out of memory too.
type script struct {
	sha, src string
	ro       bool
}

func newScript(src string, ro bool) *script {
	sum := sha1.Sum([]byte(src))
	return &script{sha: hex.EncodeToString(sum[:]), src: src, ro: ro}
}

// args returns an argument list for s with room for n arguments after the command's name
// and the script: the caller appends the number of keys, the keys and the arguments.
func (s *script) args(n int) []any { return make([]any, 2, 2+n) }

// head is the command's name and its script argument.
func (s *script) head(eval bool) (name, script string) {
	switch {
	case eval && s.ro:
		return "eval_ro", s.src
	case eval:
		return "eval", s.src
	case s.ro:
		return "evalsha_ro", s.sha
	}
	return "evalsha", s.sha
}

func newPipe(rdb *redis.Client, timeout time.Duration) *pipe {
	return &pipe{rdb: rdb, timeout: timeout}
}

// script runs s on keys and args.
func (p *pipe) script(ctx context.Context, s *script, keys []any, args ...any) (*redis.Cmd, error) {
	a := s.args(1 + len(keys) + len(args))
	a = append(append(a, len(keys)), keys...)
	return p.do(ctx, s, append(a, args...))
}

// do sends one command with whatever other callers are waiting, and returns it with its
// reply, or an error when ctx ends or the timeout passes first (the command may still run,
// as a timed-out command of go-redis may). With a script, args came from s.args; without,
// args is the whole command.
func (p *pipe) do(ctx context.Context, s *script, args []any) (*redis.Cmd, error) {
	c := calls.Get().(*pipeCall)
	c.args, c.script = args, s
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
	t := timers.Get().(*time.Timer)
	t.Reset(p.timeout)
	var err error
	select {
	case <-c.done:
		t.Stop()
		timers.Put(t)
		cmd := c.cmd
		*c = pipeCall{done: c.done}
		calls.Put(c)
		return cmd, cmd.Err()
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = fmt.Errorf("no reply within %s: %w", p.timeout, context.DeadlineExceeded)
	}
	t.Stop()
	timers.Put(t)
	p.mu.Lock()
	if i := slices.Index(p.queue, c); i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1) // never sent
	}
	p.mu.Unlock()
	// c is not pooled: a round trip may still answer it.
	return nil, err
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
		if c.script != nil && c.cmd.Err() != nil && redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			lost = append(lost, c)
			continue
		}
		c.done <- struct{}{} // the last this round trip touches c: its caller may reuse it
	}
	if len(lost) > 0 {
		// A restarted or flushed server: send those scripts' source, which caches them.
		p.exec(ctx, lost, true)
		for _, c := range lost {
			c.done <- struct{}{}
		}
	}
}

func (p *pipe) exec(ctx context.Context, batch []*pipeCall, eval bool) {
	for _, c := range batch {
		if c.script != nil {
			c.args[0], c.args[1] = c.script.head(eval)
		}
	}
	if len(batch) == 1 {
		// Alone: a pipeline of one would cost the client more and save nothing.
		batch[0].cmd = p.rdb.Do(ctx, batch[0].args...)
		return
	}
	pl := p.rdb.Pipeline()
	for _, c := range batch {
		c.cmd = pl.Do(ctx, c.args...)
	}
	_, _ = pl.Exec(ctx) // every command holds its own error
}
