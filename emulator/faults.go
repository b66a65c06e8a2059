package emulator

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Faults make the emulator misbehave the way the real Bot API does under load. They apply
// to the requests that make something visible to a user (sendMessage, sendPhoto,
// editMessageText, answerCallbackQuery, sendChatAction), never to getMe or getUpdates. The
// zero value injects nothing.
type Faults struct {
	// Rate429 is the fraction of requests answered 429 Too Many Requests, with a
	// retry_after of RetryAfter seconds (1 if 0).
	Rate429    float64
	RetryAfter int
	// Rate5xx is the fraction answered 500 Internal Server Error.
	Rate5xx float64
	// RateDrop is the fraction whose connection is closed without an answer. The request
	// is dropped before it takes effect, so a retry cannot duplicate it.
	RateDrop float64
	// Latency delays every answer, as a distant server would.
	Latency time.Duration
	// EnforceLimits answers 429 to messages over Telegram's limits: Limits, or
	// DefaultLimits when Limits is zero.
	EnforceLimits bool
	Limits        Limits
}

// Limits are the message rates Telegram allows a bot, as token buckets.
type Limits struct {
	Global      float64 // messages per second over all chats
	GlobalBurst int
	Chat        float64 // messages per second in one private chat
	ChatBurst   int
	Group       float64 // messages per second in one group
	GroupBurst  int
}

// DefaultLimits are Telegram's published limits: about 30 messages a second overall, one a
// second per chat (short bursts tolerated), 20 a minute per group.
var DefaultLimits = Limits{Global: 30, GlobalBurst: 30, Chat: 1, ChatBurst: 3, Group: 20.0 / 60, GroupBurst: 20}

// Fault is one request the server refused on purpose, for Config.OnFault.
type Fault struct {
	Method     string
	ChatID     int64
	Kind       string // "429", "5xx", "drop", or "limit" (over the enforced rate limits)
	RetryAfter int    // seconds, for "429" and "limit"
	At         time.Time
}

// Stats counts what the server did and injected.
type Stats struct {
	Requests        int64 // Bot API requests answered
	Injected429     int64 // 429s from Rate429
	Injected5xx     int64
	Dropped         int64 // connections closed by RateDrop
	LimitViolations int64 // messages refused with 429 under EnforceLimits
	// RefusedAnswers counts answerCallbackQuery calls for a query that was not open: one
	// already answered (a bot answering twice) or one that never existed. Telegram refuses
	// them, so they never show in Sent; a load test audits them here.
	RefusedAnswers int64
}

type faultState struct {
	mu     sync.Mutex
	f      Faults
	global *rate.Limiter
	chats  map[int64]*rate.Limiter

	injected429, injected5xx, dropped, violations atomic.Int64
}

// SetFaults changes the faults from now on; the rate-limit buckets start full.
func (s *Server) SetFaults(f Faults) {
	if f.EnforceLimits && f.Limits == (Limits{}) {
		f.Limits = DefaultLimits
	}
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.f = f
	fs.global = rate.NewLimiter(rate.Limit(f.Limits.Global), max(f.Limits.GlobalBurst, 1))
	fs.chats = make(map[int64]*rate.Limiter)
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:        s.requests.Load(),
		Injected429:     s.faults.injected429.Load(),
		Injected5xx:     s.faults.injected5xx.Load(),
		Dropped:         s.faults.dropped.Load(),
		LimitViolations: s.faults.violations.Load(),
		RefusedAnswers:  s.refusedAnswers.Load(),
	}
}

// visible lists the methods faults apply to, and whether each sends a message (counts
// against the rate limits).
var visible = map[string]bool{
	"sendmessage": true, "sendphoto": true,
	"editmessagetext": false, "answercallbackquery": false, "sendchataction": false,
}

// inject applies the faults to one request; it returns true when it answered (or dropped)
// the request itself.
func (s *Server) inject(w http.ResponseWriter, method string, p params) bool {
	message, ok := visible[method]
	if !ok {
		return false
	}
	fs := &s.faults
	fs.mu.Lock()
	f := fs.f
	fs.mu.Unlock()
	if f.Latency > 0 {
		time.Sleep(f.Latency)
	}
	chatID, _, _ := p.int64("chat_id")
	report := func(kind string, retryAfter int) {
		if s.cfg.OnFault != nil {
			s.cfg.OnFault(Fault{Method: method, ChatID: chatID, Kind: kind, RetryAfter: retryAfter, At: time.Now()})
		}
	}
	roll := rand.Float64()
	switch {
	case roll < f.RateDrop:
		fs.dropped.Add(1)
		report("drop", 0)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without an answer
	case roll < f.RateDrop+f.Rate429:
		fs.injected429.Add(1)
		report("429", max(f.RetryAfter, 1))
		writeError(w, tooMany(max(f.RetryAfter, 1)))
		return true
	case roll < f.RateDrop+f.Rate429+f.Rate5xx:
		fs.injected5xx.Add(1)
		report("5xx", 0)
		writeError(w, &apiError{code: http.StatusInternalServerError, description: "Internal Server Error"})
		return true
	}
	if f.EnforceLimits && message {
		if wait := s.overLimit(p); wait > 0 {
			fs.violations.Add(1)
			after := int(math.Ceil(wait.Seconds()))
			report("limit", after)
			writeError(w, tooMany(after))
			return true
		}
	}
	return false
}

func tooMany(retryAfter int) *apiError {
	return &apiError{code: http.StatusTooManyRequests, retryAfter: retryAfter,
		description: "Too Many Requests: retry after " + strconv.Itoa(retryAfter)}
}

// overLimit takes a message from the global and the chat's bucket; when either is empty it
// takes nothing and says how long until it would succeed.
func (s *Server) overLimit(p params) time.Duration {
	raw, _ := p.str("chat_id")
	chatID, _, _ := p.int64("chat_id")
	if raw == "" {
		return 0 // the method's own validation refuses it
	}
	chat, known := s.chats.chat(chatID)
	group := known && chat.Type != "private"
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	lim := fs.chats[chatID]
	if lim == nil {
		l := fs.f.Limits
		if group {
			lim = rate.NewLimiter(rate.Limit(l.Group), max(l.GroupBurst, 1))
		} else {
			lim = rate.NewLimiter(rate.Limit(l.Chat), max(l.ChatBurst, 1))
		}
		fs.chats[chatID] = lim
	}
	now := time.Now()
	g := fs.global.ReserveN(now, 1)
	c := lim.ReserveN(now, 1)
	wait := max(g.DelayFrom(now), c.DelayFrom(now))
	if wait > 0 {
		g.CancelAt(now)
		c.CancelAt(now)
	}
	return wait
}
