package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/internal/backoff"
)

// driver sends the simulated users' updates, closed loop (each user waits for the answer
// to its previous update) or open loop (at a fixed rate, whatever the answers), then waits
// for the answers still due.
type driver struct {
	a        *auditor
	emu      *emulator.Server
	w        *workload
	messages int           // per user
	rate     float64       // updates per second overall; 0 means closed loop
	stopAt   time.Duration // stop sending this long after the start; 0 means no limit
	// replyTimeout is how long a user of the closed loop waits for an answer before it
	// sends its next update anyway.
	replyTimeout time.Duration
	// idle ends the drain: once everything is sent, the run ends when every update is
	// answered or nothing was answered for this long.
	idle    time.Duration
	workers int

	presses *fifo[*user] // open loop: users with a button to press
	pending atomic.Int64 // open loop: buttons to press not yet pressed
	failed  atomic.Value // the first error pushing an update
	once    sync.Once
}

// run sends every update and drains the answers. It returns early, with nil, when ctx is
// done, and with an error when the emulator refuses a push.
func (d *driver) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		d.once.Do(func() { d.failed.Store(err) })
		cancel()
	}
	var presser sync.WaitGroup
	if d.rate > 0 {
		d.presses = newFIFO[*user]()
		d.a.onKeyboard = func(u *user) {
			d.pending.Add(1)
			d.presses.push(u)
		}
		presser.Go(func() { d.pressLoop(ctx, fail) })
		d.open(ctx, fail)
	} else {
		d.closed(ctx, fail)
	}
	if ctx.Err() == nil {
		d.drain(ctx)
	}
	cancel()
	presser.Wait()
	if err, ok := d.failed.Load().(error); ok {
		return err
	}
	return nil
}

func (d *driver) stopped() bool {
	return d.stopAt > 0 && time.Duration(d.a.now()) >= d.stopAt
}

// wait is a closed-loop user's deadline for the answer to its step seq.
type wait struct {
	u        *user
	seq      int32
	deadline time.Time
}

// closed runs the closed loop: a user is queued as ready at the start and whenever the step
// it awaits is answered (or times out); workers take ready users and send their next step.
func (d *driver) closed(ctx context.Context, fail func(error)) {
	users := d.a.users
	ready := make(chan *user, len(users)) // each user is in it at most once
	d.a.onAnswered = func(u *user) { ready <- u }
	for i := range users {
		ready <- &users[i]
	}
	finished := make(chan struct{})
	var left atomic.Int64
	left.Store(int64(len(users)))
	waits := newFIFO[wait]()
	var wg sync.WaitGroup
	for range min(d.workers, len(users)) {
		wg.Go(func() {
			for {
				var u *user
				select {
				case <-ctx.Done():
					return
				case <-finished:
					return
				case u = <-ready:
				}
				seq, more, err := d.step(u)
				switch {
				case err != nil:
					fail(err)
					return
				case !more:
					if left.Add(-1) == 0 {
						close(finished)
					}
				default:
					waits.push(wait{u: u, seq: seq, deadline: time.Now().Add(d.replyTimeout)})
				}
			}
		})
	}
	wg.Go(func() { d.expire(ctx, finished, waits, ready) })
	wg.Wait()
}

// step sends u's next step: a press of the button it was offered, else its next message.
// more is false when u has nothing left to send.
func (d *driver) step(u *user) (seq int32, more bool, err error) {
	u.mu.Lock()
	kb := u.keyboard
	u.keyboard = nil
	left := len(u.recs) < d.messages && !d.stopped()
	u.mu.Unlock()
	switch {
	case kb != nil:
		seq, err = d.a.pressButton(d.emu, u, *kb)
	case left:
		seq, err = d.a.sendMessage(d.emu, d.w, u)
	default:
		return 0, false, nil
	}
	return seq, true, err
}

// expire moves on the users whose answer did not come within replyTimeout. All waits are
// equally long, so the queue is in deadline order.
func (d *driver) expire(ctx context.Context, finished <-chan struct{}, waits *fifo[wait], ready chan<- *user) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w, ok := waits.peek()
		wake := (<-chan time.Time)(nil)
		if ok {
			if left := time.Until(w.deadline); left > 0 {
				timer.Reset(left)
				wake = timer.C
			} else {
				waits.pop()
				u := w.u
				u.mu.Lock()
				if u.awaiting && u.seq == w.seq {
					u.awaiting = false
					d.a.timedOut.Add(1)
					ready <- u
				}
				u.mu.Unlock()
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-finished:
			return
		case <-waits.ready:
		case <-wake:
		}
	}
}

// open runs the open loop: the users are dealt to pacers, each sending its users' messages
// round-robin at its share of the rate, so a user's messages leave in order.
func (d *driver) open(ctx context.Context, fail func(error)) {
	users := d.a.users
	pacers := min(d.workers, len(users))
	interval := time.Duration(float64(time.Second) * float64(pacers) / d.rate)
	var wg sync.WaitGroup
	for p := range pacers {
		wg.Go(func() {
			next := time.Now()
			for range d.messages {
				for i := p; i < len(users); i += pacers {
					if ctx.Err() != nil || d.stopped() {
						return
					}
					if ahead := time.Until(next); ahead > 0 && backoff.Sleep(ctx, ahead) != nil {
						return
					}
					next = next.Add(interval)
					if _, err := d.a.sendMessage(d.emu, d.w, &users[i]); err != nil {
						fail(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// pressLoop presses, in the open loop, the buttons the users were offered.
func (d *driver) pressLoop(ctx context.Context, fail func(error)) {
	for {
		u, ok := d.presses.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-d.presses.ready:
			}
			continue
		}
		u.mu.Lock()
		kb := u.keyboard
		u.keyboard = nil
		u.mu.Unlock()
		if kb != nil {
			if _, err := d.a.pressButton(d.emu, u, *kb); err != nil {
				fail(err)
				return
			}
		}
		d.pending.Add(-1)
	}
}

// drain waits until every update sent is answered, or nothing was answered for d.idle.
func (d *driver) drain(ctx context.Context) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	from := d.a.now()
	for d.a.outstanding() > 0 || d.pending.Load() > 0 {
		quiet := time.Duration(d.a.now() - max(from, d.a.lastAnswer.Load()))
		if quiet >= d.idle {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
