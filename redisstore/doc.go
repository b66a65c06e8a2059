// Package redisstore is the durable store of user states on Redis (≥ 7) or Valkey 8: what
// makes a restart, a redeploy or a second process lose nothing and apply nothing twice. The
// runtime (actors) does not import it; cmd/bot opens it when -store is a redis:// URL.
//
// # Key layout
//
// A key (a user or chat id) K owns up to four Redis keys, all with the hash tag {K}:
//
//	troupe:{K}:rec   hash: v version (a commit counter), u last committed update_id,
//	                 s snapshot, n and b the journal's length and bytes
//	troupe:{K}:log   list: the deltas written since the snapshot, oldest first
//	troupe:{K}:out   sorted set, all scores 0: the outbox, one member per reply, 8 bytes of
//	                 update_id and 4 of its index (big-endian: byte order is commit order),
//	                 then the reply's bytes
//	troupe:{K}:pend  sorted set, score = member = update id: K's updates pending in the
//	                 intake journal (below), while there are any
//
// # Commit: atomic, fenced, deduplicated, O(change)
//
// States are encoded by a [Codec] per state type. A commit sends the codec's delta from the
// loaded state, not the state: with 10,000 values in a series it costs what it costs with
// 10. Every MaxDeltas deltas or MaxDeltaBytes bytes, or once the journal outgrows the
// snapshot, the commit writes a snapshot instead and drops the journal (compaction), in the
// same atomic step, so a load reads at most about twice a snapshot.
//
// One commit is one Lua script (EVALSHA, falling back to EVAL when the server lost its
// script cache): it writes the delta or snapshot, the update_id and the update's outbox
// entries only if the stored version is the one the caller loaded (fencing: a second process
// or an older activation on the same user gets [ErrStale] and writes nothing), and only if the
// update_id is above the last committed one (dedup: [ErrDuplicate], nothing written). A record
// that cannot be decoded gets [ErrCorrupt], on load and on commit, and is never overwritten.
//
// With an intake journal ([Store.Journal]) the commit also keeps each key's order and
// finishes its update: it refuses an update while the journal holds an earlier one of the
// same key unfinished ([ErrOutOfOrder]: committed first, the earlier one would be refused as
// a duplicate, lost), whichever process or actor holds it. The commit that keeps an update
// lets the key's later updates go; when the update has no replies it also takes it out of the
// journal in the same step, so that Journal.Finish of it costs no round trip. One with replies
// stays journaled until intake finishes it after they were sent: a process stopped before
// that leaves it for the next one, whose replay finds it committed (a duplicate) and sends
// what its outbox still holds. Updates the runtime answered without a commit (Change.Skipped)
// leave the journal with the key's next commit. A pending id at or below the key's last
// committed one can never be committed and holds nothing back. Without a journal a commit
// neither looks at nor touches one.
//
// Dedup is by the key's last committed update_id, within a week of that commit: Telegram
// numbers updates in sequence but starts afresh, at random, after a week without any, and
// keeps an update a day at most, so an id at or below the last one whose commit is older
// than a week is a new update. The journal's finished ids are forgotten after a week for the
// same reason. The week is by the server's clock: a commit is stamped with it as the store
// keeps it (the server's TIME, asked at open and once a minute after, applied to the local
// clock), so that the script need not ask TIME itself, which cost it as much as two of its
// other commands.
//
// # How the runtime uses it
//
// A user actor, on start and on restart: Load; send the record's Outbox first, in order,
// acknowledging each reply ([Store.AckEntry]) once the Bot API accepted it; keep the Record.
// For each update: handle it on Record.State; Commit(prev = the kept Record, Change{update_id,
// new state, encoded replies}); keep the returned Record; send the replies and Ack them.
//   - ErrStale: another writer won. Count it, Load again and handle the update again.
//   - ErrDuplicate: the update was committed already (by another writer, or by this commit
//     when a lost reply made go-redis retry it). Load again and send the Outbox.
//   - ErrCorrupt: log it, apologise to that user, keep the record as it is.
//   - ErrOutOfOrder: nothing was committed; the update is not kept, and the journal's replay
//     hands it out again after the earlier one. The store is well.
//   - ErrFull or any other error (down, timeout): nothing was committed; treat it as a failed
//     update, and report the store as not ready.
//
// With the store's own journal, the last reply of an update need not be acknowledged on its
// own ([Store.DeferAck]): the journal's Finish of the update, which follows once its replies
// are sent, removes what is left of its outbox in the same step, a round trip less per
// update. Until then Load leaves that reply out, so a reload in this process does not send
// it again; another process, after a kill, does. At most [MaxDeferredAcks] wait at a time,
// so a kill adds at most that many duplicates to the replies in flight.
//
// Replies are therefore at least once: one whose Ack was lost at a kill is sent again.
//
// # Round trips
//
// Every call but Ping goes through one pipeline per client (group commit): callers that
// wait at the same moment (many actors committing and acknowledging, the webhook's
// concurrent appends) share one round trip, and the server one read and one write for them
// all, while each gets its own reply and error (ErrFull, a refusal, a timeout). A caller
// alone is sent at once, on its own goroutine; those that arrive while a round trip is in
// flight go together in the next one, so no call waits longer than the round trip before it.
// A round trip is bounded by Config.Timeout, and so is each caller's wait (queued and in
// flight): one whose context ends, or whose Timeout passes, first returns that error, and
// is not sent at all if it was still queued. The waits use pooled timers rather than a
// context per call, whose registration with the caller's context is a lock every actor shares.
//
// # When Redis fails
//
// Every call has a deadline (Config.Timeout, connecting included), so a server that hangs
// (paused, partitioned) makes calls fail in that time rather than block an actor. While the
// server is down calls fail; go-redis redials as they are made, so the store works again once
// the server is back, with nothing lost that was committed (given the server's own
// persistence: appendonly, or Render Key Value's). Out of memory (noeviction), a commit fails
// with [ErrFull] before it wrote anything: the script declares itself a write script, which
// Redis refuses whole, while loads (a no-writes script) still run. After a FLUSHALL every user
// starts afresh: a loaded writer's commit is refused as stale, and its reload finds nothing.
//
// Not detected: bytes damaged between a writer's load and its commit, when the journal's
// length still matches the record; the next compaction overwrites them with the writer's state.
//
// # Journal
//
// A [Journal] holds the updates intake took but the runtime has not finished, so that
// Telegram is told "received" (the polling offset confirmed, the webhook's 200) only once an
// update is durable. [OpenJournal] makes its own connections; [Store.Journal] shares the
// store's. Its four keys share the hash tag {journal}:
//
//	troupe:{journal}:ids    sorted set: the pending update ids, score and member the id
//	troupe:{journal}:items  hash: update id -> 8 bytes of routing key, big-endian, then the
//	                        raw update
//	troupe:{journal}:meta   hash: b, the bytes of the items
//	troupe:{journal}:done   sorted set: the Remember (default 10,000) newest finished ids
//
// How intake and the runtime use it:
//   - Polling: Append each getUpdates batch; confirm the offset past it only when Append
//     returned no error. Webhook: Append the one update; answer 200 on no error, 503 on any
//     error, so that Telegram sends it again.
//   - [ErrJournalFull] (past Cap updates or MaxBytes bytes) and [ErrFull] (Redis out of
//     memory) are backpressure: nothing of the batch was written; stop fetching, answer 503,
//     report not ready, try again as updates finish. Other errors (down, timeout) likewise.
//     [ErrBatchTooLarge] says the batch could not fit in an empty journal: split it.
//   - Once an update is committed and its replies were sent (or it failed for good), Finish
//     it; batching many ids into one call costs a fraction per update. With the store's own
//     journal a commit with no replies finished it already, and Finish sends nothing; an
//     update whose last reply was left to it (DeferAck) loses what is left of its outbox
//     in the Finish's step.
//   - On start, before new updates: page through Pending (after = the last id of the
//     previous page) and hand the items to the runtime in that order. Update ids grow with
//     arrival, so each key's updates replay in order.
//
// Append is one script, atomic for the whole batch: an id already pending, among the
// remembered finished ones, or repeated in the batch is skipped, so a batch re-fetched after
// a crash (offset not yet confirmed) or a webhook retried after a lost 200 is not journaled
// twice. Dedup keeps a window of finished ids rather than one high-water mark on purpose:
// under a webhook Telegram may deliver an update it retries (after a 503) after later ones of
// other chats have finished, and a mark would drop it as a re-send. A re-send older than the
// window is journaled again and handled again; the store's per-key update_id check
// ([ErrDuplicate]) keeps it from being applied twice. Update ids must be in 1..2^53
// ([MaxUpdateID]): they are sorted-set scores.
//
// Like a commit, Append declares itself a write script, so Redis out of memory refuses it
// whole; Finish is allowed to run then (it frees more than it writes), so a full server can
// drain; Pending and Stats are read-only scripts and run too.
//
// # Polling lease
//
// [Journal.Lease] is the lease under which processes sharing the journal poll one at a
// time: one hash, prefix:{journal}:polling-lease (h holder, t token, e expiry by the
// server's clock). Acquire hands out a fencing token larger than any before, while the lease
// is free or expired; Renew and Release are the holder's with its token ([ErrLeaseLost]
// otherwise); [Journal.AppendFenced] checks the token in the append's own step, so that a
// holder that lost the lease without knowing it journals nothing. The lease's scripts may
// write while the server is out of memory (a few bytes), so that a full server does not make
// the holder lose it and leave nobody polling once memory is back.
//
// # One server, not a cluster
//
// The targets are one Redis or Valkey server (Render Key Value among them), not Redis
// Cluster, and the scripts rely on it: Append and a journaled commit touch keys of two hash
// tags ({journal} and {K}), and Finish names each update's {K}:pend from the key in its item,
// a key not passed in KEYS. On a cluster the journal would be partitioned by routing key mod
// N ({journal.0} ... {journal.N-1}) with each key's pending ids in its partition; and one
// journal on one slot would be a hot spot anyway.
package redisstore
