package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/internal/backoff"
)

// Journal keeps the updates intake has confirmed to Telegram and the runtime has not
// finished, on a durable store (cmd/bot adapts redisstore's): what makes confirming an
// update before it is finished safe, since a crash leaves it there for the next process.
type Journal interface {
	// Append keeps updates in one atomic step, skipping those it holds or finished lately.
	// An error means none was kept and none may be confirmed.
	Append(ctx context.Context, items []Journaled) error
	// Pending returns up to n unfinished updates with an id above after, in id order.
	Pending(ctx context.Context, after int64, n int) ([]Journaled, error)
	// Finish removes finished updates.
	Finish(ctx context.Context, ids ...int64) error
}

// The refusals a Journal's Append wraps, for intake to tell apart.
var (
	// ErrJournalFull: the journal has no room now (its bounds, or its server's memory);
	// room comes back as updates finish.
	ErrJournalFull = errors.New("intake: journal is full")
	// ErrBatchTooLarge: the batch could never fit; split it.
	ErrBatchTooLarge = errors.New("intake: batch too large for the journal")
)

// JournalStats is a Journal's size and bounds, for /status and /metrics.
type JournalStats struct {
	Len, Cap        int   // unfinished updates, and the most it holds
	Bytes, MaxBytes int64 // their bytes, and the most it holds
}

// Journaled is one update in a Journal: its id, the key the runtime routes it by and the
// update as it arrived.
type Journaled struct {
	UpdateID, Key int64
	Raw           []byte
}

// JournaledSubmitter is a Submitter that can be told an update is journaled, its done(nil)
// followed by the update's Finish in the journal (actors.Runtime's SubmitJournaled): the
// store may then leave the update's last acknowledgement to that Finish.
type JournaledSubmitter interface {
	SubmitJournaled(u *gotgbot.Update, done func(err error)) error
}

// Forwarder hands a journaled update to the process whose actor has its key, a cluster
// member (cmd/bot adapts cluster.Member), and returns once that process has it in hand, or
// with ctx's error; that process finishes it. It tries until then: the update is journaled,
// so a try lost on the way loses nothing.
type Forwarder interface {
	Forward(ctx context.Context, key, updateID int64, raw []byte) error
}

// journalPage is how many pending updates one replay step reads.
const journalPage = 500

// replayRetry spaces the replays after an update was not kept (its store failed): the store
// needs a moment, and every replay reads the journal.
var replayRetry = backoff.Policy{Initial: 200 * time.Millisecond, Max: 5 * time.Second}

// journaler hands journaled updates to the runtime and finishes them in the journal once
// the runtime kept them. Updates the runtime did not keep stay journaled and are handed out
// again by the next replay, in id order, which keeps each user's order: the runtime refuses
// a user's later updates while an earlier one waits (actors' hold), and a durable store
// refuses to commit them while the journal holds an earlier one of the user, whichever actor
// or process has it (redisstore's ErrOutOfOrder), so they come back too. With redisstore a
// commit with no replies finishes its update in the journal, and the Finish here sends
// nothing for it.
type journaler struct {
	j Journal
	// submitTo is the runtime's Submit, or its SubmitJournaled when it has one (chosen
	// once, not per update).
	submitTo func(u *gotgbot.Update, done func(err error)) error
	log      *slog.Logger

	// fwd, in a cluster, takes the updates this process journals or replays to the member
	// of their key (perhaps this one, whose Accept then submits them here); nil submits them
	// to s. fwdCtx ends the forwarding at stopForwarding.
	fwd        Forwarder
	fwdCtx     context.Context
	stopFwd    context.CancelFunc
	forwarding map[int64]*keyQueue // the keys with updates on their way, each in order
	// sent holds the ids on their way to their member: apart from inflight, because the
	// member may be this one, whose accept must then submit the update here.
	sent map[int64]struct{}

	mu       sync.Mutex
	inflight map[int64]struct{} // submitted or forwarding, not yet done: a replay must not submit them twice
	failed   chan struct{}      // a token when an update came back not kept
	changed  chan struct{}      // a token when an update is done

	fin finishing

	sweepEvery time.Duration
	swept      int64 // the newest pending id the last sweep read (see sweep)
}

// defaultSweep is how often the journal is swept for updates nobody has in hand.
const defaultSweep = 15 * time.Second

func newJournaler(j Journal, s Submitter, log *slog.Logger, sweepEvery time.Duration, fwd Forwarder) *journaler {
	if sweepEvery <= 0 {
		sweepEvery = defaultSweep
	}
	jr := &journaler{j: j, submitTo: s.Submit, log: log, inflight: map[int64]struct{}{}, failed: make(chan struct{}, 1), changed: make(chan struct{}, 1), sweepEvery: sweepEvery}
	if js, ok := s.(JournaledSubmitter); ok {
		jr.submitTo = js.SubmitJournaled // done(nil) is followed by jr.finish
	}
	if fwd != nil {
		jr.fwd, jr.forwarding, jr.sent = fwd, map[int64]*keyQueue{}, map[int64]struct{}{}
		jr.fwdCtx, jr.stopFwd = context.WithCancel(context.Background())
	}
	return jr
}

// keyQueue is one key's updates waiting to be forwarded, oldest first: one key's go one at a
// time, so its member gets them in the order they were journaled (the store would refuse a
// later one committed first, and it would come back at the next replay: correct, but slow).
type keyQueue struct {
	items []forwardItem
}

type forwardItem struct {
	id   int64
	raw  []byte
	done func()
}

// forward queues u behind its key's updates on their way to their member; one goroutine per
// key with updates queued forwards them.
func (jr *journaler) forward(u *gotgbot.Update, raw []byte, done func()) bool {
	id := u.UpdateId
	key, _ := actors.KeyOf(u)
	jr.mu.Lock()
	if _, ok := jr.sent[id]; ok {
		jr.mu.Unlock()
		if done != nil {
			done()
		}
		return false
	}
	jr.sent[id] = struct{}{}
	q, busy := jr.forwarding[key]
	if !busy {
		q = &keyQueue{}
		jr.forwarding[key] = q
	}
	// raw may be the webhook's request buffer, reused once the request is answered.
	q.items = append(q.items, forwardItem{id: id, raw: bytes.Clone(raw), done: done})
	jr.mu.Unlock()
	if !busy {
		go jr.forwardKey(key, q)
	}
	return true
}

// forwardKey forwards q's updates in order until it is empty.
func (jr *journaler) forwardKey(key int64, q *keyQueue) {
	for {
		jr.mu.Lock()
		if len(q.items) == 0 {
			delete(jr.forwarding, key)
			jr.mu.Unlock()
			return
		}
		it := q.items[0]
		q.items = q.items[1:]
		jr.mu.Unlock()
		// Once the member has it, it is that member's to finish (and its journaler's to
		// count in flight); this one forgets it. The journal keeps it until it is finished.
		err := jr.fwd.Forward(jr.fwdCtx, key, it.id, it.raw)
		jr.mu.Lock()
		delete(jr.sent, it.id)
		jr.mu.Unlock()
		if err != nil && jr.fwdCtx.Err() == nil {
			jr.log.Warn("journaled update not forwarded; replayed later", slog.Int64("update", it.id), slog.Int64("key", key), slog.Any("err", err))
			signal(jr.failed)
		}
		signal(jr.changed)
		if it.done != nil {
			it.done()
		}
	}
}

// leave begins a cluster member's drain: it leaves the cluster (f), then gives up the
// forwards still trying, whose updates stay journaled for the members that carry on (each
// replays the journal when a member leaves). What is in this member's runtime is left for
// drain to wait on.
func (jr *journaler) leave(f func()) {
	if jr.fwd == nil {
		return
	}
	if f != nil {
		f()
	}
	jr.stopFwd()
}

// accept takes an update another process forwarded (or this one, to itself): it goes to
// this process's runtime, and is finished in the journal here once the runtime is done.
func (jr *journaler) accept(raw []byte) error {
	u, err := DecodeUpdate(raw)
	if err != nil {
		return fmt.Errorf("intake: forwarded update: %w", err)
	}
	_, err = jr.take(u, nil)
	return err
}

// item is u as the journal keeps it.
func item(u *gotgbot.Update, raw []byte) Journaled {
	key, _ := actors.KeyOf(u)
	return Journaled{UpdateID: u.UpdateId, Key: key, Raw: raw}
}

// submit hands u to the runtime, or in a cluster to the member of its key, unless it is
// already on its way, and says whether it did; raw is u as journaled. done, if not nil, is
// called once u is done, kept or not, or in a cluster once its member has it (at once when
// it was on its way already).
func (jr *journaler) submit(u *gotgbot.Update, raw []byte, done func()) (bool, error) {
	if jr.fwd != nil {
		return jr.forward(u, raw, done), nil
	}
	return jr.take(u, done)
}

// take hands u to this process's runtime unless it is there already; see submit.
func (jr *journaler) take(u *gotgbot.Update, done func()) (bool, error) {
	id := u.UpdateId
	jr.mu.Lock()
	if _, ok := jr.inflight[id]; ok {
		jr.mu.Unlock()
		if done != nil {
			done()
		}
		return false, nil
	}
	jr.inflight[id] = struct{}{}
	jr.mu.Unlock()
	err := jr.submitTo(u, func(err error) {
		after := func() {
			jr.release(id)
			if err != nil {
				jr.log.Debug("journaled update not kept; replayed later", slog.Int64("update", id), slog.Any("err", err))
				signal(jr.failed)
			}
			signal(jr.changed)
			if done != nil {
				done()
			}
		}
		if err != nil {
			after()
			return
		}
		jr.finish(id, after)
	})
	if err != nil {
		jr.release(id)
		if done != nil {
			done()
		}
		return false, fmt.Errorf("intake: submit journaled update %d: %w", id, err)
	}
	return true, nil
}

// release forgets id as in flight.
func (jr *journaler) release(id int64) {
	jr.mu.Lock()
	delete(jr.inflight, id)
	jr.mu.Unlock()
}

// maxFinish bounds the ids of one Finish call.
const maxFinish = 500

// finishing batches the journal's Finish calls: updates done while a call is on its way go
// together in the next one, so a busy bot pays a fraction of a call per update, and one
// update alone pays one call at once.
type finishing struct {
	mu      sync.Mutex
	pending []finished
	busy    bool // a goroutine is finishing batches
}

type finished struct {
	id    int64
	after func() // once the call that finished it returned
}

// finish takes id out of the journal, in a batch, then calls after. A Finish that fails
// leaves the update pending: the next replay hands it out again, and the runtime, which
// committed it, does not apply it twice.
func (jr *journaler) finish(id int64, after func()) {
	f := &jr.fin
	f.mu.Lock()
	f.pending = append(f.pending, finished{id: id, after: after})
	if f.busy {
		f.mu.Unlock()
		return
	}
	f.busy = true
	f.mu.Unlock()
	go func() {
		for {
			f.mu.Lock()
			n := min(len(f.pending), maxFinish)
			if n == 0 {
				f.busy = false
				f.mu.Unlock()
				return
			}
			batch := f.pending[:n:n]
			f.pending = f.pending[n:]
			f.mu.Unlock()
			ids := make([]int64, len(batch))
			for i, b := range batch {
				ids[i] = b.id
			}
			if err := jr.j.Finish(context.Background(), ids...); err != nil {
				jr.log.Warn("journal finish failed", slog.Int("updates", len(ids)), slog.Int64("first", ids[0]), slog.Any("err", err))
			}
			for _, b := range batch {
				b.after()
			}
		}
	}()
}

// replay pages through the journal in id order and submits every update not in flight.
// It returns how many it submitted.
func (jr *journaler) replay(ctx context.Context) (int, error) {
	n, _, err := jr.handOver(ctx, 0)
	return n, err
}

// sweep hands over the journal's updates that nobody may have in hand: another process
// took them and stopped, or was killed, after this one replayed the journal at its start
// (the overlap of a redeploy), so no replay of this process's would ever find them. An
// update the journal held at the last sweep already (an id no newer than the newest that
// sweep read) and this process has not in flight is such a one; a newer one may be on its
// way to the runtime from whoever journaled it a moment ago. Handing over one that another
// live process holds is harmless: the store commits it once and keeps each user's order.
func (jr *journaler) sweep(ctx context.Context) (int, error) {
	n, newest, err := jr.handOver(ctx, jr.swept)
	if err == nil {
		jr.swept = newest
	}
	return n, err
}

// handOver pages through the journal in id order and submits every update not in flight,
// up to id upTo (0: all of them). It returns how many it submitted and the newest id read.
func (jr *journaler) handOver(ctx context.Context, upTo int64) (n int, newest int64, err error) {
	var after int64
	for {
		page, err := jr.j.Pending(ctx, after, journalPage)
		if err != nil {
			return n, after, fmt.Errorf("intake: replay the journal after update %d: %w", after, err)
		}
		for _, it := range page {
			after = it.UpdateID
			if upTo > 0 && it.UpdateID > upTo {
				return n, after, nil
			}
			u, err := DecodeUpdate(it.Raw)
			if err != nil {
				// It was decoded when it arrived; a journal that holds it otherwise is not
				// the user's to wait on.
				jr.log.Error("journaled update cannot be decoded; finished", slog.Int64("update", it.UpdateID), slog.Any("err", err))
				if ferr := jr.j.Finish(ctx, it.UpdateID); ferr != nil {
					return n, after, fmt.Errorf("intake: finish undecodable journaled update %d: %w", it.UpdateID, ferr)
				}
				continue
			}
			handed, err := jr.submit(u, it.Raw, nil)
			if err != nil {
				return n, after, err
			}
			if handed {
				n++
			}
		}
		if len(page) < journalPage {
			return n, after, nil
		}
	}
}

// startSweeping runs sweeping in a goroutine; stop ends it and returns once it has.
func (jr *journaler) startSweeping(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		jr.sweeping(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// sweeping runs sweep every sweepEvery until ctx ends, logging what it handed over.
func (jr *journaler) sweeping(ctx context.Context) {
	t := time.NewTicker(jr.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := jr.sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !errors.Is(err, actors.ErrClosed):
			jr.log.Warn("journal sweep failed", slog.Any("err", err))
		case n > 0:
			jr.log.Info("journal sweep handed over updates no process had in hand", slog.Int("updates", n))
		}
	}
}

// replayUntil replays the journal until one replay reads it whole, waiting between tries
// (the store may be away at start). It returns ctx's error if ctx ends first.
func (jr *journaler) replayUntil(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		n, err := jr.replay(ctx)
		if err == nil {
			if n > 0 {
				jr.log.Info("journal replayed", slog.Int("updates", n))
			}
			return nil
		}
		if errors.Is(err, actors.ErrClosed) {
			return err
		}
		delay := replayRetry.Delay(attempt, 0)
		jr.log.Warn("journal replay failed", slog.Any("err", err), slog.Int("attempt", attempt), slog.String("retry_in", delay.String()))
		if err := backoff.Sleep(ctx, delay); err != nil {
			return err
		}
	}
}

// pending returns how many submitted updates are not done, and in a cluster how many are
// on their way to their member.
func (jr *journaler) pending() int {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	return len(jr.inflight) + len(jr.sent)
}

// drain waits until every submitted update is done, or ctx ends; it returns how many are
// left.
func (jr *journaler) drain(ctx context.Context) int {
	for {
		n := jr.pending()
		if n == 0 {
			return 0
		}
		select {
		case <-jr.changed:
		case <-ctx.Done():
			return jr.pending()
		}
	}
}

// signal leaves a token in ch unless one is there.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
