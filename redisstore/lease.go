package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The lease's refusals, each wrapped with the holder and the token it is about.
var (
	// ErrLeaseHeld refuses an Acquire while another holder has the lease and it has not
	// expired: stay standby and try again.
	ErrLeaseHeld = errors.New("redisstore: lease held by another")
	// ErrLeaseLost refuses a Renew, a Release or a fenced Append whose token is no longer
	// the lease's: another holder acquired it since (the caller was paused, partitioned or
	// too slow to renew), or the caller released it. Nothing was written; stop polling.
	ErrLeaseLost = errors.New("redisstore: lease lost")
)

// DefaultLeaseTTL is how long an acquisition or a renewal holds the polling lease unless
// Journal.Lease is told otherwise: renewed every LeaseTTL·0.3, a killed holder is replaced
// within about TTL plus a standby's retry, under the 10 s scale-out asks.
const DefaultLeaseTTL = 5 * time.Second

// Lease is the polling lease on the journal's server: at most one process holds it, so
// that one process calls getUpdates (Telegram answers 409 to a second), and every
// acquisition gets a fencing token larger than any before. The journal's AppendFenced
// checks that token in the same atomic step as the append, so a poller that lost the lease
// (paused, partitioned) can journal nothing and therefore confirm no offset.
//
// It is one hash beside the journal's keys, prefix:{journal}:polling-lease: h the holder,
// t the token, e the expiry by the server's clock. The token stays when the lease is
// released or expires, so tokens grow for as long as the server keeps its data; after a
// FLUSHALL they start again from 1, and a holder of an older token is refused, as it
// should be.
type Lease struct {
	j   *Journal
	ttl time.Duration
}

// LeaseState is who holds the lease, for /status.
type LeaseState struct {
	Holder string        // "" when the lease is free (released, expired or never taken)
	Token  int64         // the last token handed out; 0 if none ever was
	Left   time.Duration // until the lease expires unless renewed; 0 when free
}

// Lease returns the journal's polling lease, each acquisition and renewal holding it for
// ttl (DefaultLeaseTTL when ttl <= 0).
func (j *Journal) Lease(ttl time.Duration) *Lease {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	return &Lease{j: j, ttl: ttl}
}

// TTL is how long an acquisition or a renewal holds the lease.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Acquire takes the lease for holder when it is free or expired and returns its fencing
// token, larger than every token before. While another holder has it the error wraps
// ErrLeaseHeld. A holder whose own lease has not expired is refused too: it renews.
func (l *Lease) Acquire(ctx context.Context, holder string) (int64, error) {
	st, err := l.run(ctx, "acquire", holder, 0)
	if err != nil {
		return 0, fmt.Errorf("redisstore: acquire the polling lease for %q: %w", holder, err)
	}
	if !st.granted {
		return 0, fmt.Errorf("redisstore: acquire the polling lease for %q: held by %q (token %d) for %v more: %w",
			holder, st.Holder, st.Token, st.Left, ErrLeaseHeld)
	}
	return st.Token, nil
}

// Renew extends holder's lease by the TTL from now. When token is no longer the lease's
// the error wraps ErrLeaseLost: another holder took it. A lease that expired and that
// nobody took since is renewed: no other token was handed out meanwhile.
func (l *Lease) Renew(ctx context.Context, holder string, token int64) error {
	return l.ownerOnly(ctx, "renew", holder, token)
}

// Release frees holder's lease at once, so that a standby takes over without waiting for
// it to expire. When token is no longer the lease's the error wraps ErrLeaseLost and
// nothing changes.
func (l *Lease) Release(ctx context.Context, holder string, token int64) error {
	return l.ownerOnly(ctx, "release", holder, token)
}

func (l *Lease) ownerOnly(ctx context.Context, op, holder string, token int64) error {
	st, err := l.run(ctx, op, holder, token)
	if err != nil {
		return fmt.Errorf("redisstore: %s the polling lease for %q, token %d: %w", op, holder, token, err)
	}
	if !st.granted {
		return fmt.Errorf("redisstore: %s the polling lease for %q, token %d: held by %q with token %d: %w",
			op, holder, token, st.Holder, st.Token, ErrLeaseLost)
	}
	return nil
}

// Holder returns who holds the lease now, read at one instant.
func (l *Lease) Holder(ctx context.Context) (LeaseState, error) {
	cmd, err := l.j.pipe.script(ctx, leaseReadScript, []any{l.j.leaseKey})
	var res []any
	if err == nil {
		res, err = cmd.Slice()
	}
	if err != nil {
		return LeaseState{}, fmt.Errorf("redisstore: read the polling lease: %w", classify(err))
	}
	st, ok := leaseState(res, 0)
	if !ok {
		return LeaseState{}, fmt.Errorf("redisstore: read the polling lease: unexpected reply %v", res)
	}
	return st.LeaseState, nil
}

// AppendFenced is Append, done only while token is the lease's and holder holds it, checked
// in the same atomic step: otherwise nothing is written and the error wraps ErrLeaseLost.
// A poller journals every batch with it, so that one that lost the lease (and may not know
// it yet) cannot journal, and so cannot confirm, what its successor polls.
func (j *Journal) AppendFenced(ctx context.Context, l *Lease, holder string, token int64, items []Item) (int, error) {
	if l.j.leaseKey != j.leaseKey {
		return 0, fmt.Errorf("redisstore: journal updates for %q: the lease is another journal's", holder)
	}
	return j.append(ctx, items, holder, strconv.FormatInt(token, 10))
}

// fencedOff is what the append script answers when the fencing token is not the lease's.
const fencedOff = -2

// grant is the lease after a call, and whether the call got what it asked.
type grant struct {
	LeaseState
	granted bool
}

func (l *Lease) run(ctx context.Context, op, holder string, token int64) (grant, error) {
	cmd, err := l.j.pipe.script(ctx, leaseScript, []any{l.j.leaseKey}, op, holder, token, l.ttl.Milliseconds())
	var res []any
	if err == nil {
		res, err = cmd.Slice()
	}
	if err != nil {
		return grant{}, classify(err)
	}
	granted, _ := res[0].(int64)
	st, ok := leaseState(res, 1)
	if !ok {
		return grant{}, fmt.Errorf("unexpected reply %v", res)
	}
	st.granted = granted == 1
	return st, nil
}

// leaseState reads holder, token and milliseconds left from res, starting at from.
func leaseState(res []any, from int) (grant, bool) {
	if len(res) != from+3 {
		return grant{}, false
	}
	holder, ok1 := res[from].(string)
	token, ok2 := res[from+1].(int64)
	left, ok3 := res[from+2].(int64)
	return grant{LeaseState: LeaseState{Holder: holder, Token: token, Left: time.Duration(left) * time.Millisecond}}, ok1 && ok2 && ok3
}

//go:embed lease.lua
var leaseSource string

//go:embed lease_read.lua
var leaseReadSource string

var (
	leaseScript     = newScript(leaseSource, false)
	leaseReadScript = newScript(leaseReadSource, true)
)
