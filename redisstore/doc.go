// Package redisstore is the durable store of user states on Redis (≥ 7) or Valkey 8: what
// makes a restart, a redeploy or a second process lose nothing and apply nothing twice. The
// runtime (actors) does not import it; cmd/bot opens it when -store is a redis:// URL.
//
// # Key layout
//
// A key (a user or chat id) K owns three Redis keys, all with the hash tag {K} so that they
// share one Redis Cluster slot and one script may touch them all:
//
//	troupe:{K}:rec  hash: v version (a commit counter), u last committed update_id,
//	                s snapshot, n and b the journal's length and bytes
//	troupe:{K}:log  list: the deltas written since the snapshot, oldest first
//	troupe:{K}:out  sorted set, all scores 0: the outbox, one member per reply, 8 bytes of
//	                update_id and 4 of its index (big-endian: byte order is commit order),
//	                then the reply's bytes
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
//   - ErrFull or any other error (down, timeout): nothing was committed; treat it as a failed
//     update, and report the store as not ready.
//
// Replies are therefore at least once: one whose Ack was lost at a kill is sent again.
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
package redisstore
