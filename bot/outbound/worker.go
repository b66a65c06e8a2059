package outbound

import (
	"errors"
	"fmt"
	"log/slog"
)

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
		now := s.cfg.Now()
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
				s.finish(job, fmt.Errorf("%w: reserved reply not ready: %w", ErrAbandoned, s.ctx.Err()))
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
			s.cfg.AfterFunc(wait, func() { s.wake(chat) })
			return
		}
		sh.mu.Unlock()

		err := job.Call(s.ctx)
		v := Verdict{}
		switch {
		case err != nil && s.ctx.Err() != nil:
			err = fmt.Errorf("%w: %w", ErrAbandoned, err)
		case err != nil:
			v = s.cfg.Classify(err)
		}

		answered := s.cfg.Now()
		s.throttled.request(answered)
		sh.mu.Lock()
		q.lastUsed = answered
		q.reserved = false
		if err != nil && v.Retry && s.retry(q, chat, v, answered) {
			sh.mu.Unlock()
			continue // the head stays, to wait its turn again
		}
		s.pop(q)
		sh.mu.Unlock()
		s.finish(job, err)
	}
}

func (s *Sender) finish(job Job, err error) {
	defer s.pending.Done()
	<-s.room
	switch {
	case errors.Is(err, ErrAbandoned):
		// One line for all of them, Close's error: a drain must not log each.
		s.abandoned.Add(1)
	case err != nil:
		s.failed.Add(1)
		s.log.Warn("send failed for good", slog.Int64("chat", job.Chat), slog.Any("err", err))
	default:
		s.sent.Add(1)
	}
	if job.Done != nil {
		job.Done(err)
	}
}
