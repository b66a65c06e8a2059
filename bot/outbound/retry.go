package outbound

import (
	"math/rand/v2"
	"time"
)

// Verdict is what to do about a failed request.
type Verdict struct {
	Retry bool
	// TooMany marks a 429; After is its retry_after.
	TooMany bool
	After   time.Duration
}

// retry counts a failed try and decides whether the head job gets another; if so it sets
// when.
func (s *Sender) retry(q *chatQueue, chat int64, v Verdict) bool {
	s.retried.Add(1)
	if v.TooMany {
		s.tooMany.Add(1)
		q.too++
		if q.too >= s.cfg.Max429 {
			return false
		}
		q.attempts = max(q.attempts, 1)
		q.retryDelay = max(v.After, time.Second)
		if s.throttled.add(chat, time.Now()) {
			// Several chats throttled at once: Telegram is limiting the bot, not a chat.
			until := time.Now().Add(q.retryDelay).UnixNano()
			for {
				cur := s.pausedUntil.Load()
				if cur >= until || s.pausedUntil.CompareAndSwap(cur, until) {
					break
				}
			}
		}
		return true
	}
	q.attempts++
	if q.attempts >= s.cfg.MaxAttempts {
		return false
	}
	q.retryDelay = max(v.After, backoff(q.attempts))
	return true
}

// backoff is the delay before try n+1 after n failures: 200 ms doubling to 30 s, with
// jitter so chats failing together do not retry together.
func backoff(n int) time.Duration {
	d := 200 * time.Millisecond << min(n-1, 8)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}
