// Package backoff is the one place the project decides how long to wait before trying
// again: the poller after a failed getUpdates, the sender after a 5xx or a broken
// connection, the bot's getMe and setWebhook at start, the actors' restart of a user actor
// that keeps crashing, and the load test's reference echobot.
//
// A [Policy] maps the number of failures in a row, n, to a delay: Initial after the first,
// doubling with each further one (or, Linear, growing by Initial) up to Max, then spread by
// Jitter so that callers failing together do not retry together. The delay is a pure
// function of n and a random number the caller passes in, so a caller's test pins the
// jitter, and a caller counts failures as it likes: the actors count only the crashes
// within a window, so their n goes down again as old crashes age out. [Sleep] is the
// context-aware wait for the callers that wait in a loop; the sender waits on none, it
// sets a timer on its own (injectable) clock and frees its worker meanwhile.
//
// Why not github.com/cenkalti/backoff/v5, which does the same arithmetic: its
// ExponentialBackOff is a stateful iterator (NextBackOff, Reset) whose jitter draws from
// math/rand's global source, with no way to pass the random number in, and it offers no
// delay for a given attempt. The sender would keep an iterator per chat, the actors could
// not step n back as crashes age out, and neither could test its jitter's bounds; its
// Retry loop owns the waiting, which the sender, parking a chat on a timer, cannot use.
// What the six call sites need of it is the forty lines here.
package backoff
