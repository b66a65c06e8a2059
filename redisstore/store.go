package redisstore

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Errors a caller tells apart with errors.Is. Each comes wrapped with the key it is about.
var (
	// ErrStale refuses a commit whose loaded version is no longer the stored one: another
	// writer (a second process, an older activation) committed since. Nothing was written;
	// reload and handle the update again on the fresh state.
	ErrStale = errors.New("redisstore: stale version")
	// ErrDuplicate refuses a commit whose update_id is at or below the key's last committed
	// one: the update was handled already. Nothing was written; its replies, if not yet
	// acknowledged, are in the record's Outbox.
	ErrDuplicate = errors.New("redisstore: update already committed")
	// ErrCorrupt says a stored record cannot be decoded (damaged bytes, or written by a newer
	// codec). The store never overwrites it: commits on that key are refused with it too.
	ErrCorrupt = errors.New("redisstore: record cannot be decoded")
	// ErrFull says Redis refused a write for want of memory (maxmemory with noeviction).
	// Nothing was written.
	ErrFull = errors.New("redisstore: redis is out of memory")
	// ErrOutOfOrder refuses a commit while the store's journal (Store.Journal) still holds an
	// earlier update of the same key unfinished: committing this one first would make the
	// earlier one a duplicate, lost. Nothing was written; hand this update out again after
	// the earlier one (the journal's replay does, in id order).
	ErrOutOfOrder = errors.New("redisstore: an earlier update of the key is unfinished")
)

// Codec turns one state type into bytes and back. Snapshot encodes a whole state; Delta
// encodes what changed from prev to next, or returns ok == false when a snapshot should be
// written instead; Restore rebuilds the state from a snapshot and the deltas written after
// it, oldest first. Encodings should begin with a format byte, so that records written by an
// older build still decode and those of a newer build are refused (ErrCorrupt), not misread.
type Codec[S any] interface {
	Snapshot(s S) ([]byte, error)
	Delta(prev, next S) (delta []byte, ok bool, err error)
	Restore(snapshot []byte, deltas [][]byte) (S, error)
}

// Config configures a Store. URL and Codec are required.
type Config[S any] struct {
	// URL is redis://[user:password@]host:port[/db] or rediss:// for TLS.
	URL   string
	Codec Codec[S]
	// Prefix begins every key; default "troupe".
	Prefix string
	// Timeout bounds every call, connecting included; default 2s.
	Timeout time.Duration
	// PoolSize is the number of pooled connections; 0 is go-redis's default, 10 per CPU.
	PoolSize int
	// MaxDeltas and MaxDeltaBytes bound the journal of a key: the commit that would exceed
	// either writes a snapshot instead (compaction). A commit also compacts when the journal
	// would outgrow the snapshot itself (past 4 KiB), so that loading never reads more than
	// twice a snapshot's bytes. Defaults 1000 and 256 KiB.
	MaxDeltas     int
	MaxDeltaBytes int
	// Hooks are added to the client, e.g. to count commands or bytes.
	Hooks []redis.Hook
}

// compactFloor is the journal size below which a journal larger than its snapshot is
// still kept: tiny states would otherwise be snapshotted on every commit.
const compactFloor = 4 << 10

// Store is the durable store of one state type on Redis or Valkey. It is safe for concurrent
// use; one key should be committed by one writer at a time, and fencing refuses the others.
type Store[S any] struct {
	rdb     *redis.Client
	pipe    *pipe
	codec   Codec[S]
	cfg     Config[S]
	journal atomic.Pointer[Journal] // the intake journal commits go with; nil for none
	clock   serverClock
}

// Open connects to the server cfg.URL names and checks that it answers.
func Open[S any](ctx context.Context, cfg Config[S]) (*Store[S], error) {
	st, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := st.Ping(ctx); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("redisstore: open %s: %w", st.rdb.Options().Addr, err)
	}
	// The server answers: learn its clock now rather than in the background at the first
	// commit (see serverClock).
	st.clock.sync()
	return st, nil
}

// New is Open without the first ping: a process may start while its server is away, and
// is then not ready (Ping fails) until the server answers; calls dial as they are made.
func New[S any](cfg Config[S]) (*Store[S], error) {
	if cfg.Codec == nil {
		return nil, errors.New("redisstore: open: no codec")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "troupe"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.MaxDeltas <= 0 {
		cfg.MaxDeltas = 1000
	}
	if cfg.MaxDeltaBytes <= 0 {
		cfg.MaxDeltaBytes = 256 << 10
	}
	rdb, err := newClient(cfg.URL, cfg.Timeout, cfg.PoolSize, cfg.Hooks)
	if err != nil {
		return nil, err
	}
	st := &Store[S]{rdb: rdb, pipe: newPipe(rdb, cfg.Timeout), codec: cfg.Codec, cfg: cfg}
	// The method value is made once here: made at every commit, it would be an allocation.
	st.clock = serverClock{local: time.Now, ask: st.serverTime, timeout: cfg.Timeout}
	return st, nil
}

// newClient makes the pooled client a Store or a Journal uses: every call bounded by
// timeout, connecting included.
func newClient(url string, timeout time.Duration, poolSize int, hooks []redis.Hook) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		// ParseURL's errors do not repeat the URL, which may hold a password.
		return nil, fmt.Errorf("redisstore: open: parse the store URL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = timeout, timeout, timeout
	opt.ContextTimeoutEnabled = true
	if poolSize > 0 {
		opt.PoolSize = poolSize
	}
	// Maintenance notifications are a Redis Cloud feature; Redis 7 and Valkey do not know
	// the command that asks for them.
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	rdb := redis.NewClient(opt)
	for _, h := range hooks {
		rdb.AddHook(h)
	}
	return rdb, nil
}

// Close closes the pooled connections.
func (st *Store[S]) Close() error { return st.rdb.Close() }

// Ping checks that the server answers, within the timeout: what /readyz asks.
func (st *Store[S]) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, st.cfg.Timeout)
	defer cancel()
	if err := st.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", classify(err))
	}
	return nil
}

// serverTime asks the server its clock (for st.clock).
func (st *Store[S]) serverTime(ctx context.Context) (time.Time, error) {
	return st.rdb.Time(ctx).Result()
}

// Record is a key's committed state as loaded, and what the next commit needs.
type Record[S any] struct {
	State S
	// Version counts the key's commits; 0 means nothing was ever committed.
	Version int64
	// UpdateID is the last committed update's id; 0 if none.
	UpdateID int64
	// Outbox holds the replies not yet acknowledged, in the order they were committed.
	// In a Record that Commit returned, only the ones that commit added.
	Outbox []Entry
	// Age is how long ago, by the server's clock, the last commit was, to the second, as
	// Load saw it; -1 when unknown (no commit, or one from before this was kept).
	Age time.Duration

	journal      int // deltas since the snapshot
	journalBytes int
	snapshot     int // bytes of the snapshot
	keys         *keyArgs
}

// Entry is one reply waiting in the outbox: the Data of the Seq-th reply of an update.
type Entry struct {
	UpdateID int64
	Seq      int
	Data     []byte
}

// Change is what one handled update commits.
type Change[S any] struct {
	// UpdateID is the update's id, > 0 and above the last committed one; 0 commits without
	// deduplication and without outbox entries (e.g. a state change no update caused).
	UpdateID int64
	State    S
	// Outbox holds the update's replies, encoded; they stay until acknowledged.
	Outbox [][]byte
	// Skipped are ids of the key's updates answered without a commit (a flooding user's,
	// a crashed one's): with a journal attached they leave it in the same step, before the
	// commit's order is checked, so that they hold none of the key's later updates back.
	Skipped []int64
}

// keyArgs are a key's Redis keys as command arguments: named and boxed once, when the key
// is loaded, then reused by every commit that follows (a Record carries them). A load sends
// all three; a commit only rec, and commit.lua names the others from it (and the key's
// pending journal ids, as Journal.pendKey names them).
type keyArgs struct {
	key           int64
	rec, log, out any
}

// keysOf names key's Redis keys, in one allocation; the hash tag puts them in one cluster
// slot.
func (st *Store[S]) keysOf(key int64) *keyArgs {
	var b strings.Builder
	b.Grow(3*(len(st.cfg.Prefix)+24) + len("reclogout"))
	var ends [3]int
	for i, suffix := range [3]string{"rec", "log", "out"} {
		st.writeKey(&b, key, suffix)
		ends[i] = b.Len()
	}
	all := b.String()
	return &keyArgs{key: key, rec: all[:ends[0]], log: all[ends[0]:ends[1]], out: all[ends[1]:]}
}

// outKey names key's outbox alone: what an acknowledgement needs.
func (st *Store[S]) outKey(key int64) string {
	var b strings.Builder
	b.Grow(len(st.cfg.Prefix) + 27)
	st.writeKey(&b, key, "out")
	return b.String()
}

// writeKey writes the name of key's Redis key with suffix: prefix:{key}:suffix.
func (st *Store[S]) writeKey(b *strings.Builder, key int64, suffix string) {
	var id [20]byte
	b.WriteString(st.cfg.Prefix)
	b.WriteString(":{")
	b.Write(strconv.AppendInt(id[:0], key, 10))
	b.WriteString("}:")
	b.WriteString(suffix)
}

// Load returns key's committed record; Version == 0 (and the zero state) when there is none.
func (st *Store[S]) Load(ctx context.Context, key int64) (Record[S], error) {
	k := st.keysOf(key)
	args := loadScript.args(4)
	cmd, err := st.pipe.do(ctx, loadScript, append(args, 3, k.rec, k.log, k.out))
	var res []any
	if err == nil {
		res, err = cmd.Slice()
	}
	if err != nil {
		return Record[S]{}, fmt.Errorf("redisstore: load key %d: %w", key, classify(err))
	}
	if len(res) != 4 {
		return Record[S]{}, fmt.Errorf("redisstore: load key %d: unexpected reply %v", key, res)
	}
	rec, _ := res[0].([]any)
	log, _ := res[1].([]any)
	out, _ := res[2].([]any)
	age, _ := res[3].(int64)
	if len(rec) != 5 {
		return Record[S]{}, fmt.Errorf("redisstore: load key %d: unexpected reply %v", key, res)
	}
	r, err := st.decode(key, rec, strs(log), strs(out))
	r.Outbox = st.withoutDeferred(key, r.Outbox)
	r.keys = k
	r.Age = -1
	if age >= 0 {
		r.Age = time.Duration(age) * time.Second
	}
	return r, err
}

// withoutDeferred leaves out the entries whose acknowledgement waits for their update's
// Finish (DeferAck): performed, they are as good as acknowledged.
func (st *Store[S]) withoutDeferred(key int64, out []Entry) []Entry {
	j := st.journal.Load()
	if j == nil || len(out) == 0 {
		return out
	}
	kept := out[:0]
	for _, e := range out {
		if !j.ackDeferred(key, e.UpdateID, e.Seq) {
			kept = append(kept, e)
		}
	}
	return kept
}

func strs(a []any) []string {
	s := make([]string, len(a))
	for i, v := range a {
		s[i], _ = v.(string)
	}
	return s

}

func (st *Store[S]) decode(key int64, f []any, log, out []string) (Record[S], error) {
	var r Record[S]
	corrupt := func(format string, a ...any) (Record[S], error) {
		return Record[S]{}, fmt.Errorf("redisstore: load key %d: %w: %s", key, ErrCorrupt, fmt.Sprintf(format, a...))
	}
	if f[0] == nil {
		if len(log) > 0 || f[2] != nil {
			return corrupt("a journal or snapshot without a version")
		}
		r.Outbox, _ = decodeOutbox(out) // replies may outlive a flushed record; keep them
		return r, nil
	}
	var nums [5]int64
	for _, i := range []int{0, 1, 3, 4} {
		s, _ := f[i].(string)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil && !(i == 1 && f[i] == nil) {
			return corrupt("field %d is %q, not a number", i, s)
		}
		nums[i] = n
	}
	snap, ok := f[2].(string)
	if !ok {
		return corrupt("no snapshot")
	}
	if nums[3] != int64(len(log)) {
		return corrupt("the journal holds %d deltas, the record says %d", len(log), nums[3])
	}
	deltas := make([][]byte, len(log))
	for i, d := range log {
		deltas[i] = []byte(d)
	}
	s, err := st.codec.Restore([]byte(snap), deltas)
	if err != nil {
		return Record[S]{}, fmt.Errorf("redisstore: load key %d: %w: %w", key, ErrCorrupt, err)
	}
	entries, err := decodeOutbox(out)
	if err != nil {
		return Record[S]{}, fmt.Errorf("redisstore: load key %d: %w: %w", key, ErrCorrupt, err)
	}
	r = Record[S]{State: s, Version: nums[0], UpdateID: nums[1], Outbox: entries,
		journal: int(nums[3]), journalBytes: int(nums[4]), snapshot: len(snap)}
	return r, nil
}

// Commit writes ch as the state following prev, which Load (or the previous Commit) returned,
// in one atomic step: the delta (or a snapshot, when the codec has none or the journal is due
// for compaction), the update id and the outbox entries, all or nothing. It returns the record
// the next commit follows. It refuses with ErrDuplicate, ErrStale, ErrCorrupt or ErrOutOfOrder,
// writing nothing. With a journal (Store.Journal), the commit that keeps the update, or refuses
// it as a duplicate, also finishes it in the journal.
func (st *Store[S]) Commit(ctx context.Context, key int64, prev Record[S], ch Change[S]) (Record[S], error) {
	if ch.UpdateID <= 0 && len(ch.Outbox) > 0 {
		return prev, fmt.Errorf("redisstore: commit key %d: outbox entries need an update id", key)
	}
	next := prev
	next.State, next.Outbox = ch.State, nil
	kind, payload, err := st.encode(prev, ch.State)
	if err != nil {
		return prev, fmt.Errorf("redisstore: commit key %d: encode: %w", key, err)
	}
	if kind == "s" {
		next.journal, next.journalBytes, next.snapshot = 0, 0, len(payload)
	} else {
		next.journal, next.journalBytes = next.journal+1, next.journalBytes+len(payload)
	}
	k := prev.keys
	if k == nil || k.key != key {
		k = st.keysOf(key)
		next.keys = k
	}
	j := st.journal.Load()
	args := commitScript.args(2 + 7 + len(ch.Skipped) + len(ch.Outbox))
	args = append(args, 1, k.rec, prev.Version, ch.UpdateID)
	switch {
	case len(ch.Skipped) > 0:
		args = append(args, kind+strconv.Itoa(len(ch.Skipped)))
	case kind == "s":
		args = append(args, "s") // a constant: no allocation, as kind itself would cost
	default:
		args = append(args, "d")
	}
	var journal, remember any = "", "" // no journal
	if j != nil {
		journal, remember = j.prefix, j.remember
	}
	args = append(args, payload, journal, remember, st.clock.arg())
	for _, id := range ch.Skipped {
		args = append(args, id)
	}
	if len(ch.Outbox) > 0 {
		next.Outbox = make([]Entry, len(ch.Outbox))
	}
	for i, data := range ch.Outbox {
		next.Outbox[i] = Entry{UpdateID: ch.UpdateID, Seq: i, Data: data}
		args = append(args, next.Outbox[i].member())
	}
	res, err := runInt64s(ctx, st.pipe, commitScript, args)
	if err != nil {
		return prev, fmt.Errorf("redisstore: commit key %d update %d: %w", key, ch.UpdateID, classify(err))
	}
	if j != nil && ch.UpdateID > 0 && (res[0] == 0 || res[0] == 1) {
		// Either way the key's pending ids up to this one are gone; with no replies to
		// send, a kept update left the journal too.
		j.keptByCommit(key, ch.UpdateID, res[0] == 0 && len(ch.Outbox) == 0)
	}
	switch res[0] {
	case 0:
		next.Version = res[1]
		if ch.UpdateID > 0 {
			next.UpdateID = ch.UpdateID
		}
		return next, nil
	case 1:
		return prev, fmt.Errorf("redisstore: commit key %d: update %d, last committed %d: %w", key, ch.UpdateID, res[2], ErrDuplicate)
	case 4:
		return prev, fmt.Errorf("redisstore: commit key %d update %d: update %d of the key is in the journal unfinished: %w", key, ch.UpdateID, res[3], ErrOutOfOrder)
	}
	// A refused version may be a record nobody can load; say so rather than "stale", which
	// would send the caller to reload in a loop.
	if _, err := st.Load(ctx, key); errors.Is(err, ErrCorrupt) {
		return prev, err
	}
	if res[0] == 3 {
		return prev, fmt.Errorf("redisstore: commit key %d: %w: the journal does not match its record", key, ErrCorrupt)
	}
	return prev, fmt.Errorf("redisstore: commit key %d: loaded version %d, stored %d: %w", key, prev.Version, res[1], ErrStale)
}

// encode chooses between a delta and a snapshot: "d" or "s", and the bytes.
func (st *Store[S]) encode(prev Record[S], s S) (kind string, payload []byte, err error) {
	if prev.Version > 0 {
		d, ok, err := st.codec.Delta(prev.State, s)
		if err != nil {
			return "", nil, err
		}
		n, b := prev.journal+1, prev.journalBytes+len(d)
		if ok && n <= st.cfg.MaxDeltas && b <= st.cfg.MaxDeltaBytes && (b <= compactFloor || b <= prev.snapshot) {
			return "d", d, nil
		}
	}
	snap, err := st.codec.Snapshot(s)
	return "s", snap, err
}

// Ack removes every outbox entry of one update: its replies were all accepted.
func (st *Store[S]) Ack(ctx context.Context, key, updateID int64) error {
	var lo, hi [8]byte
	binary.BigEndian.PutUint64(lo[:], uint64(updateID))
	binary.BigEndian.PutUint64(hi[:], uint64(updateID+1))
	return st.ackRange(ctx, key, lo[:], hi[:])
}

// DeferAck leaves the acknowledgement of e, the last outbox entry of its update, to the
// journal's Finish of that update, which removes what is left of the update's outbox in the
// same step: one round trip less per update. It reports whether it did: only for an update
// a commit of this store kept with replies, with a journal attached, while fewer than
// MaxDeferredAcks wait. Call it only when
// Finish of the update follows once it is done (intake's journaler does that); until then
// Load leaves e out, as acknowledged. A Finish that never comes leaves e in the outbox, to
// be sent again after a restart: at least once, as with an acknowledgement lost.
func (st *Store[S]) DeferAck(key int64, e Entry) bool {
	j := st.journal.Load()
	return j != nil && j.deferAck(key, e.UpdateID, e.Seq)
}

// AckEntry removes one outbox entry: that reply was accepted.
func (st *Store[S]) AckEntry(ctx context.Context, key int64, e Entry) error {
	var lo, hi [12]byte
	next := e
	next.Seq++
	return st.ackRange(ctx, key, e.putID(lo[:]), next.putID(hi[:]))
}

// ackRange removes the members from lo (inclusive) up to hi (exclusive), compared as bytes.
func (st *Store[S]) ackRange(ctx context.Context, key int64, lo, hi []byte) error {
	// Both bounds in one string: one allocation.
	var b strings.Builder
	b.Grow(2 + len(lo) + len(hi))
	b.WriteByte('[')
	b.Write(lo)
	b.WriteByte('(')
	b.Write(hi)
	bounds := b.String()
	_, err := st.pipe.do(ctx, nil, []any{"zremrangebylex", st.outKey(key), bounds[:1+len(lo)], bounds[1+len(lo):]})
	if err != nil {
		return fmt.Errorf("redisstore: ack key %d: %w", key, classify(err))
	}
	return nil
}

// An outbox member is the entry's id, 8 bytes of update id and 4 of seq, big-endian so that
// the set's byte order is commit order, then its data. All members have score 0, so the
// sorted set orders them by those bytes.
// putID writes the entry's id into b, 12 bytes or more, and returns those 12.
func (e Entry) putID(b []byte) []byte {
	binary.BigEndian.PutUint64(b, uint64(e.UpdateID))
	binary.BigEndian.PutUint32(b[8:], uint32(e.Seq))
	return b[:12]
}

func (e Entry) member() []byte {
	b := make([]byte, 12+len(e.Data))
	e.putID(b)
	copy(b[12:], e.Data)
	return b
}

func decodeOutbox(members []string) ([]Entry, error) {
	var out []Entry
	for _, m := range members {
		if len(m) < 12 {
			return out, fmt.Errorf("an outbox entry of %d bytes", len(m))
		}
		out = append(out, Entry{
			UpdateID: int64(binary.BigEndian.Uint64([]byte(m[:8]))),
			Seq:      int(binary.BigEndian.Uint32([]byte(m[8:12]))),
			Data:     []byte(m[12:]),
		})
	}
	return out, nil
}

// runInt64s runs s through p with args (from s.args) and returns its reply as integers.
func runInt64s(ctx context.Context, p *pipe, s *script, args []any) ([]int64, error) {
	cmd, err := p.do(ctx, s, args)
	if err != nil {
		return nil, err
	}
	return cmd.Int64Slice()
}

// classify marks the errors a caller acts on.
func classify(err error) error {
	if redis.IsOOMError(err) {
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	return err
}

//go:embed commit.lua
var commitSource string

//go:embed load.lua
var loadSource string

var (
	loadScript   = newScript(loadSource, true)
	commitScript = newScript(commitSource, false)
)

// Outbox returns key's unacknowledged replies in commit order without decoding its state:
// what a caller refused with ErrDuplicate sends.
func (st *Store[S]) Outbox(ctx context.Context, key int64) ([]Entry, error) {
	cmd, err := st.pipe.do(ctx, nil, []any{"zrange", st.outKey(key), 0, -1})
	var members []string
	if err == nil {
		members, err = cmd.StringSlice()
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: outbox of key %d: %w", key, classify(err))
	}
	entries, err := decodeOutbox(members)
	if err != nil {
		return nil, fmt.Errorf("redisstore: outbox of key %d: %w: %w", key, ErrCorrupt, err)
	}
	return entries, nil
}
