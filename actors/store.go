package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Store keeps the last committed state of every key. A user actor loads its key's state
// when it starts (and after every restart) and commits after each update it handled.
// Implementations must be safe for concurrent use by many actors; one key is only ever
// used by one actor at a time.
type Store[S any] interface {
	// Load returns the committed state of key, or ok == false if nothing was committed.
	Load(ctx context.Context, key int64) (s S, ok bool, err error)
	// Commit makes s the committed state of key.
	Commit(ctx context.Context, key int64, s S) error
}

// ErrStateTooLarge is returned by MemoryStore.Commit for a state over MaxSize. The runtime
// treats it like any failed update: nothing is committed and the user gets an apology.
var ErrStateTooLarge = errors.New("actors: state too large to commit")

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
// states must therefore be immutable values (see the package comment).
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

// Load returns the committed state of key.
func (st *MemoryStore[S]) Load(_ context.Context, key int64) (S, bool, error) {
	sh := st.shard(key)
	if st.cfg.ExpireAfter <= 0 {
		sh.mu.RLock()
		e, ok := sh.m[key]
		sh.mu.RUnlock()
		return e.s, ok, nil
	}
	now := st.clock()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	if ok && st.expired(e, now) {
		delete(sh.m, key)
		var zero S
		return zero, false, nil
	}
	if ok {
		e.touched = now
		sh.m[key] = e
	}
	return e.s, ok, nil
}

// Commit makes s the committed state of key.
func (st *MemoryStore[S]) Commit(_ context.Context, key int64, s S) error {
	if st.cfg.MaxSize > 0 && st.cfg.Size != nil {
		if n := st.cfg.Size(s); n > st.cfg.MaxSize {
			return fmt.Errorf("commit key %d: %d bytes, at most %d: %w", key, n, st.cfg.MaxSize, ErrStateTooLarge)
		}
	}
	now := st.clock()
	sh := st.shard(key)
	sh.mu.Lock()
	sh.m[key] = entry[S]{s: s, touched: now}
	sh.mu.Unlock()
	if st.cfg.ExpireAfter > 0 {
		st.sweepSome(now)
	}
	return nil
}

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
