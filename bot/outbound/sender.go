package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Config tunes a Sender. The zero value is usable: 64 workers, no rate limits.
type Config struct {
	// Workers is how many requests may be in flight at once (for different chats);
	// 0 means 64.
	Workers int
	// Limits are the rates to keep; the zero value keeps none.
	Limits Limits
	// MaxQueued bounds the jobs queued or in flight; Send blocks past it, which holds back
	// the updates producing them. 0 means 100,000.
	MaxQueued int
	// MaxAttempts bounds the tries of a request failing with 5xx or network errors, and
	// separately of one answered 429; 0 means 8 and 20.
	MaxAttempts, Max429 int
	// Classify decides whether an error is worth retrying and after how long at least
	// (a 429's retry_after); nil means ClassifyBotAPI.
	Classify func(error) Verdict
	// Logger receives failed sends; nil means slog.Default().
	Logger *slog.Logger
	// Now and AfterFunc are the clock that rate limits, retry_after pauses and backoffs are
	// kept on; nil means the time package's. Tests replace them to run those waits without
	// waiting them out. AfterFunc must call f once, on a goroutine of its own, when d has
	// passed by Now. (Forgetting idle chats' rate-limit state, a memory matter, runs on real
	// time whatever the clock.)
	Now       func() time.Time
	AfterFunc func(d time.Duration, f func())
	// Rand draws the backoff's jitter, uniform in [0, 1); nil means math/rand/v2's Float64.
	Rand func() float64
}

// Errors of the sender itself.
var (
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("outbound: sender closed")
	// ErrAbandoned is what a job's Done receives when Close gave up waiting for it: its
	// request was not sent, or was cancelled in flight (Telegram may have taken it).
	ErrAbandoned = errors.New("outbound: abandoned at shutdown")
)

// Sender queues jobs per chat and runs them on its workers.
type Sender struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger
	ready  chan int64 // chats whose head job may go now, for a worker to take
	shards [64]chatShard
	room   chan struct{} // a token per job queued or in flight: the MaxQueued bound
	global *rate.Limiter

	// pausedUntil holds the whole bot back after Telegram throttled it as a whole
	// (unix nanoseconds).
	pausedUntil atomic.Int64
	throttled   throttleLog

	closeMu sync.RWMutex // orders pending.Add before Close's pending.Wait (see doc.go)
	closed  bool
	closing chan struct{}
	pending sync.WaitGroup // jobs queued or in flight
	workers sync.WaitGroup

	sent, failed, retried, tooMany, paced, abandoned atomic.Int64
}

// New starts a Sender.
func New(cfg Config) *Sender {
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 100_000
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Max429 <= 0 {
		cfg.Max429 = 20
	}
	if cfg.Classify == nil {
		cfg.Classify = ClassifyBotAPI
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender{
		cfg: cfg, ctx: ctx, cancel: cancel, log: cfg.Logger,
		// A chat is in ready at most once, and only with a job pending, so MaxQueued
		// slots mean a send on it never waits. With 4,096 it did, and under a spread
		// burst on a durable store thousands of user actors sat blocked there, each a
		// goroutine stack the collector scanned (8% of the bot's CPU).
		ready:   make(chan int64, cfg.MaxQueued),
		room:    make(chan struct{}, cfg.MaxQueued),
		closing: make(chan struct{}),
	}
	if cfg.Limits.Global > 0 {
		s.global = rate.NewLimiter(margin(cfg.Limits.Global), max(cfg.Limits.GlobalBurst, 1))
	}
	for i := range s.shards {
		s.shards[i].chats = make(map[int64]*chatQueue)
	}
	for range cfg.Workers {
		s.workers.Go(s.work)
	}
	if s.limited() {
		s.workers.Go(s.sweep)
	}
	return s
}

// limited reports whether chats keep rate-limit state between their messages.
func (s *Sender) limited() bool { return s.cfg.Limits.Chat > 0 || s.cfg.Limits.Group > 0 }

func (s *Sender) shard(chat int64) *chatShard {
	return &s.shards[uint64(chat)%uint64(len(s.shards))]
}

// Stats is a snapshot of a Sender's counters.
type Stats struct {
	Sent    int64 // requests accepted by the Bot API
	Failed  int64 // requests that failed for good (logged)
	Retried int64 // tries repeated after a 429, a 5xx or a network error
	TooMany int64 // 429 answers received
	Paced   int64 // times a chat waited for a rate limit, a retry_after or a backoff
	Queued  int64 // jobs queued or in flight now
	// Abandoned counts the jobs Close gave up on (not logged one by one: Close's error
	// says how many).
	Abandoned int64
}

// Stats returns the Sender's counters.
func (s *Sender) Stats() Stats {
	return Stats{
		Sent: s.sent.Load(), Failed: s.failed.Load(), Retried: s.retried.Load(),
		TooMany: s.tooMany.Load(), Paced: s.paced.Load(), Queued: int64(len(s.room)),
		Abandoned: s.abandoned.Load(),
	}
}

// Backlog returns how many jobs are queued or in flight for chat, and for every chat.
func (s *Sender) Backlog(chat int64) (chatJobs, total int) {
	sh := s.shard(chat)
	sh.mu.Lock()
	if q := sh.chats[chat]; q != nil {
		chatJobs = len(q.jobs) - q.head
	}
	sh.mu.Unlock()
	return chatJobs, len(s.room)
}

// Close stops accepting jobs and waits, until ctx is done, for the queued ones to be sent.
// Jobs still queued when ctx ends are abandoned: their requests are cancelled and they
// finish with the cancellation error, and Close returns an error counting them. Sends
// blocked on a full queue return ErrClosed at once. Close returns by ctx's deadline as long
// as the Calls in flight return when their context is cancelled, as HTTP requests do.
func (s *Sender) Close(ctx context.Context) error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.closeMu.Unlock()

	drained := make(chan struct{})
	go func() { s.pending.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = fmt.Errorf("outbound: close: %d jobs queued or in flight abandoned: %w", len(s.room), ctx.Err())
		s.cancel()
		s.wakeAll()
		<-drained // cancelled calls return promptly
	}
	s.cancel()
	close(s.ready)
	s.workers.Wait()
	return err
}

// wakeAll hands every waiting chat to a worker, so its jobs finish (cancelled) instead of
// waiting out their timers after Close gave up.
func (s *Sender) wakeAll() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		var chats []int64
		for chat, q := range sh.chats {
			if q.state == sleeping || q.state == parked {
				q.state = owned
				chats = append(chats, chat)
			}
		}
		sh.mu.Unlock()
		for _, c := range chats {
			s.ready <- c
		}
	}
}
