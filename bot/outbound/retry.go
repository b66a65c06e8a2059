package outbound

import (
	"time"

	"github.com/troupebot/troupe/internal/backoff"
)

// Verdict is what to do about a failed request.
type Verdict struct {
	Retry bool
	// TooMany marks a 429; After is its retry_after.
	TooMany bool
	After   time.Duration
}

// retryPolicy spaces the tries of a request failing with a 5xx or a network error: 100–200 ms
// after the first failure, doubling, to 15–30 s; jittered so that chats failing together do
// not retry together.
var retryPolicy = backoff.Policy{Initial: 150 * time.Millisecond, Max: 22500 * time.Millisecond, Jitter: 1.0 / 3}

// retry counts a failed try, answered at now, and decides whether the head job gets
// another; if so it sets when. It runs under the chat's shard lock.
func (s *Sender) retry(q *chatQueue, chat int64, v Verdict, now time.Time) bool {
	s.retried.Add(1)
	if v.TooMany {
		s.tooMany.Add(1)
		q.too++
		if q.too >= s.cfg.Max429 {
			return false
		}
		q.attempts = max(q.attempts, 1)
		q.retryDelay = max(v.After, time.Second)
		if s.throttled.add(chat, now) {
			// Several chats throttled at once: Telegram is limiting the bot, not a chat.
			s.pause(now.Add(q.retryDelay))
		}
		return true
	}
	q.attempts++
	if q.attempts >= s.cfg.MaxAttempts {
		return false
	}
	q.retryDelay = max(v.After, retryPolicy.Delay(q.attempts, s.cfg.Rand()))
	return true
}

// pause holds every chat back until the given time, unless it is held longer already.
func (s *Sender) pause(until time.Time) {
	for {
		cur := s.pausedUntil.Load()
		if cur >= until.UnixNano() || s.pausedUntil.CompareAndSwap(cur, until.UnixNano()) {
			return
		}
	}
}
