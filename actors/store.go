package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Store keeps the last committed record of every key: its state, and with a durable store
// the update that state answers and the actions of that update not yet performed (the
// outbox). A user actor loads its key's record when it starts (and after every restart),
// commits after each update it handled and acknowledges the outbox as the actions finish.
// Implementations must be safe for concurrent use by many actors; a key is meant to be used
// by one actor at a time, and a durable store fences the others off (ErrStale).
type Store[S any] interface {
	// Load returns the committed record of key; Version == 0 if nothing was committed.
	Load(ctx context.Context, key int64) (Record[S], error)
	// Commit makes ch the committed record of key, following prev (what Load or the last
	// Commit returned), and returns the record the next commit follows. A durable store
	// refuses with an error wrapping ErrStale, ErrDuplicate or ErrCorrupt, writing nothing.
	Commit(ctx context.Context, key int64, prev Record[S], ch Change[S]) (Record[S], error)
	// Ack removes the outbox entries of one update: its actions are finished.
	Ack(ctx context.Context, key, updateID int64) error
	// AckEntry removes one outbox entry (its UpdateID and Seq name it): that action is
	// finished.
	AckEntry(ctx context.Context, key int64, e Entry) error
}

// AckDeferrer is a Store whose intake journal can take an update's last acknowledgement:
// when intake finishes the update there, the same step removes what is left of its outbox
// (redisstore's, with its journal attached). It saves a round trip per update. The runtime
// asks only for an update it was given with SubmitJournaled, whose done(nil) intake follows
// with that finish, once the update's last action is performed and the others are
// acknowledged.
type AckDeferrer interface {
	// DeferAck reports whether the journal's finish of e's update will acknowledge e, the
	// update's last outbox entry; until then a Load leaves e out, as if acknowledged.
	DeferAck(key int64, e Entry) bool
}

// Record is a key's committed record as a Store returns it.
type Record[S any] struct {
	State S
	// Version counts the key's commits (a store may start anywhere); 0 means none.
	Version int64
	// UpdateID is the last committed update's id; 0 if none or not kept.
	UpdateID int64
	// Outbox holds the encoded actions not yet acknowledged, in commit order; in a record
	// Commit returned, only the ones that commit added.
	Outbox []Entry
	// Age is how long ago a durable store's last commit of the key was, as Load saw it;
	// negative when unknown. A young outbox may be another process's, still sending it.
	Age time.Duration
	// Token is the store's own bookkeeping, handed back to it with the next Commit.
	Token any
}

// Entry is one action waiting in the outbox: the Data of the Seq-th action of an update.
type Entry struct {
	UpdateID int64
	Seq      int
	Data     []byte
}

// Change is what one handled update commits.
type Change[S any] struct {
	// UpdateID is the update's id; a durable store refuses one at or below the last
	// committed (ErrDuplicate).
	UpdateID int64
	State    S
	// Outbox holds the update's actions, encoded (see ActionCodec); nil with no codec.
	Outbox [][]byte
	// Skipped are the ids of the key's updates answered since the last commit without one
	// (throttled, paused, crashed): a durable store lets them go from the intake journal
	// with this commit, so that an update answered that way, whose own finish may still be
	// on its way, does not hold this one back (ErrOutOfOrder).
	Skipped []int64
}

// The refusals a durable store's Commit wraps, for the runtime to tell apart.
var (
	// ErrStale: another writer committed since prev was loaded; nothing was written.
	ErrStale = errors.New("actors: stale record")
	// ErrDuplicate: the update was committed already; its actions, if not yet
	// acknowledged, are in the record's outbox.
	ErrDuplicate = errors.New("actors: update already committed")
	// ErrCorrupt: the stored record cannot be decoded; the store keeps it as it is.
	ErrCorrupt = errors.New("actors: record cannot be decoded")
	// ErrNotKept is what Submit's done receives when the update could not be committed
	// (the store is down, slow or full): nothing of it was kept, and intake should leave it
	// unconfirmed so that Telegram delivers it again.
	ErrNotKept = errors.New("actors: update not kept")
	// ErrOutOfOrder: the store holds an earlier update of the key unfinished (in an intake
	// journal), which must be committed first; nothing was written, and the update is not
	// kept, to be handed out again after the earlier one.
	ErrOutOfOrder = errors.New("actors: an earlier update of the key is unfinished")
)

// ErrStateTooLarge is returned by MemoryStore.Commit for a state over MaxSize. The runtime
// treats it like any failed update: nothing is committed and the user gets an apology.
var ErrStateTooLarge = errors.New("actors: state too large to commit")

// vanishLogEvery spaces the "records vanished" log lines: a flush empties every user's
// record at once, and one line says so better than one per resident user.
const vanishLogEvery = time.Minute

// recordVanished counts a record found gone while key's actor held its version held, and
// logs it, in one line per flush rather than one per user.
func (rt *Runtime[S, A]) recordVanished(key, held int64) {
	n := rt.counters.vanished.Add(1)
	now := rt.now().UnixNano()
	last := rt.vanishLog.Load()
	if last != 0 && now-last < int64(vanishLogEvery) || !rt.vanishLog.CompareAndSwap(last, now) {
		return
	}
	rt.log.Error("user records vanished from the store (FLUSHALL, eviction or deletion): users in memory are written back from it; users not in memory start afresh, and journaled updates not yet handled are lost",
		slog.Int64("key", key), slog.Int64("held_version", held), slog.Int64("vanished_total", n))
}

var _ Store[int] = (*MemoryStore[int])(nil)

// memoryShards splits the memory store's map so actors committing at the same time rarely
// wait on one another; a power of two keeps the shard choice a mask.
const memoryShards = 64

// MemoryConfig bounds a MemoryStore. The zero value bounds nothing.
type MemoryConfig[S any] struct {
	// MaxSize refuses to commit a state whose Size is larger (ErrStateTooLarge).
	MaxSize int
	Size    func(S) int
	// ExpireAfter forgets a key's state once it was neither loaded nor committed for this
	// long; 0 keeps states for ever. Expired users start afresh.
	ExpireAfter time.Duration
	// Now replaces the clock in tests.
	Now func() time.Time
}

// MemoryStore is the default Store: committed states in memory, lost when the process
// exits. A commit stores the value as it is, so its cost is that of a map assignment;
// states must therefore be immutable values (see the package comment). It neither fences
// nor deduplicates (one process owns its memory) and keeps no outbox: a crash of the
// process loses the actions in flight with the states.
type MemoryStore[S any] struct {
	cfg    MemoryConfig[S]
	shards [memoryShards]memoryShard[S]
	// sweepNext is the shard the next expiry sweep looks at: sweeping one shard at a time,
	// during commits, needs no goroutine and no pause.
	sweepNext atomic.Uint32
}

type memoryShard[S any] struct {
	mu        sync.RWMutex
	m         map[int64]entry[S]
	lastSweep int64
}

type entry[S any] struct {
	s       S
	touched int64 // unix seconds of the last load or commit, when expiry is on
}

// NewMemoryStore returns an empty MemoryStore bounded by cfg.
func NewMemoryStore[S any](cfg MemoryConfig[S]) *MemoryStore[S] {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st := &MemoryStore[S]{cfg: cfg}
	for i := range st.shards {
		st.shards[i].m = make(map[int64]entry[S])
	}
	return st
}

func (st *MemoryStore[S]) shard(key int64) *memoryShard[S] {
	return &st.shards[mix(key)&(memoryShards-1)]
}

func (st *MemoryStore[S]) clock() int64 {
	if st.cfg.ExpireAfter <= 0 {
		return 0
	}
	return st.cfg.Now().Unix()
}

// Load returns the committed record of key; Version is 1 for a state kept, 0 for none.
func (st *MemoryStore[S]) Load(_ context.Context, key int64) (Record[S], error) {
	s, ok := st.load(key)
	if !ok {
		return Record[S]{}, nil
	}
	return Record[S]{State: s, Version: 1}, nil
}

func (st *MemoryStore[S]) load(key int64) (S, bool) {
	sh := st.shard(key)
	if st.cfg.ExpireAfter <= 0 {
		sh.mu.RLock()
		e, ok := sh.m[key]
		sh.mu.RUnlock()
		return e.s, ok
	}
	now := st.clock()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	if ok && st.expired(e, now) {
		delete(sh.m, key)
		var zero S
		return zero, false
	}
	if ok {
		e.touched = now
		sh.m[key] = e
	}
	return e.s, ok
}

// Commit makes ch.State the committed state of key; the outbox is not kept.
func (st *MemoryStore[S]) Commit(_ context.Context, key int64, prev Record[S], ch Change[S]) (Record[S], error) {
	if st.cfg.MaxSize > 0 && st.cfg.Size != nil {
		if n := st.cfg.Size(ch.State); n > st.cfg.MaxSize {
			return prev, fmt.Errorf("commit key %d: %d bytes, at most %d: %w", key, n, st.cfg.MaxSize, ErrStateTooLarge)
		}
	}
	now := st.clock()
	sh := st.shard(key)
	sh.mu.Lock()
	sh.m[key] = entry[S]{s: ch.State, touched: now}
	sh.mu.Unlock()
	if st.cfg.ExpireAfter > 0 {
		st.sweepSome(now)
	}
	return Record[S]{State: ch.State, Version: prev.Version + 1, UpdateID: ch.UpdateID}, nil
}

// Ack does nothing: the memory store keeps no outbox.
func (st *MemoryStore[S]) Ack(context.Context, int64, int64) error { return nil }

// AckEntry does nothing: the memory store keeps no outbox.
func (st *MemoryStore[S]) AckEntry(context.Context, int64, Entry) error { return nil }

func (st *MemoryStore[S]) expired(e entry[S], now int64) bool {
	return now-e.touched >= int64(st.cfg.ExpireAfter/time.Second)
}

// sweepSome drops the expired states of one shard, if that shard was not swept for a
// tenth of ExpireAfter: states live at most 10% longer than asked, and a commit pays for
// at most one shard's scan.
func (st *MemoryStore[S]) sweepSome(now int64) {
	sh := &st.shards[st.sweepNext.Add(1)%memoryShards]
	every := max(int64(st.cfg.ExpireAfter/time.Second)/10, 1)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now-sh.lastSweep < every {
		return
	}
	sh.lastSweep = now
	for k, e := range sh.m {
		if st.expired(e, now) {
			delete(sh.m, k)
		}
	}
}

// Len returns the number of keys with a committed state.
func (st *MemoryStore[S]) Len() int {
	n := 0
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// mix spreads keys over shards: Telegram ids are sequential-ish and chat ids of groups are
// negative, so the low bits of a key alone would spread poorly.
func mix(key int64) uint64 {
	x := uint64(key)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}
