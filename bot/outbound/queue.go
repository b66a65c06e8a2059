package outbound

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

type chatShard struct {
	mu    sync.Mutex
	chats map[int64]*chatQueue
}

// A chat is in exactly one of these states; only an idle chat with jobs is handed to the
// ready channel by Send, so one chat never has two workers.
type chatState uint8

const (
	idle     chatState = iota // no worker, nothing waited for
	owned                     // in the ready channel or with a worker
	parked                    // its head is a Slot not filled yet
	sleeping                  // a timer hands it back (rate limit, retry_after, backoff)
)

type chatQueue struct {
	jobs     []Job
	head     int
	state    chatState
	limiter  *rate.Limiter // nil when the chat's rate is unlimited
	reserved bool          // the head already holds its rate-limit tokens
	attempts int           // failed tries of the head job so far
	too      int           // 429s of the head job so far
	// The head job waits retryDelay after lastUsed before its next try.
	retryDelay time.Duration
	lastUsed   time.Time
}

func (s *Sender) enqueue(job Job) error {
	// Room is waited for holding no lock: Close must get closeMu while Sends wait here on a
	// full queue behind a stalled API.
	select {
	case s.room <- struct{}{}:
	case <-s.closing:
		return ErrClosed
	}
	if !s.admit() {
		<-s.room
		return ErrClosed
	}
	sh := s.shard(job.Chat)
	sh.mu.Lock()
	q := sh.chats[job.Chat]
	if q == nil {
		q = &chatQueue{limiter: s.newChatLimiter(job.Chat)}
		sh.chats[job.Chat] = q
	}
	q.jobs = append(q.jobs, job)
	start := q.state == idle
	if start {
		q.state = owned
	}
	sh.mu.Unlock()
	if start {
		// Never under a lock (see doc.go), though ready has room for every chat. It
		// cannot meet a closed channel: the job is pending, and Close closes ready only
		// once none is.
		s.ready <- job.Chat
	}
	return nil
}

// admit counts a job as pending, unless the sender is closed.
func (s *Sender) admit() bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return false
	}
	s.pending.Add(1)
	return true
}

// pop removes the chat's head job.
func (s *Sender) pop(q *chatQueue) {
	q.jobs[q.head] = Job{}
	q.head++
	q.attempts, q.too = 0, 0
	if q.head >= 64 && 2*q.head >= len(q.jobs) {
		// A chat that never runs dry would otherwise grow its slice for ever.
		q.jobs = append(q.jobs[:0], q.jobs[q.head:]...)
		q.head = 0
	}
}

// wake hands a chat whose wait is over back to a worker.
func (s *Sender) wake(chat int64) {
	sh := s.shard(chat)
	sh.mu.Lock()
	q := sh.chats[chat]
	resume := q != nil && q.state == sleeping
	if resume {
		q.state = owned
	}
	sh.mu.Unlock()
	if resume {
		s.ready <- chat
	}
}
