package outbound

import (
	"sync"
	"sync/atomic"
	"time"
)

// throttleLog tells a bot-wide throttle from a chat's: Telegram answers 429 to a bot over
// its global limit on nearly every request, in every chat, while a chat over its own
// limit (or an odd 429) is a small share of the bot's requests. So it counts requests and
// 429s over the last second (two half-second buckets) and calls it bot-wide when at least
// three different chats got a 429 and 429s are at least half of the requests.
type throttleLog struct {
	// sent counts answered requests per half-second slot without a lock: it is touched on
	// every request, while the rest is touched only on a 429. A count racing a rotation
	// may land in the wrong slot; the ratio it feeds is a heuristic either way.
	current atomic.Int64 // the current half-second
	sent    [2]atomic.Int64

	mu      sync.Mutex // guards refused, chats, and rotation
	refused [2]int
	chats   map[int64]struct{} // chats refused in the current and previous slot
}

func halfSecond(now time.Time) int64 { return now.UnixNano() / int64(500*time.Millisecond) }

// rotateLocked moves to slot, clearing what is older than the previous one.
func (l *throttleLog) rotateLocked(slot int64) int {
	if last := l.current.Load(); slot != last {
		if slot != last+1 {
			l.sent[0].Store(0)
			l.sent[1].Store(0)
			l.refused = [2]int{}
		}
		l.sent[slot%2].Store(0)
		l.refused[slot%2] = 0
		if l.chats == nil || slot != last+1 {
			l.chats = make(map[int64]struct{})
		}
		l.current.Store(slot)
	}
	return int(slot % 2)
}

// request counts a request that got an answer (any answer).
func (l *throttleLog) request(now time.Time) {
	slot := halfSecond(now)
	if l.current.Load() != slot {
		l.mu.Lock()
		l.rotateLocked(slot)
		l.mu.Unlock()
	}
	l.sent[slot%2].Add(1)
}

// add counts a 429 in chat and reports whether the bot as a whole is throttled.
func (l *throttleLog) add(chat int64, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused[l.rotateLocked(halfSecond(now))]++
	if len(l.chats) < 64 {
		l.chats[chat] = struct{}{}
	}
	sent := l.sent[0].Load() + l.sent[1].Load()
	refused := int64(l.refused[0] + l.refused[1])
	return len(l.chats) >= 3 && 2*refused >= sent
}
