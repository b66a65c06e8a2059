package outbound

import "context"

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
