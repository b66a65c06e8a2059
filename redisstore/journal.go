package redisstore

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrJournalFull refuses an Append whose batch would take the journal past its Cap or
// MaxBytes. Nothing of the batch was written: it is backpressure (stop fetching, answer 503),
// and room comes back as updates Finish.
var ErrJournalFull = errors.New("redisstore: journal is full")

// ErrBatchTooLarge refuses an Append whose new updates alone exceed Cap or MaxBytes: it could
// never fit, however many updates finish. Nothing was written; split the batch (an update
// bigger than MaxBytes cannot be journaled at all: raise MaxBytes).
var ErrBatchTooLarge = errors.New("redisstore: batch exceeds the journal's bounds")

// MaxUpdateID is the largest update id the journal takes: ids are sorted-set scores, exact
// up to 2^53 (Telegram's identifiers have at most 52 significant bits).
const MaxUpdateID = 1 << 53

// maxPage bounds one Pending call, so that one script's reply stays small.
const maxPage = 1000

// JournalConfig configures a Journal. URL is required for OpenJournal; Store.Journal shares
// the store's client and ignores it.
type JournalConfig struct {
	// URL is redis://[user:password@]host:port[/db] or rediss:// for TLS.
	URL string
	// Prefix begins every key; default "troupe".
	Prefix string
	// Cap is the most unfinished updates the journal holds; default 100,000.
	Cap int
	// MaxBytes is the most bytes of unfinished updates (raw update plus 8 bytes of routing
	// key each) the journal holds; default 64 MiB.
	MaxBytes int64
	// Remember is how many finished update ids the journal keeps, so that a re-sent update
	// (a batch re-fetched after a crash, a webhook retried) is not journaled again; default
	// 10,000, far more than one polling batch or one webhook's connections in flight. Up to
	// a 64th more are kept between trims, which then drop the oldest.
	Remember int
	// Timeout bounds every call, connecting included; default 2s.
	Timeout time.Duration
	// Hooks are added to the client OpenJournal makes, e.g. to count bytes.
	Hooks []redis.Hook
}

// Item is one journaled update: its id, the key it is routed by (user id, else chat id) and
// the update as it arrived.
type Item struct {
	UpdateID int64
	Key      int64
	Raw      []byte
}

// JournalStats is what /status, /metrics and readiness report of the journal.
type JournalStats struct {
	// Len and Bytes are the unfinished updates and their bytes; Cap and MaxBytes their bounds.
	Len, Cap        int
	Bytes, MaxBytes int64
	// Remembered counts the finished ids kept for deduplication.
	Remembered int
}

// Journal is the intake's journal of updates not yet finished, on Redis or Valkey. It is safe
// for concurrent use, also from several processes: each script is atomic.
type Journal struct {
	rdb  *redis.Client
	pipe *pipe
	own  bool // Close closes rdb
	cfg  JournalConfig
	// keys are the pending ids, items, meta and finished ids, boxed once as command
	// arguments (a commit sends them with every update); remember is cfg.Remember, likewise.
	keys     [4]any
	remember any
	// prefix begins the names of the journal's keys, boxed once: a commit names them from it.
	prefix any
	// leaseKey is the polling lease's (see Lease), beside the journal's keys: a fenced
	// Append reads it in the same step.
	leaseKey string
	// pend begins the name of a key's pending ids: pend + key + "}:pend", beside the
	// key's record (see Store.keysOf).
	pend string

	mu sync.Mutex
	// committed holds the updates this process's commits kept (or found kept), so that
	// their Finish costs less; bounded by maxCommitted.
	committed map[int64]commitNote
	// deferred counts the notes whose acknowledgement waits for a Finish; bounded by
	// MaxDeferredAcks.
	deferred int
}

// commitNote is what a commit of this process told the journal about one update.
type commitNote struct {
	key int64
	// whole: the commit took the update out of the journal too (it had no replies), so its
	// Finish costs no round trip. Otherwise the commit took it out of its key's pending ids,
	// so its Finish need not look for it there.
	whole bool
	// acked: the update's last outbox entry (seq ackSeq) was performed and its
	// acknowledgement left to the update's Finish (Store.DeferAck), which removes what is
	// left of the update's outbox in its own step; until then a Load leaves that entry out.
	acked  bool
	ackSeq int
}

// MaxDeferredAcks bounds the acknowledgements waiting for their update's Finish at one time
// (Store.DeferAck). Each is a reply that a kill leaves to be sent again, since the finish
// comes a moment after the reply went; so a kill adds at most this many duplicates to the
// replies that were in flight. Past the bound replies are acknowledged on their own. A
// durable spread of 7,000–9,000 updates a second ran as fast with this bound as without one,
// and with 64 as slowly as with none deferred.
const MaxDeferredAcks = 256

// maxCommitted bounds Journal.committed. Past it the notes are dropped (see shed): an update
// whose note went costs a Finish that does more than it needs, never a wrong answer.
const maxCommitted = 1 << 16

// OpenJournal connects to the server cfg.URL names and checks that it answers.
func OpenJournal(ctx context.Context, cfg JournalConfig) (*Journal, error) {
	cfg = cfg.withDefaults()
	rdb, err := newClient(cfg.URL, cfg.Timeout, 0, cfg.Hooks)
	if err != nil {
		return nil, err
	}
	j := newJournal(rdb, newPipe(rdb, cfg.Timeout), true, cfg, cfg.Prefix)
	if err := j.Ping(ctx); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redisstore: open journal %s: %w", rdb.Options().Addr, err)
	}
	return j, nil
}

// Journal returns a journal on the store's connections: one pool, and one pipeline that
// callers of both share. Its Close does not close them; the store's does. cfg.URL,
// cfg.Hooks and cfg.Timeout are ignored (the pipeline bounds calls by the store's Timeout);
// an empty Prefix is the store's.
//
// From then on the store's commits go with the journal (the last one Journal returned): a
// commit refuses an update while an earlier update of its key is pending in the journal
// (ErrOutOfOrder), and the commit that keeps an update (or is refused as its duplicate)
// also finishes it there, so that its Finish costs nothing.
func (st *Store[S]) Journal(cfg JournalConfig) *Journal {
	if cfg.Prefix == "" {
		cfg.Prefix = st.cfg.Prefix
	}
	cfg.Timeout = st.cfg.Timeout
	j := newJournal(st.rdb, st.pipe, false, cfg.withDefaults(), st.cfg.Prefix)
	st.journal.Store(j)
	return j
}

func (cfg JournalConfig) withDefaults() JournalConfig {
	if cfg.Prefix == "" {
		cfg.Prefix = "troupe"
	}
	if cfg.Cap <= 0 {
		cfg.Cap = 100_000
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 64 << 20
	}
	if cfg.Remember <= 0 {
		cfg.Remember = 10_000
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	return cfg
}

// newJournal names the journal's keys; the hash tag {journal} puts them in one cluster slot.
// A key's pending ids go beside its record, under keyPrefix.
func newJournal(rdb *redis.Client, p *pipe, own bool, cfg JournalConfig, keyPrefix string) *Journal {
	jp := cfg.Prefix + ":{journal}:"
	return &Journal{rdb: rdb, pipe: p, own: own, cfg: cfg, keys: [4]any{jp + "ids", jp + "items", jp + "meta", jp + "done"},
		prefix: jp, leaseKey: jp + "polling-lease", pend: keyPrefix + ":{", committed: map[int64]commitNote{},
		remember: strconv.Itoa(cfg.Remember)}
}

// pendKey names the sorted set of key's pending update ids.
func (j *Journal) pendKey(key int64) string {
	return j.pend + strconv.FormatInt(key, 10) + "}:pend"
}

// Close closes the connections OpenJournal made; on a store's journal it does nothing.
func (j *Journal) Close() error {
	if !j.own {
		return nil
	}
	return j.rdb.Close()
}

// Ping checks that the server answers, within the timeout.
func (j *Journal) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, j.cfg.Timeout)
	defer cancel()
	if err := j.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", classify(err))
	}
	return nil
}

// Append journals a batch in one atomic step and returns how many of its updates it added.
// An update already pending, or among the Remember last finished, is skipped (a re-send); so
// is a second copy within the batch. If the new updates would take the journal past Cap or
// MaxBytes, nothing is added and the error is ErrJournalFull (ErrBatchTooLarge if they would
// not fit in an empty journal either); if Redis is out of memory,
// nothing is added and the error is ErrFull. Either way the caller must not acknowledge the
// batch. A reply lost in transit makes the client run the script again, which then counts
// what the lost run added as already there: rely on err, not on the count, to acknowledge.
func (j *Journal) Append(ctx context.Context, items []Item) (appended int, err error) {
	return j.append(ctx, items, "", "")
}

// append is Append, fenced by the polling lease when token is not empty.
func (j *Journal) append(ctx context.Context, items []Item, holder, token string) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	// The keys (the journal's, the lease's, each update's pending ids), then the arguments.
	args := appendScript.args(1 + len(j.keys) + 1 + 3*len(items) + 4)
	args = append(args, len(j.keys)+1+len(items))
	args = append(args, j.keys[:]...)
	args = append(args, j.leaseKey)
	for _, it := range items {
		if it.UpdateID <= 0 || it.UpdateID > MaxUpdateID {
			return 0, fmt.Errorf("redisstore: journal update %d: the id is not in 1..2^53", it.UpdateID)
		}
		args = append(args, j.pendKey(it.Key))
	}
	args = append(args, j.cfg.Cap, j.cfg.MaxBytes, holder, token)
	for _, it := range items {
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(it.Raw)), uint64(it.Key))
		args = append(args, strconv.FormatInt(it.UpdateID, 10), append(v, it.Raw...))
	}
	first, last := items[0].UpdateID, items[len(items)-1].UpdateID
	res, err := runInt64s(ctx, j.pipe, appendScript, args)
	if err != nil {
		return 0, fmt.Errorf("redisstore: journal updates %d..%d: %w", first, last, classify(err))
	}
	if res[0] == fencedOff {
		return 0, fmt.Errorf("redisstore: journal updates %d..%d for %q with lease token %s: the lease's token is %d now: %w",
			first, last, holder, token, res[1], ErrLeaseLost)
	}
	if res[0] < 0 {
		sentinel := ErrJournalFull
		if res[3] > int64(j.cfg.Cap) || res[4] > j.cfg.MaxBytes {
			sentinel = ErrBatchTooLarge
		}
		return 0, fmt.Errorf("redisstore: journal updates %d..%d: %d new (%d bytes) on %d pending (%d bytes), bounds %d and %d bytes: %w",
			first, last, res[3], res[4], res[1], res[2], j.cfg.Cap, j.cfg.MaxBytes, sentinel)
	}
	return int(res[0]), nil
}

// Pending returns up to n unfinished updates with an id above after, in update id order:
// the replay on start pages through it with after = the last id of the previous page. Ids
// grow with arrival, so handing the items out in this order keeps each key's order. n <= 0,
// or above 1,000, is 1,000.
func (j *Journal) Pending(ctx context.Context, after int64, n int) ([]Item, error) {
	if n <= 0 || n > maxPage {
		n = maxPage
	}
	cmd, err := j.pipe.script(ctx, readScript, j.keys[:], "page", after, n)
	var res []any
	if err == nil {
		res, err = cmd.Slice()
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: journal pending after %d: %w", after, classify(err))
	}
	items := make([]Item, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		s, _ := res[i].(string)
		id, err := strconv.ParseInt(s, 10, 64)
		v, ok := res[i+1].(string)
		if err != nil || !ok || len(v) < 8 {
			return items, fmt.Errorf("redisstore: journal pending after %d: %w: update %q has no item of 8 bytes or more", after, ErrCorrupt, s)
		}
		items = append(items, Item{UpdateID: id, Key: int64(binary.BigEndian.Uint64([]byte(v[:8]))), Raw: []byte(v[8:])})
	}
	return items, nil
}

// Finish removes finished updates from the journal in one step and remembers their ids
// (the Remember newest), so that a re-send is skipped. Finishing an id that is not pending
// does nothing, and an id the store's commit finished already costs no round trip. It runs
// while Redis is out of memory too: draining is how the journal makes room.
func (j *Journal) Finish(ctx context.Context, ids ...int64) error {
	acked, kept, rest := j.unfinished(ids)
	if len(acked)+len(kept)+len(rest) == 0 {
		return nil
	}
	args := finishScript.args(1 + len(j.keys) + 4 + 2*len(acked) + len(kept) + len(rest))
	args = append(args, len(j.keys))
	args = append(args, j.keys[:]...)
	args = append(args, j.remember, j.pend, len(acked), len(kept))
	for _, a := range acked {
		args = append(args, a.id, a.key)
	}
	for _, id := range kept {
		args = append(args, id)
	}
	for _, id := range rest {
		args = append(args, id)
	}
	if _, err := j.pipe.do(ctx, finishScript, args); err != nil {
		// The notes stay: the update stays journaled, and its Finish is tried again.
		return fmt.Errorf("redisstore: journal finish %d updates from %d: %w", len(ids), ids[0], classify(err))
	}
	j.forget(acked, kept)
	return nil
}

// Stats returns the journal's size and bounds, read at one instant.
func (j *Journal) Stats(ctx context.Context) (JournalStats, error) {
	cmd, err := j.pipe.script(ctx, readScript, j.keys[:], "stats")
	var res []int64
	if err == nil {
		res, err = cmd.Int64Slice()
	}
	if err != nil {
		return JournalStats{}, fmt.Errorf("redisstore: journal stats: %w", classify(err))
	}
	return JournalStats{Len: int(res[0]), Bytes: res[1], Remembered: int(res[2]), Cap: j.cfg.Cap, MaxBytes: j.cfg.MaxBytes}, nil
}

// keptByCommit notes that a commit of key kept id (or found it kept): whole when it also
// took id out of the journal.
func (j *Journal) keptByCommit(key, id int64, whole bool) {
	j.mu.Lock()
	if len(j.committed) >= maxCommitted {
		j.shed()
	}
	n := j.committed[id]
	n.key, n.whole = key, n.whole || whole
	j.committed[id] = n
	j.mu.Unlock()
}

// shed makes room in j.committed, keeping the notes whose acknowledgement waits for a
// Finish (at most MaxDeferredAcks): without its note, that Finish would leave the entry in the
// outbox, to be sent again when the user's actor next starts. j.mu is held.
func (j *Journal) shed() {
	for id, n := range j.committed {
		if !n.acked {
			delete(j.committed, id)
		}
	}
}

// deferAck leaves the acknowledgement of key's entry (id, seq) to the Finish of update id,
// when a commit of this process kept that update with replies.
func (j *Journal) deferAck(key, id int64, seq int) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	n, ok := j.committed[id]
	if !ok || n.whole || n.key != key || j.deferred >= MaxDeferredAcks {
		return false
	}
	if !n.acked {
		j.deferred++
	}
	n.acked, n.ackSeq = true, seq
	j.committed[id] = n
	return true
}

// ackDeferred reports whether the acknowledgement of key's entry (id, seq) waits for the
// Finish of update id.
func (j *Journal) ackDeferred(key, id int64, seq int) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	n, ok := j.committed[id]
	return ok && n.acked && n.key == key && n.ackSeq == seq
}

// keyedID is an update id with its key.
type keyedID struct{ id, key int64 }

// unfinished sorts ids for Finish: those whose last acknowledgement is left to it (acked),
// those a commit of this process kept with replies (kept), and the others (rest), leaving out
// those a commit finished, which it forgets.
func (j *Journal) unfinished(ids []int64) (acked []keyedID, kept, rest []int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.committed) == 0 {
		return nil, nil, ids
	}
	for _, id := range ids {
		n, ok := j.committed[id]
		switch {
		case !ok:
			rest = append(rest, id)
		case n.whole:
			if n.acked {
				j.deferred--
			}
			delete(j.committed, id)
		case n.acked:
			acked = append(acked, keyedID{id: id, key: n.key})
		default:
			kept = append(kept, id)
		}
	}
	return acked, kept, rest
}

// forget drops the notes of finished updates.
func (j *Journal) forget(acked []keyedID, kept []int64) {
	if len(acked)+len(kept) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, a := range acked {
		if n, ok := j.committed[a.id]; ok && n.acked {
			j.deferred--
		}
		delete(j.committed, a.id)
	}
	for _, id := range kept {
		delete(j.committed, id)
	}
}

// Len returns the number of unfinished updates.
func (j *Journal) Len(ctx context.Context) (int, error) {
	s, err := j.Stats(ctx)
	return s.Len, err
}

//go:embed journal_append.lua
var appendSource string

//go:embed journal_finish.lua
var finishSource string

//go:embed journal_read.lua
var readSource string

var (
	appendScript = newScript(appendSource, false)
	finishScript = newScript(finishSource, false)
	readScript   = newScript(readSource, true)
)
