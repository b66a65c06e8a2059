package actors

import (
	"context"
	"sync"
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

var _ Store[int] = (*MemoryStore[int])(nil)

// memoryShards splits the memory store's map so actors committing at the same time rarely
// wait on one another; a power of two keeps the shard choice a mask.
const memoryShards = 64

// MemoryStore is the default Store: committed states in memory, lost when the process
// exits. A commit stores the value as it is, so its cost is that of a map assignment;
// states must therefore be immutable values (see the package comment).
type MemoryStore[S any] struct {
	shards [memoryShards]memoryShard[S]
}

type memoryShard[S any] struct {
	mu sync.RWMutex
	m  map[int64]S
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore[S any]() *MemoryStore[S] {
	st := &MemoryStore[S]{}
	for i := range st.shards {
		st.shards[i].m = make(map[int64]S)
	}
	return st
}

func (st *MemoryStore[S]) shard(key int64) *memoryShard[S] {
	return &st.shards[mix(key)&(memoryShards-1)]
}

// Load returns the committed state of key.
func (st *MemoryStore[S]) Load(_ context.Context, key int64) (S, bool, error) {
	sh := st.shard(key)
	sh.mu.RLock()
	s, ok := sh.m[key]
	sh.mu.RUnlock()
	return s, ok, nil
}

// Commit makes s the committed state of key.
func (st *MemoryStore[S]) Commit(_ context.Context, key int64, s S) error {
	sh := st.shard(key)
	sh.mu.Lock()
	sh.m[key] = s
	sh.mu.Unlock()
	return nil
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
