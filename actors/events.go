package actors

import (
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Passivated is published on the EventStream when a user actor has stopped because it was
// idle, evicted over MaxResident or paused after a crash loop; its state stays in the
// store.
type Passivated struct {
	Key int64
}

// Restarted is published when a user actor that crashed starts again (after its backoff);
// it reloads its committed state from the store.
type Restarted struct {
	Key int64
}

// CoolDown is published when a user's crashes passed the restart policy's limit and their
// updates are paused until Until.
type CoolDown struct {
	Key     int64
	Until   time.Time
	Crashes int64 // the actor's crashes since it was spawned
}

// LogValue makes a CoolDown one structured log line.
func (e *CoolDown) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("key", e.Key), slog.Time("until", e.Until), slog.Int64("crashes", e.Crashes))
}

// RestartStats summarises restarts for the operator.
type RestartStats struct {
	Total    int64
	LastHour int64
	Top      []KeyCount // the keys with the most restarts, most first
}

// KeyCount is a key and how often something happened to it.
type KeyCount struct {
	Key   int64
	Count int64
}

// topKeys is how many keys restartLog ranks; past that it forgets the least crashing.
const topKeys = 256

// restartLog counts restarts: in total, per minute for the last hour, and per key for the
// keys that crash most. Its memory is bounded whatever happens: crash storms are exactly
// when it must not grow.
type restartLog struct {
	mu      sync.Mutex
	total   int64
	minutes [60]struct {
		minute int64
		n      int64
	}
	byKey map[int64]int64
}

func (l *restartLog) add(key int64, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	m := now.Unix() / 60
	b := &l.minutes[m%60]
	if b.minute != m {
		b.minute, b.n = m, 0
	}
	b.n++
	if l.byKey == nil {
		l.byKey = make(map[int64]int64)
	}
	if _, ok := l.byKey[key]; !ok && len(l.byKey) >= topKeys {
		// Make room by forgetting the key with the fewest restarts.
		least, leastN := int64(0), int64(-1)
		for k, n := range l.byKey {
			if leastN < 0 || n < leastN {
				least, leastN = k, n
			}
		}
		delete(l.byKey, least)
	}
	l.byKey[key]++
}

func (l *restartLog) stats(now time.Time) RestartStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := RestartStats{Total: l.total}
	m := now.Unix() / 60
	for _, b := range l.minutes {
		if m-b.minute < 60 {
			st.LastHour += b.n
		}
	}
	for k, n := range l.byKey {
		st.Top = append(st.Top, KeyCount{Key: k, Count: n})
	}
	sort.Slice(st.Top, func(i, j int) bool {
		if st.Top[i].Count != st.Top[j].Count {
			return st.Top[i].Count > st.Top[j].Count
		}
		return st.Top[i].Key < st.Top[j].Key
	})
	st.Top = st.Top[:min(len(st.Top), 5)]
	return st
}
