// Package outbound sends a bot's requests to the Bot API: replies of one chat leave one at
// a time, in the order they were queued, while different chats are served concurrently by
// a fixed set of workers.
//
// Each chat has a FIFO queue. A chat with queued jobs is handed to one worker at a time,
// which sends its jobs in order until the queue is empty; so a chat never has two requests
// in flight and its replies cannot overtake one another, and no goroutine exists per chat.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Call is one Bot API request.
type Call func(ctx context.Context) error

// Job is one request for one chat.
type Job struct {
	Chat int64
	Call Call
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

// Config tunes a Sender. The zero value is usable.
type Config struct {
	// Workers is how many requests may be in flight at once (for different chats);
	// 0 means 64.
	Workers int
	// Logger receives failed sends; nil means slog.Default().
	Logger *slog.Logger
}

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("outbound: sender closed")

// Sender queues jobs per chat and runs them on its workers.
type Sender struct {
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger
	ready  chan int64 // chats with queued jobs and no worker
	shards [64]chatShard

	closeMu sync.RWMutex
	closed  bool
	pending sync.WaitGroup // jobs queued or in flight
	workers sync.WaitGroup

	sent, failed atomic.Int64
}

type chatShard struct {
	mu    sync.Mutex
	chats map[int64]*chatQueue
}

type chatQueue struct {
	jobs []Job
	head int
	// parked: the job at head is an unfilled Slot, so no worker owns the chat; Fill hands
	// it to one again.
	parked bool
}

// New starts a Sender.
func New(cfg Config) *Sender {
	n := cfg.Workers
	if n <= 0 {
		n = 64
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender{ctx: ctx, cancel: cancel, log: cfg.Logger, ready: make(chan int64, 4096)}
	if s.log == nil {
		s.log = slog.Default()
	}
	for i := range s.shards {
		s.shards[i].chats = make(map[int64]*chatQueue)
	}
	for range n {
		s.workers.Go(s.work)
	}
	return s
}

func (s *Sender) shard(chat int64) *chatShard {
	return &s.shards[uint64(chat)%uint64(len(s.shards))]
}

// Send queues job behind the chat's earlier jobs. It blocks only while every worker is busy
// and many chats are waiting for one.
func (s *Sender) Send(job Job) error {
	job.slot = nil
	return s.enqueue(job)
}

// Reserve queues a place for a request that Fill supplies later; done is called with its
// outcome like a Job's Done. Every reserved Slot must be filled.
func (s *Sender) Reserve(chat int64, done func(error)) (*Slot, error) {
	sl := &Slot{s: s, chat: chat}
	if err := s.enqueue(Job{Chat: chat, Done: done, slot: sl}); err != nil {
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
	resume := q != nil && q.parked && q.jobs[q.head].slot == sl
	if resume {
		q.parked = false
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
	s.pending.Add(1)
	sh := s.shard(job.Chat)
	sh.mu.Lock()
	q, busy := sh.chats[job.Chat]
	if !busy {
		q = &chatQueue{}
		sh.chats[job.Chat] = q
	}
	q.jobs = append(q.jobs, job)
	sh.mu.Unlock()
	if !busy {
		// The chat had no queue, so no worker owns it: hand it to one.
		s.ready <- job.Chat
	}
	return nil
}

func (s *Sender) work() {
	for chat := range s.ready {
		s.drain(chat)
	}
}

// drain sends the chat's jobs in order until its queue is empty, then forgets the chat.
func (s *Sender) drain(chat int64) {
	sh := s.shard(chat)
	for {
		sh.mu.Lock()
		q := sh.chats[chat]
		if q.head == len(q.jobs) {
			delete(sh.chats, chat)
			sh.mu.Unlock()
			return
		}
		job := q.jobs[q.head]
		if job.slot != nil {
			if job.slot.call == nil {
				q.parked = true // Fill hands the chat back to a worker
				sh.mu.Unlock()
				return
			}
			job.Call = job.slot.call
		}
		q.jobs[q.head] = Job{}
		q.head++
		if q.head >= 64 && 2*q.head >= len(q.jobs) {
			// A chat that never runs dry would otherwise grow its slice for ever.
			q.jobs = append(q.jobs[:0], q.jobs[q.head:]...)
			q.head = 0
		}
		sh.mu.Unlock()
		s.run(job)
	}
}

func (s *Sender) run(job Job) {
	defer s.pending.Done()
	err := job.Call(s.ctx)
	if err != nil {
		s.failed.Add(1)
		s.log.Warn("send failed", slog.Int64("chat", job.Chat), slog.Any("err", err))
	} else {
		s.sent.Add(1)
	}
	if job.Done != nil {
		job.Done(err)
	}
}

// Stats is a snapshot of a Sender's counters.
type Stats struct {
	Sent   int64 // requests accepted by the Bot API
	Failed int64 // requests that failed for good
}

// Stats returns the Sender's counters.
func (s *Sender) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Failed: s.failed.Load()}
}

// Close stops accepting jobs and waits, until ctx is done, for the queued ones to be sent.
// Jobs still queued when ctx ends are abandoned: their requests are cancelled.
func (s *Sender) Close(ctx context.Context) error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()

	drained := make(chan struct{})
	go func() { s.pending.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = fmt.Errorf("outbound: close with jobs still queued: %w", ctx.Err())
		s.cancel()
		<-drained // cancelled calls return promptly
	}
	s.cancel()
	close(s.ready)
	s.workers.Wait()
	return err
}
