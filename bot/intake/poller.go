package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/internal/backoff"
)

// Deliverer takes an update into the runtime; done is called once the update is finished.
type Deliverer interface {
	Deliver(u *gotgbot.Update, done func()) error
}

// Submitter is a Deliverer that tells whether an update was kept: done(err) with err != nil
// means nothing of it was kept (its store failed), and the poller leaves it unconfirmed and
// delivers it again when Telegram re-sends it.
type Submitter interface {
	Submit(u *gotgbot.Update, done func(err error)) error
}

// Poller long-polls getUpdates and confirms an update to Telegram only once it is done
// (its replies accepted), so a crash or redeploy re-delivers unfinished updates rather than
// losing them. gotgbot's own Updater confirms updates as soon as they are fetched.
type Poller struct {
	api     API
	deliver Deliverer
	cfg     PollerConfig
	win     *window

	fetched, duplicates, undecodable, notKept atomic.Int64

	// With a journal (NewJournaledPoller) the window is unused: offset is past the last
	// journaled batch, blocked says the journal cannot take the batch held.
	journal *journaler
	offset  atomic.Int64
	blocked atomic.Bool
	refused atomic.Int64

	// With a lease (PollerConfig.Lease): whether it is held now, with which token, and how
	// often it was acquired and lost.
	leaseHeld                atomic.Bool
	leaseToken               atomic.Int64
	leaseAcquired, leaseLost atomic.Int64
}

// PollerConfig tunes a Poller. The zero value is usable.
type PollerConfig struct {
	// Timeout is the long-poll timeout sent to getUpdates; 0 means 30s.
	Timeout time.Duration
	// Limit is the batch size asked of getUpdates, 1..100; 0 means 100. It also bounds the
	// updates in flight: Telegram re-sends everything from the oldest unfinished update.
	Limit int
	// AllowedUpdates restricts the update types Telegram sends; nil means Telegram's
	// default.
	AllowedUpdates []string
	// Logger receives polling errors; nil means slog.Default().
	Logger *slog.Logger
	// JournalSweep is how often, with a journal, it is swept for updates no process has
	// in hand (see journaler.sweep); 0 means 15s.
	JournalSweep time.Duration
	// Forward, with a journal, makes this process a cluster member: the updates it
	// journals go to the member of their key through Forward, and Accept takes the ones
	// forwarded here. Leave, called as the drain begins, takes this member out of the
	// cluster, so that no update is forwarded here any more; the drain then waits for the
	// updates this member has in hand.
	Forward Forwarder
	Leave   func()
	// Lease, with a journal, makes the poller call getUpdates only while it holds the
	// polling lease, so that processes sharing one journal (a redeploy's overlap, a
	// cluster's members) poll one at a time; the others stand by, ready. Nil polls always.
	Lease Lease
	// LeaseRetry is how often a standby tries to acquire the lease, ±20 %; 0 means 1s.
	LeaseRetry time.Duration
}

// While updates are in flight, Telegram answers getUpdates at once (the in-flight updates
// are above the offset, so it sends them again): a long poll is impossible, and polling
// in a loop would spin. So after a poll that brought nothing new the poller pauses before
// the next, from minPause doubling to maxPause while nothing new comes.
const (
	minPause = 2 * time.Millisecond
	maxPause = 100 * time.Millisecond
)

// API is the Bot API as the poller uses it (botapi.Endpoint): send body to method and
// decode the result into result, within timeout.
type API interface {
	Do(ctx context.Context, method string, body, result any, timeout time.Duration) error
}

// NewPoller returns a Poller fetching from api into d.
func NewPoller(api API, d Deliverer, cfg PollerConfig) *Poller {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Limit <= 0 || cfg.Limit > 100 {
		cfg.Limit = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LeaseRetry <= 0 {
		cfg.LeaseRetry = defaultLeaseRetry
	}
	return &Poller{api: api, deliver: d, cfg: cfg, win: newWindow()}
}

// ErrUnauthorized means Telegram refused the token; polling again will not help.
var ErrUnauthorized = errors.New("intake: bot token refused (401 Unauthorized)")

// Run polls until ctx is done. It returns nil then, or ErrUnauthorized. Updates fetched
// before ctx ended may still be in flight; Drain waits for them and confirms them.
func (p *Poller) Run(ctx context.Context) error {
	if p.journal != nil {
		return p.runJournaled(ctx)
	}
	lastNew := 0
	var lastPoll time.Time
	pause := minPause
	failures, retries := 0, 0
	for ctx.Err() == nil {
		if !p.waitForRoom(ctx, lastNew, lastPoll, pause) {
			break
		}
		offset, _, inflight := p.win.state()
		timeout := p.cfg.Timeout
		if inflight > 0 {
			// Telegram answers at once anyway: the in-flight updates are above the offset.
			timeout = 0
		}
		lastPoll = time.Now()
		n, err := p.poll(ctx, offset, timeout)
		if err != nil {
			failures++
			keep, fatal := p.failed(ctx, err, failures)
			if fatal != nil {
				return fatal
			}
			if !keep {
				break
			}
			continue
		}
		failures = 0
		lastNew = n
		if p.win.retrying() > 0 {
			// Updates the store could not keep come back with every poll: space the polls
			// as after a failed one, until the store takes them again.
			retries++
			if backoff.Sleep(ctx, retryPolicy.Delay(retries, rand.Float64())) != nil {
				break
			}
			continue
		}
		retries = 0
		if n > 0 {
			pause = minPause
		} else {
			pause = min(2*pause, maxPause)
		}
	}
	return nil
}

// waitForRoom waits until another poll is worth making: at once when nothing is in flight
// (a long poll then also confirms everything); else once half the batch is free for new
// updates, and then at once if the last poll found new ones (more may be waiting), or
// after pause if it did not.
func (p *Poller) waitForRoom(ctx context.Context, lastNew int, lastPoll time.Time, pause time.Duration) bool {
	for {
		_, known, inflight := p.win.state()
		if inflight == 0 {
			return true
		}
		wait := maxPause // until updates finish and make room
		if room := p.cfg.Limit - known; room*2 >= p.cfg.Limit {
			if lastNew > 0 {
				return true
			}
			if wait = pause - time.Since(lastPoll); wait <= 0 {
				return true
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-p.win.changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// poll fetches one batch and delivers the updates not seen before. It returns how many
// were new.
func (p *Poller) poll(ctx context.Context, offset int64, timeout time.Duration) (int, error) {
	req := getUpdates{Offset: offset, Limit: p.cfg.Limit, Timeout: int(timeout / time.Second), AllowedUpdates: p.cfg.AllowedUpdates}
	// The HTTP request must outlive the long poll it asks for.
	raw, err := p.getUpdates(ctx, req, timeout+15*time.Second)
	if err != nil {
		return 0, err
	}
	p.fetched.Add(int64(len(raw)))
	fresh := 0
	for _, r := range raw {
		if id, ok := peekUpdateID(r); ok && p.win.seen(id) {
			// Sent again because the offset has not passed it yet: skip it without
			// decoding, which is most of a busy poll's cost.
			p.duplicates.Add(1)
			continue
		}
		u, err := DecodeUpdate(r)
		if err != nil {
			p.undecodable.Add(1)
			p.cfg.Logger.Error("undecodable update skipped", slog.Any("err", err))
			// Confirm past it: it would come back on every poll and hold up the rest.
			var ue *UndecodableError
			if errors.As(err, &ue) && p.win.add(ue.ID) {
				p.win.done(ue.ID)
			}
			continue
		}
		id := u.UpdateId
		if !p.win.add(id) {
			p.duplicates.Add(1)
			continue
		}
		fresh++
		if err := p.take(u); err != nil {
			// The runtime is closing: leave the update unconfirmed for the next process.
			p.cfg.Logger.Warn("update not delivered", slog.Int64("update", id), slog.Any("err", err))
		}
	}
	return fresh, nil
}

// take delivers u, through Submit when the Deliverer has it.
func (p *Poller) take(u *gotgbot.Update) error {
	id := u.UpdateId
	s, ok := p.deliver.(Submitter)
	if !ok {
		return p.deliver.Deliver(u, func() { p.win.done(id) })
	}
	return s.Submit(u, func(err error) {
		if err == nil {
			p.win.done(id)
			return
		}
		p.notKept.Add(1)
		p.win.fail(id)
	})
}

// getUpdates is the body of a getUpdates request.
type getUpdates struct {
	Offset         int64    `json:"offset"`
	Limit          int      `json:"limit"`
	Timeout        int      `json:"timeout"`
	AllowedUpdates []string `json:"allowed_updates,omitempty"`
}

// getUpdates calls getUpdates and splits the result without decoding the updates: one
// update this version of gotgbot cannot decode must not make the whole batch (and every
// later poll) fail.
func (p *Poller) getUpdates(ctx context.Context, req getUpdates, timeout time.Duration) ([]json.RawMessage, error) {
	var raw []json.RawMessage
	if err := p.api.Do(ctx, "getUpdates", req, &raw, timeout); err != nil {
		var te *gotgbot.TelegramError
		if errors.As(err, &te) && te.Code == http.StatusUnauthorized {
			return nil, ErrUnauthorized
		}
		return nil, fmt.Errorf("getUpdates at offset %d: %w", req.Offset, err)
	}
	return raw, nil
}

// Drain waits, until ctx is done, for every delivered update to finish, then confirms the
// finished ones to Telegram with a last getUpdates. Updates unfinished when ctx ends stay
// unconfirmed, so the next process gets them again.
func (p *Poller) Drain(ctx context.Context) error {
	if p.journal != nil {
		return p.drainJournaled(ctx)
	}
wait:
	for {
		if _, _, inflight := p.win.state(); inflight == 0 {
			break
		}
		select {
		case <-p.win.changed:
		case <-ctx.Done():
			break wait
		}
	}
	offset, _, inflight := p.win.state()
	// limit 1 and timeout 0: the call is only for its offset. The update it returns, if
	// any, is not confirmed by it.
	var discard []json.RawMessage
	if err := p.api.Do(context.WithoutCancel(ctx), "getUpdates", getUpdates{Offset: offset, Limit: 1}, &discard, 5*time.Second); err != nil {
		return fmt.Errorf("confirm offset %d: %w", offset, err)
	}
	if inflight > 0 {
		return fmt.Errorf("intake: %d updates unfinished at shutdown, left for the next run: %w", inflight, ctx.Err())
	}
	return nil
}

// Stats is a snapshot of a Poller's counters.
type Stats struct {
	Fetched     int64 // updates received, re-sent ones included
	Duplicates  int64 // re-sent updates recognised and skipped
	Undecodable int64 // updates skipped because they could not be decoded
	NotKept     int64 // delivered, not kept by the runtime (its store failed), to be delivered again
	InFlight    int   // delivered and not finished
	Offset      int64 // the offset the next getUpdates confirms up to
	// With a journal: Refused counts updates the journal could not take when tried (each
	// try of a held batch counts its updates), Blocked says it cannot take the batch held
	// now, so nothing is fetched.
	Refused int64
	Blocked bool
	// With a lease: Leased says the poller has one; LeaseHeld says it holds it now (it
	// polls), LeaseToken is the token of its last acquisition, LeaseAcquired and LeaseLost
	// count acquisitions and losses (a release at shutdown is no loss).
	Leased, LeaseHeld        bool
	LeaseToken               int64
	LeaseAcquired, LeaseLost int64
}

// Stats returns the Poller's counters.
func (p *Poller) Stats() Stats {
	offset, _, inflight := p.win.state()
	if p.journal != nil {
		offset, inflight = p.offset.Load(), p.journal.pending()
	}
	return Stats{Fetched: p.fetched.Load(), Duplicates: p.duplicates.Load(), Undecodable: p.undecodable.Load(), NotKept: p.notKept.Load(), InFlight: inflight, Offset: offset,
		Refused: p.refused.Load(), Blocked: p.blocked.Load(),
		Leased: p.cfg.Lease != nil, LeaseHeld: p.leaseHeld.Load(), LeaseToken: p.leaseToken.Load(), LeaseAcquired: p.leaseAcquired.Load(), LeaseLost: p.leaseLost.Load()}
}

// failed answers the failures-th failed getUpdates in a row: it logs it and waits before
// the next poll, as retryPolicy spaces them. keep is false once ctx ended; fatal is a
// refused token's error, which ends polling at once.
func (p *Poller) failed(ctx context.Context, err error, failures int) (keep bool, fatal error) {
	if ctx.Err() != nil {
		return false, nil
	}
	if errors.Is(err, ErrUnauthorized) {
		return false, err // no pause makes a revoked token good again
	}
	delay := retryPolicy.Delay(failures, rand.Float64())
	p.cfg.Logger.Warn("getUpdates failed", slog.Any("err", err), slog.Int("failures", failures), slog.String("retry_in", delay.String()))
	return backoff.Sleep(ctx, delay) == nil, nil
}

// retryPolicy spaces the polls after getUpdates failed: 0.5–1 s at first, doubling, to
// 15–30 s.
var retryPolicy = backoff.Policy{Initial: 750 * time.Millisecond, Max: 22500 * time.Millisecond, Jitter: 1.0 / 3}
