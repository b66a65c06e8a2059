package main

import (
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
)

// firstUser is the id of the first simulated user (and of its private chat with the bot);
// the others follow.
const firstUser = 1_000_001

// user is one simulated user: what it sent, and what the audit learnt of the replies.
// Every field is guarded by mu, which the harness holds while it pushes the user's message
// too, so a reply that overtakes the push's return still finds the message's record.
type user struct {
	mu  sync.Mutex
	id  int64
	rng rand.PCG

	recs      []rec // the user's messages, in send (and message id) order
	hasNumber bool  // a value was sent, so /reset has something to offer
	counted   int32 // counted messages sent so far

	// The driver's state: seq numbers the user's steps (messages and presses); awaiting is
	// set while step seq has not been answered (the closed loop waits for it).
	seq      int32
	awaiting bool
	keyboard *button // a button to press next, from the reply to a /reset

	// The audit's state.
	lastK, lastN int32       // the counted message and the n of the newest counter seen
	maxAnswered  int         // index of the newest answered message, -1 before any
	got429       atomic.Bool // a send to the user's chat was answered 429 (the emulator's OnFault)
}

// rec is one message a user sent.
type rec struct {
	msgID   int64
	at      int64 // when it was pushed, in ns since the run started
	seq     int32
	k       int32 // for a counted message, how many counted messages were sent up to it
	kind    kind
	replies uint8
	latUS   int32 // the first reply's latency in µs (capped), 0 until it came
}

// button is an inline button a user may press.
type button struct {
	msgID int64 // the bot's message carrying it
	data  string
}

// press is one button press a user made.
type press struct {
	user    *user
	at      int64
	seq     int32
	answers uint8
}

func newUsers(n int, seed uint64) []user {
	us := make([]user, n)
	for i := range us {
		us[i].id = firstUser + int64(i)
		us[i].rng.Seed(seed, uint64(i))
		us[i].maxAnswered = -1
	}
	return us
}

// find returns the index of the message with id msgID, or -1.
func (u *user) find(msgID int64) int {
	i := sort.Search(len(u.recs), func(i int) bool { return u.recs[i].msgID >= msgID })
	if i < len(u.recs) && u.recs[i].msgID == msgID {
		return i
	}
	return -1
}
