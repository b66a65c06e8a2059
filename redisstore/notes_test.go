package redisstore

import "testing"

// Past maxCommitted notes the journal drops them, but keeps those whose acknowledgement waits
// for a Finish, unless they are most of them.
func TestJournalShedsNotesButDeferredAcks(t *testing.T) {
	for _, tc := range []struct {
		name        string
		acked, rest int
		keep        bool // the acked notes survive
	}{
		{"a few deferred", 10, maxCommitted - 10, true},
		{"most deferred", maxCommitted/2 + 1, maxCommitted/2 - 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJournal(nil, nil, false, JournalConfig{}.withDefaults(), "troupe")
			for id := int64(1); id <= int64(tc.acked+tc.rest); id++ {
				j.keptByCommit(7, id, false)
				if id <= int64(tc.acked) && !j.deferAck(7, id, 0) {
					t.Fatalf("update %d: not deferred", id)
				}
			}
			j.keptByCommit(7, 1<<40, false) // past the bound
			if _, ok := j.committed[1<<40]; !ok {
				t.Fatal("the note that made room was not kept")
			}
			kept := 0
			for id := int64(1); id <= int64(tc.acked); id++ {
				if j.ackDeferred(7, id, 0) {
					kept++
				}
			}
			if tc.keep && kept != tc.acked || !tc.keep && kept != 0 {
				t.Fatalf("%d of %d deferred acknowledgements kept; want all kept: %v", kept, tc.acked, tc.keep)
			}
			if len(j.committed) > tc.acked+1 {
				t.Fatalf("%d notes after shedding, want at most %d", len(j.committed), tc.acked+1)
			}
		})
	}
}
