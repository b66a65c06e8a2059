package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/troupebot/troupe/internal/backoff"
)

// Lease is the polling lease on the journal's store (cmd/bot adapts redisstore's), held
// under this process's name: while several processes share one journal, only its holder
// calls getUpdates, which Telegram answers with 409 to all but one caller anyway.
type Lease interface {
	// Acquire takes the lease when it is free or expired, for ttl from the moment it was
	// asked, and returns its fencing token; an error wrapping ErrLeaseHeld when another
	// holds it.
	Acquire(ctx context.Context) (token int64, ttl time.Duration, err error)
	// Renew extends the lease by its ttl; an error wrapping ErrLeaseLost once token is no
	// longer the lease's.
	Renew(ctx context.Context, token int64) error
	// Release frees the lease at once, for a standby to take.
	Release(ctx context.Context, token int64) error
	// Append is the Journal's Append, refused whole (an error wrapping ErrLeaseLost) once
	// token is no longer the lease's, checked in the same atomic step: a poller that lost
	// the lease unknowingly (paused, partitioned) can journal, so confirm, nothing.
	Append(ctx context.Context, token int64, items []Journaled) error
}

// The refusals a Lease wraps, for intake to tell apart.
var (
	// ErrLeaseHeld: another process holds the lease; stand by.
	ErrLeaseHeld = errors.New("intake: polling lease held by another process")
	// ErrLeaseLost: the token is no longer the lease's; stop polling.
	ErrLeaseLost = errors.New("intake: polling lease lost")
)

// defaultLeaseRetry is how often a standby tries to acquire the lease: with the holder's
// TTL of 5 s, a killed holder is replaced within about 6 s.
const defaultLeaseRetry = time.Second

// leaseRenewShare is the part of the TTL between renewals: three tries (and a store
// timeout) fit in a TTL before the lease is given up.
const leaseRenewShare = 0.3

// runLeased stands by until it acquires the lease, polls while it holds it, and stands by
// again once it lost it, until ctx ends.
func (p *Poller) runLeased(ctx context.Context) error {
	for {
		g, ok := p.standby(ctx)
		if !ok {
			return nil
		}
		if err := p.hold(ctx, g); err != nil || ctx.Err() != nil {
			return err
		}
	}
}

// leaseGrant is one acquisition of the lease: its token, its TTL, and until when it is
// valid for all this process knows.
type leaseGrant struct {
	token      int64
	ttl        time.Duration
	validUntil time.Time
}

// standby tries to acquire the lease every LeaseRetry (jittered, so that standbys do not
// ask in step) until it does, or ctx ends (ok false). It never calls getUpdates. The lease
// is valid until its TTL from before it was asked, for all this process knows.
func (p *Poller) standby(ctx context.Context) (g leaseGrant, ok bool) {
	for attempt := 1; ; attempt++ {
		sent := time.Now()
		token, ttl, err := p.cfg.Lease.Acquire(ctx)
		if err == nil {
			return leaseGrant{token: token, ttl: ttl, validUntil: sent.Add(ttl)}, true
		}
		switch {
		case ctx.Err() != nil:
			return leaseGrant{}, false
		case errors.Is(err, ErrLeaseHeld):
			if attempt == 1 {
				p.cfg.Logger.Info("polling lease held by another process; standing by", slog.Any("err", err))
			}
		case attempt == 1 || attempt%30 == 0:
			p.cfg.Logger.Warn("polling lease cannot be acquired", slog.Any("err", err), slog.Int("attempt", attempt))
		}
		// ±20 %: a few standbys spread out, and one takes over within 1.2 retries.
		if !p.standBy(ctx, time.Duration(float64(p.cfg.LeaseRetry)*(0.8+0.4*rand.Float64()))) {
			return leaseGrant{}, false
		}
	}
}

// standBy waits d, or until ctx ends (false). A cluster member standing by still hosts its
// share of the users: an update forwarded here and not kept (an earlier one of its user
// unfinished, the store away) is replayed from the journal meanwhile, as the holder would.
func (p *Poller) standBy(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-p.journal.failed:
			if p.journal.fwd == nil {
				continue
			}
			if backoff.Sleep(ctx, replayRetry.Initial) != nil {
				return false
			}
			if _, err := p.journal.replay(ctx); err != nil && ctx.Err() == nil {
				p.cfg.Logger.Warn("journal replay failed", slog.Any("err", err))
			}
		}
	}
}

// hold polls with token until ctx ends, the lease is lost or the bot token is refused,
// renewing the lease meanwhile. On ctx's end it confirms what it journaled and releases the
// lease, so that a successor polls at once; on a lost lease it returns nil, for Run to
// stand by again, and what it journaled stays for whoever holds the lease.
func (p *Poller) hold(ctx context.Context, g leaseGrant) error {
	token, ttl := g.token, g.ttl
	p.leaseToken.Store(token)
	p.leaseHeld.Store(true)
	p.leaseAcquired.Add(1)
	log := p.cfg.Logger.With(slog.Int64("lease_token", token))
	log.Info("polling lease acquired; polling", slog.String("ttl", ttl.String()))
	lctx, lose := context.WithCancelCause(ctx)
	renewing := make(chan struct{})
	go func() {
		defer close(renewing)
		p.renew(lctx, lose, g)
	}()
	err := p.pollJournaled(lctx, token)
	if err != nil {
		lose(err)
	}
	lost := context.Cause(lctx)
	lose(nil)
	<-renewing
	p.leaseHeld.Store(false)
	p.blocked.Store(false) // a journal full a moment ago is the next holder's to wait for
	if ctx.Err() == nil && !errors.Is(err, ErrUnauthorized) {
		p.leaseLost.Add(1)
		log.Warn("polling lease lost; stopped polling, standing by", slog.Any("err", lost))
		return nil
	}
	// Stopping: the offset is confirmed while this process still holds the lease, then the
	// lease is given up, so that the successor's first poll is not cut short by this one's.
	if cerr := p.confirm(ctx); cerr != nil {
		log.Warn("confirming the journaled offset failed; the successor confirms it", slog.Any("err", cerr))
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if rerr := p.cfg.Lease.Release(rctx, token); rerr != nil {
		log.Warn("polling lease not released; a standby takes it once it expires", slog.Any("err", rerr))
	} else {
		log.Info("polling lease released")
	}
	if errors.Is(err, ErrUnauthorized) {
		return err
	}
	return nil
}

// renew renews the lease every TTL·leaseRenewShare until ctx ends. It gives the lease up,
// through lose, when a renewal is refused or when none succeeded before validUntil: by
// then, for all this process can know, the lease expired and another may hold it.
// validUntil counts from before each renewal was sent, so it never runs past the server's.
func (p *Poller) renew(ctx context.Context, lose context.CancelCauseFunc, g leaseGrant) {
	token, ttl, validUntil := g.token, g.ttl, g.validUntil
	every := time.Duration(float64(ttl) * leaseRenewShare)
	t := time.NewTimer(every)
	defer t.Stop()
	for failures := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sent := time.Now()
		rctx, cancel := context.WithDeadline(ctx, validUntil)
		err := p.cfg.Lease.Renew(rctx, token)
		cancel()
		switch {
		case err == nil:
			failures, validUntil = 0, sent.Add(ttl)
			t.Reset(every)
			continue
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrLeaseLost):
			lose(err)
			return
		case !time.Now().Before(validUntil):
			lose(fmt.Errorf("intake: no renewal of the polling lease (token %d) for its TTL of %v: %w: %w", token, ttl, ErrLeaseLost, err))
			return
		}
		failures++
		p.cfg.Logger.Warn("polling lease renewal failed; retrying", slog.Any("err", err), slog.Int("failures", failures), slog.String("valid_for", time.Until(validUntil).String()))
		t.Reset(min(every/3, time.Until(validUntil)))
	}
}
