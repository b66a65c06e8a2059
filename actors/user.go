package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
	"github.com/asynkron/protoactor-go/actor"
)

// dedupWindow is how long after its commit an update id at or below the last committed one
// is known for a re-send: Telegram keeps an update a day at most, and numbers updates afresh,
// at random, after a week without any (the store applies the same rule).
const dedupWindow = 7 * 24 * time.Hour

// maxStale bounds how often one update is handled again after a stale commit: two writers
// on one key settle within a few rounds, and past that the update is not kept (and Telegram
// delivers it again) rather than spinning here.
const maxStale = 8

// userActor owns one key's record. protoactor builds a fresh one on every restart, so all it
// knows at start is its name; it reloads the committed record from the store.
type userActor[S, A any] struct {
	rt     *Runtime[S, A]
	key    int64
	rec    Record[S]
	recAt  time.Time // when rec was committed, about
	loaded bool      // rec holds the committed record (the store answered)
	seen   uint64    // number of the newest delivery handled (see shard)
	// hold is the id of an update that was not kept: the user's later updates already
	// queued are not kept either, so that none is committed before it (dedup by update id
	// would then refuse it for good); its redelivery, an id at or below it, lifts the hold.
	hold int64
}

func (a *userActor[S, A]) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *delivery:
		a.handle(m)
	case *passivate:
		c.Send(c.Parent(), &idle{key: a.key, pid: c.Self(), seen: a.seen})
	case *actor.Restarting:
		// The crashed incarnation's last message: the next one starts now.
		a.rt.system.EventStream.Publish(&Restarted{Key: a.key})
	case *actor.Started:
		a.start(c)
	}
}

func (a *userActor[S, A]) start(c actor.Context) {
	key, err := keyFromName(c.Self().Id)
	if err != nil {
		panic(err)
	}
	a.key = key
	// The outbox goes first: its actions are performed before the mailbox is taken, so
	// they keep their place before the user's new updates.
	_ = a.activate() // a failed load is answered update by update, in handle
}

// activate loads the record and performs its outbox.
func (a *userActor[S, A]) activate() error {
	if err := a.load(); err != nil {
		return err
	}
	if err := a.settle(); err != nil {
		return err
	}
	a.replay(0, nil, false)
	return nil
}

// settle waits, before this actor sends a young outbox, until it is OutboxGrace old, then
// reloads it. Replies committed moments ago may be another process's to send: the old one of
// a redeploy, still draining, whose journal this one replayed at its start. Sent and
// acknowledged by it meanwhile, they are gone from the reloaded outbox instead of sent twice.
// The user's updates wait meanwhile, as they must: their replies come after these.
func (a *userActor[S, A]) settle() error {
	grace := a.rt.cfg.OutboxGrace
	if len(a.rec.Outbox) == 0 || a.rec.Age < 0 || a.rec.Age >= grace {
		return nil
	}
	a.rt.counters.settled.Add(1)
	time.Sleep(grace - a.rec.Age)
	return a.load()
}

// load reads the committed record. A store that fails is not a reason to crash: a restart
// would fail the same way, in a loop with no update to blame. Instead each update is
// failed, and handled nothing, until the store answers again.
func (a *userActor[S, A]) load() error {
	rec, err := a.rt.store.Load(a.rt.ctx, a.key)
	if err != nil {
		a.loaded = false
		if !errors.Is(err, ErrCorrupt) {
			a.rt.storeFailed(err) // one user's record is not the store's health
		}
		return fmt.Errorf("load context of key %d: %w", a.key, err)
	}
	a.rt.storeOK()
	if rec.Version == 0 && a.rec.Version > 0 {
		rec = a.vanished(rec)
	}
	a.rec, a.loaded = rec, true
	a.recAt = a.rt.now().Add(-max(rec.Age, 0))
	return nil
}

// vanished answers a reload that found no record where this actor had committed one.
// Versions only grow, so no other writer did that: the record was flushed, evicted or
// deleted. What the actor holds is the user's last committed state; it keeps it, and its
// next commit, following version 0, writes it afresh as a snapshot. Keeping rec's outbox and
// bookkeeping keeps what the store does still hold; keeping the last update id keeps the
// updates this actor committed from being applied again, which the store can no longer tell.
func (a *userActor[S, A]) vanished(rec Record[S]) Record[S] {
	a.rt.recordVanished(a.key, a.rec.Version)
	rec.State, rec.UpdateID = a.rec.State, a.rec.UpdateID
	return rec
}

func (a *userActor[S, A]) handle(d *delivery) {
	a.seen = d.seq
	id := d.update.UpdateId
	if a.loaded && id > 0 && id <= a.rec.UpdateID && a.rt.now().Sub(a.recAt) < dedupWindow {
		// Committed already, by this actor or by the one whose record it loaded, and its
		// actions handed to the performer then (or at activation, from the outbox): a
		// journal replay that raced the update's finish, or Telegram sending it again. Known
		// here, it needs no store, which may be away: asking it would fail, and the hold
		// that failure sets would wait for a redelivery the finished journal never makes.
		// It neither waits for a hold nor lifts one.
		a.rt.counters.duplicates.Add(1)
		d.ok()
		return
	}
	if a.hold != 0 {
		if id > a.hold {
			a.notKept(d, fmt.Errorf("key %d: update %d waits for update %d: %w", a.key, id, a.hold, ErrNotKept))
			return
		}
		a.hold = 0
	}
	if !a.loaded {
		if err := a.activate(); err != nil {
			a.failed(d, err)
			return
		}
	}
	if d.throttled {
		a.rt.skip(a.key, id)
		a.rt.performer.Perform(a.rt.ctx, d.update, a.rt.logic.Throttled(d.update), a.rt.report(a.key, nil, d.finish, false))
		return
	}
	skipped := a.rt.skipped(a.key)
	for attempt := 1; ; attempt++ {
		next, actions := a.run(d)
		rec, err := a.rt.store.Commit(a.rt.ctx, a.key, a.rec, Change[S]{UpdateID: id, State: next, Outbox: a.encode(d, actions), Skipped: skipped})
		switch {
		case err == nil:
			a.rt.storeOK()
			a.rec, a.recAt = rec, a.rt.now()
			a.rt.counters.handled.Add(1)
			a.perform(d.update, actions, rec.Outbox, d.finish, d.journaled)
			return
		case errors.Is(err, ErrStale) && attempt < maxStale:
			// Another writer won: handle the update again on what it committed.
			a.rt.counters.stale.Add(1)
			if err := a.load(); err != nil {
				a.failed(d, err)
				return
			}
		case errors.Is(err, ErrDuplicate):
			// Committed already (by another writer, or by a commit whose answer was lost):
			// never apply it twice, but finish what is left of its actions.
			a.rt.counters.duplicates.Add(1)
			if err := a.load(); err != nil {
				a.failed(d, err)
				return
			}
			if err := a.settle(); err != nil {
				a.failed(d, err)
				return
			}
			a.replay(id, d.finish, d.journaled)
			return
		case errors.Is(err, ErrOutOfOrder):
			// The store is well; this update waits for the user's earlier one.
			a.rt.storeOK()
			a.notKept(d, fmt.Errorf("%w: %w", ErrNotKept, err))
			return
		case errors.Is(err, ErrStateTooLarge):
			panic(&Crash{Key: a.key, UpdateID: id, Reason: fmt.Errorf("commit context: %w", err)})
		default:
			if !errors.Is(err, ErrCorrupt) {
				a.rt.storeFailed(err)
			}
			a.failed(d, err)
			return
		}
	}
}

// failed answers an update the store failed. A corrupt record is the user's alone and will
// not heal by itself: they get an apology, the update is finished, and the record is left for
// an operator. Anything else (down, timeout, full) is the store's, and passes: the update is
// not kept and not confirmed, the user is told nothing yet, and the store reported unhealthy.
func (a *userActor[S, A]) failed(d *delivery, err error) {
	if errors.Is(err, ErrCorrupt) {
		a.rt.counters.corrupt.Add(1)
		a.rt.counters.crashes.Add(1)
		a.rt.log.Error("user context cannot be decoded; left as it is", slog.Int64("key", a.key), slog.Int64("update", d.update.UpdateId), slog.Any("err", err))
		crash := &Crash{Key: a.key, UpdateID: d.update.UpdateId, Reason: err}
		a.rt.performer.Perform(a.rt.ctx, d.update, a.rt.logic.Apology(d.update, crash, 0), a.rt.report(a.key, nil, d.finish, false))
		return
	}
	a.notKept(d, fmt.Errorf("%w: %w", ErrNotKept, err))
}

// notKept finishes d as not kept. The performer still sees it, with no actions, so that a
// button press is answered (its client spins until it is).
func (a *userActor[S, A]) notKept(d *delivery, err error) {
	a.rt.counters.notKept.Add(1)
	if a.hold == 0 || d.update.UpdateId < a.hold {
		a.hold = d.update.UpdateId
	}
	a.rt.performer.Perform(a.rt.ctx, d.update, nil, a.rt.report(a.key, nil, func(error) { d.finish(err) }, false))
}

// encode turns the actions into outbox entries; none without a codec. An action that
// cannot be encoded is a bug of the application, crashed like a panic in its Logic.
func (a *userActor[S, A]) encode(d *delivery, actions []A) [][]byte {
	if a.rt.codec == nil || len(actions) == 0 {
		return nil
	}
	out := make([][]byte, len(actions))
	for i, act := range actions {
		b, err := a.rt.codec.Encode(d.update, act)
		if err != nil {
			panic(&Crash{Key: a.key, UpdateID: d.update.UpdateId, Reason: fmt.Errorf("encode action %d: %w", i, err), Panic: true})
		}
		out[i] = b
	}
	return out
}

// perform hands committed actions to the performer; entries are their outbox entries, in
// the actions' order (none without an outbox). While they are performed the update is marked
// as being sent, so that a reload meanwhile (a restart, a duplicate) does not send them a
// second time. journaled: finish(nil) is followed by the update's finish in the store's
// journal (see report).
func (a *userActor[S, A]) perform(u *gotgbot.Update, actions []A, entries []Entry, finish func(error), journaled bool) {
	if len(entries) == 0 {
		a.rt.performer.Perform(a.rt.ctx, u, actions, a.rt.report(a.key, nil, finish, false))
		return
	}
	sk := sending{key: a.key, update: u.UpdateId}
	a.rt.sending.Store(sk, struct{}{})
	a.rt.performer.Perform(a.rt.ctx, u, actions, a.rt.report(a.key, entries, func(err error) {
		a.rt.sending.Delete(sk)
		finish(err)
	}, journaled))
}

// report is the Report of one update's actions for key: entries[i] is acknowledged as
// actions[i] is performed, accepted or failed for good (a resend would fail the same way),
// and kept when it was not performed. finish is called once: when the update is finished,
// or, with no outbox, as soon as its actions are queued (nothing durable waits on them).
// journaled: finish(nil) is followed by the update's finish in the store's journal, so the
// last entry's acknowledgement may be left to that (AckDeferrer), one round trip less.
func (rt *Runtime[S, A]) report(key int64, entries []Entry, finish func(error), journaled bool) Report {
	// deferred: the last entry was left to the journal's finish (only when it may be: the
	// variable costs an allocation, which the others need not pay).
	var deferred *atomic.Bool
	if journaled && rt.deferrer != nil && len(entries) > 0 {
		deferred = new(atomic.Bool)
	}
	return func(step int, err error) {
		switch {
		case step >= 0:
			if step < len(entries) && !errors.Is(err, ErrNotPerformed) {
				if deferred != nil && step == len(entries)-1 && rt.deferrer.DeferAck(key, entries[step]) {
					deferred.Store(true)
					return
				}
				rt.ack(key, entries[step])
			}
		case step == Queued:
			if rt.codec == nil {
				finish(nil)
			}
		case step == Finished:
			if errors.Is(err, ErrNotPerformed) {
				// Committed, not all performed: what is left stays in the outbox, and
				// intake keeps the update, whose redelivery finds it (ErrDuplicate). The
				// journal's finish will not come now: the last entry, performed, is
				// acknowledged here instead.
				if deferred != nil && deferred.Load() {
					rt.ack(key, entries[len(entries)-1])
				}
				finish(fmt.Errorf("%w: %w", ErrNotKept, err))
				return
			}
			finish(nil)
		}
	}
}

// ack removes one outbox entry. One that stays is sent again after a restart: at least once.
func (rt *Runtime[S, A]) ack(key int64, e Entry) {
	if err := rt.store.AckEntry(rt.ctx, key, e); err != nil {
		rt.storeFailed(err)
		rt.log.Warn("outbox entry not acknowledged", slog.Int64("key", key), slog.Int64("update", e.UpdateID), slog.Int("seq", e.Seq), slog.Any("err", err))
	}
}

// replay performs the loaded record's outbox, update by update in commit order, leaving out
// what this process is sending already; an update cut off after some of its actions has
// only the rest left. then, if not nil, is the finish of update id: called once its entries
// are finished, or at once when it has none left.
func (a *userActor[S, A]) replay(id int64, then func(error), journaled bool) {
	entries := a.rec.Outbox
	for len(entries) > 0 {
		n := 1
		for n < len(entries) && entries[n].UpdateID == entries[0].UpdateID {
			n++
		}
		group, upd := entries[:n], entries[0].UpdateID
		entries = entries[n:]
		finish, finishes := func(error) {}, false
		if upd == id && then != nil {
			finish, then, finishes = then, nil, journaled
		}
		if _, busy := a.rt.sending.Load(sending{key: a.key, update: upd}); busy {
			finish(nil)
			continue
		}
		u, actions, err := a.decode(group)
		if err != nil {
			a.rt.log.Error("outbox entry cannot be decoded; dropped", slog.Int64("key", a.key), slog.Int64("update", upd), slog.Any("err", err))
			if err := a.rt.store.Ack(a.rt.ctx, a.key, upd); err != nil {
				a.rt.storeFailed(err)
			}
			finish(nil)
			continue
		}
		a.rt.counters.resent.Add(int64(len(actions)))
		a.perform(u, actions, group, finish, finishes)
	}
	if then != nil {
		then(nil)
	}
}

func (a *userActor[S, A]) decode(group []Entry) (*gotgbot.Update, []A, error) {
	if a.rt.codec == nil {
		return nil, nil, errors.New("no action codec")
	}
	var u *gotgbot.Update
	actions := make([]A, len(group))
	for i, e := range group {
		eu, act, err := a.rt.codec.Decode(e.Data)
		if err != nil {
			return nil, nil, fmt.Errorf("entry %d: %w", e.Seq, err)
		}
		if u == nil {
			u = eu
		}
		actions[i] = act
	}
	if u == nil {
		u = &gotgbot.Update{}
	}
	u.UpdateId = group[0].UpdateID
	return u, actions, nil
}

// run is Logic.Handle with its panic turned into a *Crash carrying the stack.
func (a *userActor[S, A]) run(d *delivery) (S, []A) {
	defer func() {
		if r := recover(); r != nil {
			panic(&Crash{Key: a.key, UpdateID: d.update.UpdateId, Reason: r, Stack: debug.Stack(), Panic: true})
		}
	}()
	return a.rt.logic.Handle(a.rec.State, d.update)
}

// userPrefix names a user actor after its key, so the actor can find its key again after a
// restart without a per-actor Props and without a reverse map in the shard. protoactor
// appends a unique suffix, so a new actor for a key never collides with one still stopping.
func userPrefix(key int64) string {
	return "u" + strconv.FormatInt(key, 10) + "-"
}

// keyFromName parses the key back out of an id such as "shard3/u-100123-$42".
func keyFromName(id string) (int64, error) {
	name := id[strings.LastIndexByte(id, '/')+1:]
	end := strings.LastIndexByte(name, '-')
	if !strings.HasPrefix(name, "u") || end < 1 {
		return 0, fmt.Errorf("actor id %q: not a user actor name", id)
	}
	key, err := strconv.ParseInt(name[1:end], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("actor id %q: %w", id, err)
	}
	return key, nil
}
