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
