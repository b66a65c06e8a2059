package intake

import (
	"sort"
	"sync"
)

// window tracks the updates fetched and not yet confirmed to Telegram, to compute the
// offset the next getUpdates may confirm: never past an update that is not done.
//
// Telegram returns every update at or above the offset again on each getUpdates, so the
// window also tells which of them were already delivered (any id up to lastSeen), and how
// much room a poll has for new updates.
type window struct {
	mu       sync.Mutex
	entries  []entry // ascending ids, from the oldest update not yet confirmable
	lastSeen int64   // highest update_id ever fetched
	inflight int     // entries not done
	// retry holds the entries not kept (see fail), which the next poll delivers again.
	retry   map[int64]bool
	changed chan struct{}
}

type entry struct {
	id   int64
	done bool
}

func newWindow() *window {
	return &window{retry: make(map[int64]bool), changed: make(chan struct{}, 1)}
}

// add records a fetched update; it returns false for one delivered before (re-sent by
// Telegram because the offset has not passed it yet), unless it failed and awaits its retry.
func (w *window) add(id int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.retry[id] {
		delete(w.retry, id)
		w.inflight++
		return true
	}
	if id <= w.lastSeen {
		return false
	}
	w.lastSeen = id
	w.entries = append(w.entries, entry{id: id})
	w.inflight++
	return true
}

// seen reports whether the update was fetched before and needs no retry.
func (w *window) seen(id int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return id <= w.lastSeen && !w.retry[id]
}

// fail marks an update not kept: it stays unconfirmed (the offset cannot pass it), is no
// longer in flight, and the next poll, which gets it again from Telegram, delivers it again.
func (w *window) fail(id int64) {
	w.mu.Lock()
	i := sort.Search(len(w.entries), func(i int) bool { return w.entries[i].id >= id })
	if i < len(w.entries) && w.entries[i].id == id && !w.entries[i].done && !w.retry[id] {
		w.retry[id] = true
		w.inflight--
	}
	w.mu.Unlock()
	w.signal()
}

// retrying returns how many updates wait for their retry.
func (w *window) retrying() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.retry)
}

func (w *window) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// done marks an update finished, letting the offset move past it once all older ones are.
func (w *window) done(id int64) {
	w.mu.Lock()
	i := sort.Search(len(w.entries), func(i int) bool { return w.entries[i].id >= id })
	if i < len(w.entries) && w.entries[i].id == id && !w.entries[i].done {
		w.entries[i].done = true
		w.inflight--
		// Drop the finished prefix: the next offset confirms it.
		n := 0
		for n < len(w.entries) && w.entries[n].done {
			n++
		}
		if n > 0 {
			w.entries = append(w.entries[:0], w.entries[n:]...)
		}
	}
	w.mu.Unlock()
	w.signal()
}

// state returns the offset to send (confirming everything below it), how many updates at
// or above it Telegram would send again, and how many are still in flight.
func (w *window) state() (offset int64, known, inflight int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.entries) == 0 {
		return w.lastSeen + 1, 0, 0
	}
	return w.entries[0].id, len(w.entries), w.inflight
}
