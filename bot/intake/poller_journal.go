package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/internal/backoff"
)

// NewJournaledPoller returns a Poller that confirms a batch to Telegram once it is in j,
// not once its updates are finished: a user whose replies wait (a retry_after, a slow store)
// holds up only that user, not the 100-update window of everyone. Its Run first hands j's
// unfinished updates to s, and again, between polls, after one was not kept.
func NewJournaledPoller(api API, s Submitter, j Journal, cfg PollerConfig) *Poller {
	p := NewPoller(api, nil, cfg)
	p.journal = newJournaler(j, s, p.cfg.Logger, p.cfg.JournalSweep, cfg.Forward)
	return p
}

// journalFullRetry spaces the tries to journal a batch while the journal is full: room
// comes as updates finish, which takes their replies' time.
var journalFullRetry = backoff.Policy{Initial: 50 * time.Millisecond, Max: 2 * time.Second, Jitter: 1.0 / 3}

// runJournaled is Run with a journal: poll, journal the batch (until it fits), confirm it
// with the next poll, submit its updates; with a lease, only while holding it.
func (p *Poller) runJournaled(ctx context.Context) error {
	if p.cfg.Lease != nil {
		return p.runLeased(ctx)
	}
	return p.pollJournaled(ctx, 0)
}

// pollJournaled replays the journal, then polls and journals until ctx ends (nil), the
// token is refused (ErrUnauthorized) or, with a lease (token > 0), the journal refuses the
// lease's token (an error wrapping ErrLeaseLost).
func (p *Poller) pollJournaled(ctx context.Context, token int64) error {
	if p.journal.replayUntil(ctx) != nil {
		return nil
	}
	defer p.journal.startSweeping(ctx)()
	failures, replays := 0, 0
	for ctx.Err() == nil {
		select {
		case <-p.journal.failed:
			// Between polls, so that no update newer than the ones not kept is submitted
			// before them.
			replays++
			if backoff.Sleep(ctx, replayRetry.Delay(replays, 0)) != nil || p.journal.replayUntil(ctx) != nil {
				return nil
			}
			continue
		default:
			replays = 0
		}
		raw, err := p.getUpdates(ctx, getUpdates{Offset: p.offset.Load(), Limit: p.cfg.Limit, Timeout: int(p.cfg.Timeout / time.Second), AllowedUpdates: p.cfg.AllowedUpdates}, p.cfg.Timeout+15*time.Second)
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
		p.fetched.Add(int64(len(raw)))
		if err := p.journalBatch(ctx, token, raw); err != nil {
			if errors.Is(err, ErrLeaseLost) {
				return err
			}
			return nil // ctx ended while the journal was full: the batch stays with Telegram
		}
	}
	return nil
}

// journalBatch decodes a fetched batch, journals it (waiting while the journal is full, so
// that no more is fetched), moves the offset past it and submits its updates. With a lease
// the append is fenced by token.
func (p *Poller) journalBatch(ctx context.Context, token int64, raw []json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	batch := make([]Journaled, 0, len(raw))
	ups := make([]*gotgbot.Update, 0, len(raw))
	raws := make([][]byte, 0, len(raw))
	last := int64(0)
	for _, r := range raw {
		u, err := DecodeUpdate(r)
		if err != nil {
			// ue is declared here, not beside u: errors.As takes its address, which moves it
			// to the heap, once per update if it were declared for every one.
			var ue *UndecodableError
			p.undecodable.Add(1)
			if errors.As(err, &ue) {
				p.cfg.Logger.Error("undecodable update skipped", slog.Int64("update", ue.ID), slog.Any("err", ue.Err))
				last = max(last, ue.ID)
			} else {
				p.cfg.Logger.Error("undecodable update skipped", slog.Any("err", err))
			}
			continue
		}
		last = max(last, u.UpdateId)
		batch = append(batch, item(u, r))
		ups = append(ups, u)
		raws = append(raws, r)
	}
	if err := p.appendAll(ctx, token, batch); err != nil {
		return err
	}
	p.offset.Store(last + 1)
	for i, u := range ups {
		if _, err := p.journal.submit(u, raws[i], nil); err != nil {
			p.cfg.Logger.Warn("journaled update left for the next process", slog.Int64("update", u.UpdateId), slog.Any("err", err))
		}
	}
	return nil
}

// appendAll journals batch, split in halves while it is too large, and waits while the
// journal is full or away. It returns an error only when ctx ends first or the lease's
// token is refused (then nothing more of the batch is journaled).
func (p *Poller) appendAll(ctx context.Context, token int64, batch []Journaled) error {
	for attempt := 1; len(batch) > 0; attempt++ {
		var err error
		if token > 0 {
			err = p.cfg.Lease.Append(ctx, token, batch)
		} else {
			err = p.journal.j.Append(ctx, batch)
		}
		if err == nil {
			p.blocked.Store(false)
			return nil
		}
		if errors.Is(err, ErrLeaseLost) {
			p.blocked.Store(false) // not this process's to fetch any more
			return err
		}
		if errors.Is(err, ErrBatchTooLarge) && len(batch) > 1 {
			half := len(batch) / 2
			if err := p.appendAll(ctx, token, batch[:half]); err != nil {
				return err
			}
			return p.appendAll(ctx, token, batch[half:])
		}
		p.blocked.Store(true)
		p.refused.Add(int64(len(batch)))
		delay := journalFullRetry.Delay(attempt, rand.Float64())
		if attempt == 1 || attempt%20 == 0 {
			p.cfg.Logger.Warn("journal cannot take the batch; not fetching", slog.Int("updates", len(batch)), slog.Int64("first", batch[0].UpdateID), slog.Any("err", err), slog.Int("attempt", attempt))
		}
		if err := backoff.Sleep(ctx, delay); err != nil {
			return fmt.Errorf("intake: journal updates from %d: %w", batch[0].UpdateID, err)
		}
	}
	return nil
}

// drainJournaled waits for the submitted updates and confirms the journaled offset. With a
// lease Run confirmed it before releasing the lease: a getUpdates now would cut the
// successor's long poll short (409), or be a standby's, which never polls.
func (p *Poller) drainJournaled(ctx context.Context) error {
	p.journal.leave(p.cfg.Leave)
	left := p.journal.drain(ctx)
	if p.cfg.Lease == nil {
		if err := p.confirm(ctx); err != nil {
			return err
		}
	}
	if left > 0 {
		// They are journaled: the next process hands them out first.
		return fmt.Errorf("intake: %d journaled updates unfinished at shutdown, left for the next run: %w", left, ctx.Err())
	}
	return nil
}

// Accept takes an update another cluster member forwarded here (see PollerConfig.Forward):
// it returns once this member's runtime has it.
func (p *Poller) Accept(raw []byte) error {
	if p.journal == nil {
		return errors.New("intake: a poller without a journal takes no forwarded updates")
	}
	return p.journal.accept(raw)
}

// Replay has the journal replayed soon (see Webhook.Replay).
func (p *Poller) Replay() {
	if p.journal != nil {
		signal(p.journal.failed)
	}
}

// confirm tells Telegram, with a getUpdates of limit 1 and timeout 0, that everything
// journaled is received. The update it returns, if any, is not confirmed by it.
func (p *Poller) confirm(ctx context.Context) error {
	var discard []json.RawMessage
	offset := p.offset.Load()
	if err := p.api.Do(context.WithoutCancel(ctx), "getUpdates", getUpdates{Offset: offset, Limit: 1}, &discard, 5*time.Second); err != nil {
		return fmt.Errorf("confirm offset %d: %w", offset, err)
	}
	return nil
}
