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
//
// The parts, a file each: sender.go is the Sender's life (New, Stats, Close); job.go the
// jobs and the reserved slots a caller fills later; queue.go the chats' queues and the
// states a chat moves through; worker.go the workers draining them; pace.go the rate
// limits; retry.go and classify.go what a failure means and when to try again;
// throttle.go tells a bot-wide 429 from a chat's.
//
// # Lock order
//
// Where locks nest, they are taken in this order, and never the other way:
//
//	chatShard.mu  ->  throttleLog.mu      (retry, on a 429)
//	chatShard.mu  ->  rate.Limiter's own  (wait reserving tokens; sweep reading them)
//	Sender.closeMu                        (alone: held only to check closed and count a job)
//
// No goroutine holds two chatShard locks: sweep and wakeAll take the shards one after
// another. Nothing is sent on the ready channel under any lock: it has room for every
// chat, but were it ever to fill, the send would wait for a worker, and a worker takes
// shard locks. Callbacks (Job.Done, Call) run under none.
//
// Why each lock stays:
//   - chatShard.mu: a chat's queue is touched by Send's callers, the workers, timers and
//     Slot.Fill; an owner goroutine (or actor) per chat is what this package exists to
//     avoid, and 64 shards keep producers and workers apart.
//   - throttleLog.mu: a rotation clears the counts, the refusals and the chats together; the
//     per-request count, the hot path, is already lock-free.
//   - Sender.closeMu: a WaitGroup's Add must happen before its Wait when the count may be
//     zero; the read lock orders every Send's pending.Add before Close's pending.Wait, or
//     refuses the job. It is never held while waiting for room, so a full queue behind a
//     stalled API cannot keep Close from starting or from its deadline.
package outbound
