package actorstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/redisstore"
)

// Lease is a redisstore.Lease as intake's poller uses it, held under one holder's name,
// its appends going to the journal the lease belongs to.
type Lease struct {
	l      *redisstore.Lease
	j      *redisstore.Journal
	holder string
}

var _ intake.Lease = Lease{}

// NewLease adapts l, a lease of j (j.Lease), for holder: the name /status shows, which must
// differ between the processes sharing j.
func NewLease(j *redisstore.Journal, l *redisstore.Lease, holder string) Lease {
	return Lease{l: l, j: j, holder: holder}
}

// Holder is the name the lease is held under.
func (l Lease) Holder() string { return l.holder }

// Acquire takes the lease if it is free or expired.
func (l Lease) Acquire(ctx context.Context) (int64, time.Duration, error) {
	token, err := l.l.Acquire(ctx, l.holder)
	return token, l.l.TTL(), leaseRefusal(err)
}

// Renew extends the lease held with token.
func (l Lease) Renew(ctx context.Context, token int64) error {
	return leaseRefusal(l.l.Renew(ctx, l.holder, token))
}

// Release frees the lease held with token.
func (l Lease) Release(ctx context.Context, token int64) error {
	return leaseRefusal(l.l.Release(ctx, l.holder, token))
}

// Append journals items while token is the lease's.
func (l Lease) Append(ctx context.Context, token int64, items []intake.Journaled) error {
	_, err := l.j.AppendFenced(ctx, l.l, l.holder, token, storeItems(items))
	return appendRefusal(err)
}

// State is who holds the lease now, for /status.
func (l Lease) State(ctx context.Context) (holder string, token int64, left time.Duration, err error) {
	st, err := l.l.Holder(ctx)
	return st.Holder, st.Token, st.Left, err
}

func leaseRefusal(err error) error {
	switch {
	case errors.Is(err, redisstore.ErrLeaseHeld):
		return fmt.Errorf("%w: %w", intake.ErrLeaseHeld, err)
	case errors.Is(err, redisstore.ErrLeaseLost):
		return fmt.Errorf("%w: %w", intake.ErrLeaseLost, err)
	}
	return err
}
