package bot

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/troupebot/troupe/bot/intake"
)

// pinger is a store that can say whether its server answers (redisstore's Ping).
type pinger interface {
	Ping(ctx context.Context) error
}

// storeHealth remembers the store's last ping, so that probes arriving every second or
// two cost one round trip per pingEvery, not one each.
type storeHealth struct {
	kind string // "memory" or "durable"
	ping pinger
	now  func() time.Time

	mu     sync.Mutex
	at     time.Time
	err    error
	inPing bool
}

const pingEvery = time.Second

// check returns the last ping's error, pinging again when it is older than pingEvery. A
// ping under way answers with the previous result rather than making a probe wait.
func (h *storeHealth) check() error {
	if h.ping == nil {
		return nil
	}
	h.mu.Lock()
	if h.now().Sub(h.at) < pingEvery || h.inPing {
		err := h.err
		h.mu.Unlock()
		return err
	}
	h.inPing = true
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), pingEvery)
	err := h.ping.Ping(ctx)
	cancel()
	h.mu.Lock()
	h.at, h.err, h.inPing = h.now(), err, false
	h.mu.Unlock()
	return err
}

// storeErrFor is how long a failed store call keeps the store unhealthy when nothing has
// succeeded since: a server that answers pings may still refuse writes (out of memory).
const storeErrFor = 10 * time.Second

// StoreErr says why the store cannot be used now, or nil: its server did not answer a ping,
// or a store call failed within storeErrFor and none succeeded since. The memory store is
// never down.
func (b *Bot) StoreErr() error {
	if err := b.store.check(); err != nil {
		return err
	}
	if at, err := b.runtime.StoreErrAt(); err != nil && b.cfg.Now().Sub(at) < storeErrFor {
		return err
	}
	if at, err := b.journal.lastErr(); err != nil && b.cfg.Now().Sub(at) < storeErrFor {
		return err
	}
	return nil
}

// watchedJournal is the intake journal with its last refused Append remembered: in webhook
// mode a store that refuses every update at the journal (full, away) fails no commit, and
// readiness must still say so.
type watchedJournal struct {
	intake.Journal
	now func() time.Time

	mu  sync.Mutex
	at  time.Time
	err error
}

func (j *watchedJournal) Append(ctx context.Context, items []intake.Journaled) error {
	err := j.Journal.Append(ctx, items)
	j.note(err)
	return err
}

// note remembers the outcome of an Append.
func (j *watchedJournal) note(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case err != nil:
		j.at, j.err = j.now(), err
	case j.err != nil:
		j.err = nil // it takes updates again
	}
}

// watchedLease is the polling lease whose fenced Appends readiness watches as the journal's:
// with a lease every polled batch is journaled through it.
type watchedLease struct {
	intake.Lease
	journal *watchedJournal
}

func (l watchedLease) Append(ctx context.Context, token int64, items []intake.Journaled) error {
	err := l.Lease.Append(ctx, token, items)
	if !errors.Is(err, intake.ErrLeaseLost) {
		// A refused token is the lease's news, not the store's health.
		l.journal.note(err)
	}
	return err
}

// lastErr is the error of the last Append, and when; none after one succeeded. A nil
// journal has none.
func (j *watchedJournal) lastErr() (time.Time, error) {
	if j == nil {
		return time.Time{}, nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.at, j.err
}
