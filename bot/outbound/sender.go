// Package outbound sends a bot's requests to the Bot API: replies of one chat leave one at
// a time, in the order they were queued, while different chats are served concurrently by
// a fixed set of workers, within Telegram's rate limits.
//
// Each chat has a FIFO queue. A chat with queued jobs is handed to one worker at a time,
// which sends its jobs in order; so a chat never has two requests in flight and its
// replies cannot overtake one another, and no goroutine exists per chat. A chat that must
// wait (its rate limit, a 429's retry_after, a retry's backoff, a reply still being
// drawn) is set aside with a timer instead of holding a worker.
//
// A request that fails with a 429 is retried after retry_after, for its chat, or for the
// whole bot when Telegram throttles the bot as a whole; one that fails with a 5xx or a
// network error is retried with capped exponential backoff; either way it stays at the
// head of its chat's queue, so order holds across retries. A request that fails for good
// is logged and counted, never dropped silently.
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

// Call is one Bot API request.
type Call func(ctx context.Context) error

// Job is one request for one chat.
type Job struct {
	Chat int64
	Call Call
	// Message marks a request that sends a message (sendMessage, sendPhoto): those count
	// against Telegram's rate limits; edits, callback answers and chat actions do not.
	Message bool
	// Done, if set, is called once with the outcome: nil when the request was accepted,
	// the last error when it failed for good.
	Done func(err error)

	slot *Slot // set for a reserved place whose Call comes later
}

// Slot is a reserved place in a chat's line for a request not ready yet, such as a chart
// still being drawn: the chat's later jobs wait behind it, and no worker waits with them.
type Slot struct {
	s    *Sender
	chat int64
	call Call // nil until filled; guarded by the chat's shard lock
}

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
}

// Verdict is what to do about a failed request.
type Verdict struct {
	Retry bool
	// TooMany marks a 429; After is its retry_after.
	TooMany bool
	After   time.Duration
}

// Errors of the sender itself.
var (
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("outbound: sender closed")
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

	closeMu sync.RWMutex
	closed  bool
	closing chan struct{}
	pending sync.WaitGroup // jobs queued or in flight
	workers sync.WaitGroup

	sent, failed, retried, tooMany, paced atomic.Int64
}

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
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender{
		cfg: cfg, ctx: ctx, cancel: cancel, log: cfg.Logger,
		ready:   make(chan int64, 4096),
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

// Send queues job behind the chat's earlier jobs. It blocks while MaxQueued jobs are
// queued, until one finishes or the sender closes.
func (s *Sender) Send(job Job) error {
	job.slot = nil
	return s.enqueue(job)
}

// Reserve queues a place for a request that Fill supplies later; done is called with its
// outcome like a Job's Done. The place counts as a message for the rate limits. Every
// reserved Slot must be filled.
func (s *Sender) Reserve(chat int64, done func(error)) (*Slot, error) {
	sl := &Slot{s: s, chat: chat}
	if err := s.enqueue(Job{Chat: chat, Done: done, Message: true, slot: sl}); err != nil {
		return nil, err
	}
	return sl, nil
}

// Fill gives the reserved place its request; the chat's line moves on when it is sent.
func (sl *Slot) Fill(call Call) {
	s := sl.s
	sh := s.shard(sl.chat)
	sh.mu.Lock()
	sl.call = call
	q := sh.chats[sl.chat]
	resume := q != nil && q.state == parked && q.jobs[q.head].slot == sl
	if resume {
		q.state = owned
	}
	sh.mu.Unlock()
	if resume {
		s.ready <- sl.chat
	}
}

func (s *Sender) enqueue(job Job) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.room <- struct{}{}:
	case <-s.closing:
		return ErrClosed
	}
	s.pending.Add(1)
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
		s.ready <- job.Chat
	}
	return nil
}

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

func (s *Sender) work() {
	for chat := range s.ready {
		s.drain(chat)
	}
}

// drain sends the chat's jobs in order until its queue is empty or it must wait.
func (s *Sender) drain(chat int64) {
	sh := s.shard(chat)
	for {
		sh.mu.Lock()
		q := sh.chats[chat]
		now := time.Now()
		if q.head == len(q.jobs) {
			q.state = idle
			q.jobs, q.head = q.jobs[:0], 0
			if !s.limited() {
				delete(sh.chats, chat) // nothing to remember between messages
			}
			sh.mu.Unlock()
			return
		}
		job := q.jobs[q.head]
		stopping := s.ctx.Err() != nil
		if job.slot != nil && job.slot.call == nil {
			if stopping {
				// Close gave up waiting: the place will never be sent.
				s.pop(q)
				sh.mu.Unlock()
				s.finish(job, fmt.Errorf("reserved reply not ready at shutdown: %w", s.ctx.Err()))
				continue
			}
			q.state = parked // Fill hands the chat back to a worker
			sh.mu.Unlock()
			return
		}
		if job.slot != nil {
			job.Call = job.slot.call
		}
		if wait := s.wait(q, job, now); wait > 0 && !stopping {
			q.state = sleeping
			sh.mu.Unlock()
			s.paced.Add(1)
			time.AfterFunc(wait, func() { s.wake(chat) })
			return
		}
		sh.mu.Unlock()

		err := job.Call(s.ctx)
		v := Verdict{}
		if err != nil && s.ctx.Err() == nil {
			v = s.cfg.Classify(err)
		}

		answered := time.Now()
		s.throttled.request(answered)
		sh.mu.Lock()
		q.lastUsed = answered
		q.reserved = false
		if err != nil && v.Retry && s.retry(q, chat, v) {
			sh.mu.Unlock()
			continue // the head stays, to wait its turn again
		}
		s.pop(q)
		sh.mu.Unlock()
		s.finish(job, err)
	}
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

func (s *Sender) finish(job Job, err error) {
	defer s.pending.Done()
	<-s.room
	if err != nil {
		s.failed.Add(1)
		s.log.Warn("send failed for good", slog.Int64("chat", job.Chat), slog.Any("err", err))
	} else {
		s.sent.Add(1)
	}
	if job.Done != nil {
		job.Done(err)
	}
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
		now := time.Now()
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

// Stats is a snapshot of a Sender's counters.
type Stats struct {
	Sent    int64 // requests accepted by the Bot API
	Failed  int64 // requests that failed for good (logged)
	Retried int64 // tries repeated after a 429, a 5xx or a network error
	TooMany int64 // 429 answers received
	Paced   int64 // times a chat waited for a rate limit, a retry_after or a backoff
	Queued  int64 // jobs queued or in flight now
}

// Stats returns the Sender's counters.
func (s *Sender) Stats() Stats {
	return Stats{
		Sent: s.sent.Load(), Failed: s.failed.Load(), Retried: s.retried.Load(),
		TooMany: s.tooMany.Load(), Paced: s.paced.Load(), Queued: int64(len(s.room)),
	}
}

// Close stops accepting jobs and waits, until ctx is done, for the queued ones to be sent.
// Jobs still queued when ctx ends are abandoned: their requests are cancelled and they
// finish with the cancellation error.
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
		err = fmt.Errorf("outbound: close with %d jobs unsent: %w", len(s.room), ctx.Err())
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
