package actors

import (
	"sync/atomic"
	"time"
)

// dispatcher runs actors' mailboxes as protoactor's default one does, on a goroutine of
// their own, but a goroutine that has run a mailbox waits for the next one instead of
// exiting. A user actor's mailbox empties after nearly every update, so with a goroutine
// per run each update started a fresh goroutine and grew its stack (copying it, and
// walking its frames) to the depth of the handler: 5–7% of the bot's CPU under a burst.
// A waiting goroutine keeps its stack until the GC shrinks it.
//
// Schedule never waits: without a waiting goroutine it starts one, so a slow mailbox (an
// actor waiting out an outbox's grace) holds only its own goroutine, as before. At most
// `most` goroutines wait, and once a second those beyond what the last second handed work
// to are let go, so an idle bot keeps none.
type dispatcher struct {
	work       chan func() // nil: exit
	done       chan struct{}
	closed     atomic.Bool
	waiting    atomic.Int32
	handed     atomic.Int32 // mailboxes handed to a waiting goroutine since the last trim
	started    atomic.Int64 // goroutines started, for tests
	most       int32        // goroutines left waiting at most; past that they exit
	throughput int
}

func newDispatcher(throughput, most int, trimEvery time.Duration) *dispatcher {
	d := &dispatcher{work: make(chan func()), done: make(chan struct{}), most: int32(most), throughput: throughput}
	go d.trim(trimEvery)
	return d
}

func (d *dispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
		d.handed.Add(1)
	default:
		d.started.Add(1)
		go d.run(fn)
	}
}

func (d *dispatcher) Throughput() int { return d.throughput }

func (d *dispatcher) run(fn func()) {
	for {
		fn()
		if d.waiting.Add(1) > d.most {
			d.waiting.Add(-1)
			return
		}
		select {
		case fn = <-d.work:
			d.waiting.Add(-1)
			if fn == nil {
				return
			}
		case <-d.done:
			d.waiting.Add(-1)
			return
		}
	}
}

// trim lets go, every period, the waiting goroutines beyond the number that were handed
// a mailbox in the period before.
func (d *dispatcher) trim(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.done:
			return
		case <-t.C:
		}
		for excess := d.waiting.Load() - d.handed.Swap(0); excess > 0; excess-- {
			select {
			case d.work <- nil:
			default:
				excess = 0 // none is waiting right now after all
			}
		}
	}
}

// close lets the waiting goroutines exit; mailboxes scheduled afterwards get a goroutine
// of their own that exits after its run.
func (d *dispatcher) close() {
	if !d.closed.Swap(true) {
		close(d.done)
	}
}
