// Package actors is Troupe's runtime: one actor per Telegram user, supervised, owning that
// user's context in memory.
//
// A [Runtime] routes every update to the actor of its key (the sender's user id, or the chat
// id when there is no user; see [KeyOf]). The routing table is split over shard supervisors,
// so no global lock sits on the hot path and no lookup scans the actors: an update goes to
// shard hash(key) mod n, which spawns the key's actor on demand and forwards the update to
// it. Updates of one key are handled in arrival order by that one actor; different keys run
// concurrently.
//
// The application is split in two. [Logic] is a pure function from (committed state,
// update) to (new state, actions); [Performer] carries the actions out (replies, charts) and
// reports when they are done. After Logic returns, the new state is committed to a [Store]
// and only then are the actions performed. If Logic panics, nothing is committed: the shard
// supervisor asks Logic for an apology for that update, performs it, and restarts the actor,
// whose new incarnation reloads the last committed state from the Store. Updates queued
// behind the failing one stay in the mailbox and are handled by the new incarnation, in
// order.
//
// # Durable stores
//
// A [Store] keeps a record per key: the state, its version and the last update it answers,
// and, with [NewDurable] and an [ActionCodec], the update's actions not yet finished (the
// outbox). A durable store fences commits (a writer whose loaded version is no longer the
// stored one is refused with [ErrStale]: the actor reloads and handles the update again) and
// deduplicates them by update id ([ErrDuplicate]: the update is not applied again, and what
// its outbox still holds is sent). When a user's actor starts, the outbox goes out first,
// before that user's new updates; each update's entries are acknowledged once the Performer
// finished them, so actions are performed at least once. A record that cannot be decoded
// ([ErrCorrupt]) gets the user an apology and is left as it is. A store that is down, slow or
// full fails the update with [ErrNotKept] through [Runtime.Submit]: nothing was kept, the
// user is told nothing, intake leaves it unconfirmed for Telegram to send again, and
// [Runtime.StoreErr] reports the store unhealthy until a call succeeds. The [MemoryStore]
// neither fences nor keeps an outbox: one process owns it, and loses it when it exits.
//
// Because Logic must not modify the state it is given, states are values whose large parts
// are shared, never copied, between versions (persistent structures); a commit then costs
// O(change), not O(state).
package actors
