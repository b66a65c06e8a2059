package outbound

import (
	"time"

	"golang.org/x/time/rate"
)

// Limits are the rates the sender keeps to, as token buckets; a zero rate means no limit.
// The sender paces at 90% of each rate: Telegram counts when a request arrives, after
// network jitter, and a bucket paced at exactly its rate would be refused now and then.
type Limits struct {
	Global float64 // messages per second over all chats
	Chat   float64 // messages per second in one private chat
	Group  float64 // messages per second in one group (chat ids below zero)
	// Bursts: how many messages may go at once before the rate applies.
	GlobalBurst, ChatBurst, GroupBurst int
}

// TelegramLimits are Telegram's documented limits: about 30 messages a second overall, one
// a second in a chat (with a short burst), 20 a minute in a group.
var TelegramLimits = Limits{Global: 30, GlobalBurst: 30, Chat: 1, ChatBurst: 3, Group: 20.0 / 60, GroupBurst: 3}

func (s *Sender) newChatLimiter(chat int64) *rate.Limiter {
	l := s.cfg.Limits
	if chat < 0 && l.Group > 0 {
		return rate.NewLimiter(margin(l.Group), max(l.GroupBurst, 1))
	}
	if chat >= 0 && l.Chat > 0 {
		return rate.NewLimiter(margin(l.Chat), max(l.ChatBurst, 1))
	}
	return nil
}

// margin is the rate actually kept (see Limits).
func margin(perSecond float64) rate.Limit { return rate.Limit(perSecond * 0.9) }

// wait says how long the chat's head job must wait before it may go: a pause after a 429,
// a retry's backoff, or the rate limits. It reserves the rate-limit tokens, so the job
// goes when woken without asking again.
func (s *Sender) wait(q *chatQueue, job Job, now time.Time) time.Duration {
	wait := time.Duration(s.pausedUntil.Load() - now.UnixNano())
	if !q.lastUsed.IsZero() && q.attempts > 0 {
		// Retry delays are kept as a not-before time in reserved tokens' place.
		wait = max(wait, q.lastUsed.Add(q.retryDelay).Sub(now))
	}
	if wait > 0 || !job.Message || q.reserved {
		return wait
	}
	q.reserved = true
	if q.limiter != nil {
		wait = max(wait, q.limiter.ReserveN(now, 1).DelayFrom(now))
	}
	if s.global != nil {
		wait = max(wait, s.global.ReserveN(now, 1).DelayFrom(now))
	}
	return wait
}

// sweep forgets the rate-limit state of chats idle long enough for their bucket to be
// full again: keeping it would grow with every chat ever served.
func (s *Sender) sweep() {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.closing:
			return
		}
		now := s.cfg.Now()
		for i := range s.shards {
			sh := &s.shards[i]
			sh.mu.Lock()
			for chat, q := range sh.chats {
				if q.state == idle && q.head == len(q.jobs) && (q.limiter == nil || q.limiter.TokensAt(now) >= float64(q.limiter.Burst())) {
					delete(sh.chats, chat)
				}
			}
			sh.mu.Unlock()
		}
	}
}
