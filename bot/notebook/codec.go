package notebook

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/benbjohnson/immutable"
)

// Codec encodes a Context for the durable store (redisstore.Codec[Context]): a snapshot is
// the whole context, a delta one of the notebook's own changes (a value recorded, the
// oldest dropped for it, the newest undone, the series reset, the pending reset changed),
// so that a commit sends a few bytes however long the series is.
//
// Every snapshot and delta begins with a format byte. A build decodes every format it
// knows, so when Context changes, a new format is added and users stored in the old one
// still load (they are rewritten in the new one at their next snapshot); a format from a
// newer build is an error, never a guess.
//
// Format 1. Snapshot: varint PendingReset, uvarint count, then per entry, oldest first,
// the value (8 bytes, little-endian IEEE 754), At as a varint difference from the previous
// entry's (dates grow, so this is a byte or two) and the label (uvarint length, bytes).
// Delta: an op byte, varint PendingReset, and for the two appending ops the new entry
// (value, At as a varint, label).
type Codec struct{}

// The ops of a format 1 delta.
const (
	opNone         = 0 // the series is unchanged
	opAppend       = 1
	opAppendDrop   = 2 // the series was full: the oldest went
	opUndo         = 3
	opClear        = 4
	currentFormat  = 1
	minEntryBytes  = 8 + 1 + 1 // value, At, label length: what bounds a count read from bytes
	errFormatShort = "notebook codec: format %d %s: %w"
)

var errTruncated = errors.New("truncated")

// format decodes one encoding of a Context. Formats a build still reads stay here.
type format struct {
	snapshot func(b []byte) (Context, error)
	delta    func(c Context, b []byte) (Context, error)
}

var formats = map[byte]format{1: {snapshot: snapshotV1, delta: deltaV1}}

// Snapshot encodes c whole.
func (Codec) Snapshot(c Context) ([]byte, error) {
	b := make([]byte, 0, 16+c.Series.Len()*12)
	b = append(b, currentFormat)
	b = binary.AppendVarint(b, c.PendingReset)
	b = binary.AppendUvarint(b, uint64(c.Series.Len()))
	var at int64
	c.Series.each(func(e Entry) {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Value))
		b = binary.AppendVarint(b, e.At-at)
		at = e.At
		b = appendString(b, e.Label)
	})
	return b, nil
}

// Delta encodes the change from prev to next when it is one of the notebook's own; else
// ok is false and the store writes a snapshot. The series are compared at their ends and by
// their running sums, in O(1): a series the notebook's operations did not produce falls
// through to a snapshot, never to a wrong delta.
func (Codec) Delta(prev, next Context) ([]byte, bool, error) {
	op, ok := seriesOp(prev.Series, next.Series)
	if !ok {
		return nil, false, nil
	}
	b := []byte{currentFormat, op}
	b = binary.AppendVarint(b, next.PendingReset)
	if op == opAppend || op == opAppendDrop {
		e := next.Series.At(next.Series.Len() - 1)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Value))
		b = binary.AppendVarint(b, e.At)
		b = appendString(b, e.Label)
	}
	return b, true, nil
}

func seriesOp(p, n Series) (byte, bool) {
	n0, n1 := p.Len(), n.Len()
	switch {
	case p.d == n.d:
		return opNone, true
	case n1 == 0:
		return opClear, true
	}
	var sum kahan
	labels := 0
	if p.d != nil {
		sum, labels = p.d.sum, p.d.labels
	}
	same := func(sum kahan, labels int) bool { return n.d.sum == sum && n.d.labels == labels }
	last := n.At(n1 - 1)
	switch {
	case n1 == n0+1 && (n0 == 0 || n.At(0) == p.At(0) && n.At(n0-1) == p.At(n0-1)):
		return opAppend, same(sum.add(last.Value), labels+len(last.Label))
	case n1 == n0 && (n0 == 1 || n.At(0) == p.At(1) && n.At(n1-2) == p.At(n0-1)):
		old := p.At(0)
		return opAppendDrop, same(sum.add(-old.Value).add(last.Value), labels-len(old.Label)+len(last.Label))
	case n1 == n0-1 && n.At(0) == p.At(0) && last == p.At(n1-1):
		gone := p.At(n0 - 1)
		return opUndo, same(sum.add(-gone.Value), labels-len(gone.Label))
	}
	return 0, false
}

// Restore rebuilds a Context from a snapshot and the deltas written after it.
func (Codec) Restore(snapshot []byte, deltas [][]byte) (Context, error) {
	f, err := formatOf(snapshot, "snapshot")
	if err != nil {
		return Context{}, err
	}
	c, err := f.snapshot(snapshot[1:])
	if err != nil {
		return Context{}, fmt.Errorf(errFormatShort, snapshot[0], "snapshot", err)
	}
	for i, d := range deltas {
		f, err := formatOf(d, "delta")
		if err != nil {
			return Context{}, fmt.Errorf("delta %d of %d: %w", i+1, len(deltas), err)
		}
		if c, err = f.delta(c, d[1:]); err != nil {
			return Context{}, fmt.Errorf("delta %d of %d: "+errFormatShort, i+1, len(deltas), d[0], "delta", err)
		}
	}
	return c, nil
}

func formatOf(b []byte, what string) (format, error) {
	if len(b) == 0 {
		return format{}, fmt.Errorf("notebook codec: an empty %s", what)
	}
	f, ok := formats[b[0]]
	if !ok {
		return format{}, fmt.Errorf("notebook codec: %s in format %d; this build reads formats up to %d", what, b[0], currentFormat)
	}
	return f, nil
}

func snapshotV1(b []byte) (Context, error) {
	r := reader{b: b}
	var c Context
	c.PendingReset = r.varint()
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/minEntryBytes) {
		return Context{}, fmt.Errorf("%d entries in %d bytes: %w", n, len(r.b), errTruncated)
	}
	entries := make([]Entry, 0, n)
	var at int64
	for range n {
		e := Entry{Value: r.float()}
		at += r.varint()
		e.At, e.Label = at, r.string()
		entries = append(entries, e)
	}
	if err := r.done(); err != nil {
		return Context{}, err
	}
	c.Series = newSeries(entries)
	return c, nil
}

func deltaV1(c Context, b []byte) (Context, error) {
	r := reader{b: b}
	op := r.byte()
	c.PendingReset = r.varint()
	var e Entry
	if op == opAppend || op == opAppendDrop {
		e.Value, e.At, e.Label = r.float(), r.varint(), r.string()
	}
	if err := r.done(); err != nil {
		return Context{}, err
	}
	switch op {
	case opNone:
	case opAppend:
		c.Series, _, _ = c.Series.Append(e, 0)
	case opAppendDrop, opUndo:
		if c.Series.Len() == 0 {
			return Context{}, fmt.Errorf("op %d on an empty series", op)
		}
		if op == opUndo {
			c.Series, _, _ = c.Series.Undo()
		} else {
			c.Series, _, _ = c.Series.Append(e, c.Series.Len())
		}
	case opClear:
		c.Series = Series{}
	default:
		return Context{}, fmt.Errorf("unknown op %d", op)
	}
	return c, nil
}

// newSeries makes a Series of entries, which it keeps.
func newSeries(entries []Entry) Series {
	if len(entries) == 0 {
		return Series{}
	}
	var d series
	for _, e := range entries {
		d.sum, d.labels = d.sum.add(e.Value), d.labels+len(e.Label)
	}
	if len(entries) <= smallSeries {
		d.small = entries[:len(entries):len(entries)]
	} else {
		d.l = immutable.NewList(entries...)
	}
	return Series{d: &d}
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// reader reads a format's fields, remembering the first failure.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err, r.b = errTruncated, nil }

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) varint() int64   { return readVarint(r, binary.Varint) }
func (r *reader) uvarint() uint64 { return readVarint(r, binary.Uvarint) }

func readVarint[T int64 | uint64](r *reader, decode func([]byte) (T, int)) T {
	v, n := decode(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) float() float64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// done reports a failed read, or bytes left over.
func (r *reader) done() error {
	if r.err == nil && len(r.b) > 0 {
		return fmt.Errorf("%d bytes left over", len(r.b))
	}
	return r.err
}
