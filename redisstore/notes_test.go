package redisstore

import "testing"

// Past maxCommitted notes the journal drops them, but keeps those whose acknowledgement waits
// for a Finish; and no more than MaxDeferredAcks acknowledgements wait at once, the next one
// refused until a Finish takes one.
func TestJournalNotes(t *testing.T) {
	j := newJournal(nil, nil, false, JournalConfig{}.withDefaults(), "troupe")
	for id := int64(1); id <= maxCommitted; id++ {
		j.keptByCommit(7, id, false)
		if deferred := j.deferAck(7, id, 0); deferred != (id <= MaxDeferredAcks) {
			t.Fatalf("update %d: deferred %v, want %v", id, deferred, id <= MaxDeferredAcks)
		}
	}
	j.keptByCommit(7, 1<<40, false) // past the bound
	if _, ok := j.committed[1<<40]; !ok {
		t.Fatal("the note that made room was not kept")
	}
	for id := int64(1); id <= MaxDeferredAcks; id++ {
		if !j.ackDeferred(7, id, 0) {
			t.Fatalf("the deferred acknowledgement of update %d was dropped", id)
		}
	}
	if len(j.committed) != MaxDeferredAcks+1 {
		t.Fatalf("%d notes after shedding, want %d", len(j.committed), MaxDeferredAcks+1)
	}
	// A Finish of one deferred update makes room for another.
	acked, _, _ := j.unfinished([]int64{1})
	j.forget(acked, nil)
	if !j.deferAck(7, 1<<40, 0) {
		t.Fatal("no acknowledgement deferred once a Finish took one")
	}
	if j.deferAck(7, 1<<40+1, 0) {
		t.Fatal("an update no commit kept was deferred")
	}
}
