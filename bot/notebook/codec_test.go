package notebook

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/troupebot/troupe/redisstore"
)

var _ redisstore.Codec[Context] = Codec{}

// step applies one of the notebook's operations, chosen by op, to c.
func step(c Context, op byte, rnd *rand.Rand, maxValues int) Context {
	switch op % 6 {
	case 0, 1, 2:
		e := Entry{Value: rnd.NormFloat64() * 100, At: 1_700_000_000 + rnd.Int64N(1000)}
		if rnd.IntN(2) == 0 {
			e.Label = strings.Repeat("é", rnd.IntN(4))
		}
		if rnd.IntN(8) == 0 {
			e = Entry{Value: 1, At: 5} // repeated entries: the ends of a series look alike
		}
		c.Series, _, _ = c.Series.Append(e, maxValues)
	case 3:
		c.Series, _, _ = c.Series.Undo()
	case 4:
		if rnd.IntN(3) == 0 {
			c.Series = Series{}
		}
		c.PendingReset = 0
	case 5:
		c.PendingReset = rnd.Int64N(1 << 40)
	}
	return c
}

// replay runs ops from c0 as the store would: a delta per step, a snapshot when the codec
// has none; then restores and compares.
func replay(t *testing.T, c0 Context, ops []byte, seed uint64, maxValues int) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, 1))
	var codec Codec
	snap, _ := codec.Snapshot(c0)
	var deltas [][]byte
	c := c0
	for i, op := range ops {
		next := step(c, op, rnd, maxValues)
		d, ok, err := codec.Delta(c, next)
		if err != nil {
			t.Fatalf("op %d: delta: %v", i, err)
		}
		if ok {
			deltas = append(deltas, d)
		} else {
			snap, deltas = must(codec.Snapshot(next)), nil
		}
		c = next
	}
	got, err := codec.Restore(snap, deltas)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if want := c.Series.Tail(0); !reflect.DeepEqual(got.Series.Tail(0), want) || got.PendingReset != c.PendingReset {
		t.Fatalf("restored %d entries, pending %d; want %d entries, pending %d\ngot  %v\nwant %v",
			got.Series.Len(), got.PendingReset, len(want), c.PendingReset, got.Series.Tail(0), want)
	}
	if math.Abs(got.Series.Mean()-c.Series.Mean()) > 1e-9*(1+math.Abs(c.Series.Mean())) {
		t.Fatalf("restored mean %v, want %v", got.Series.Mean(), c.Series.Mean())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestCodecRestoresRandomHistories(t *testing.T) {
	for seed := range uint64(300) {
		rnd := rand.New(rand.NewPCG(seed, 2))
		maxValues := []int{1, 2, 5, 16, 40}[seed%5]
		var c0 Context
		for range rnd.IntN(3 * maxValues) {
			c0 = step(c0, 0, rnd, maxValues)
		}
		ops := make([]byte, 200)
		for i := range ops {
			ops[i] = byte(rnd.IntN(6))
		}
		replay(t, c0, ops, seed, maxValues)
	}
}

func FuzzCodec(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 3, 3, 0, 5, 4}, uint64(1), uint8(3))
	f.Add([]byte{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 3}, uint64(2), uint8(17))
	f.Fuzz(func(t *testing.T, ops []byte, seed uint64, maxValues uint8) {
		replay(t, Context{}, ops, seed, int(maxValues)+1)
	})
}

func TestCodecDeltaIsSmallAndSnapshotIsCompact(t *testing.T) {
	var c Context
	for i := range 10_000 {
		c.Series, _, _ = c.Series.Append(Entry{Value: float64(i), At: 1_700_000_000 + int64(i)}, 10_000)
	}
	next, _, _ := c.Series.Append(Entry{Value: 42, Label: "coffee", At: 1_700_020_000}, 10_000)
	d, ok, _ := Codec{}.Delta(c, Context{Series: next})
	if !ok || len(d) > 32 {
		t.Fatalf("a value recorded on a full series of 10,000: delta ok=%v, %d bytes; want a delta of at most 32", ok, len(d))
	}
	if snap := must(Codec{}.Snapshot(c)); len(snap) > 10*10_000+16 {
		t.Fatalf("snapshot of 10,000 unlabelled values: %d bytes, want at most 10 per value", len(snap))
	}
}

// A hypothetical format 2 stores At absolute and the label before the value. A build that
// writes it still reads format 1, so users stored by the previous build load as they were.
func TestCodecReadsAnOlderFormat(t *testing.T) {
	formats[2] = format{
		snapshot: func(b []byte) (Context, error) {
			r := reader{b: b}
			c := Context{PendingReset: r.varint()}
			var entries []Entry
			for range r.uvarint() {
				label := r.string()
				entries = append(entries, Entry{Label: label, Value: r.float(), At: r.varint()})
			}
			c.Series = newSeries(entries)
			return c, r.done()
		},
		delta: deltaV1,
	}
	t.Cleanup(func() { delete(formats, 2) })
	v2 := func(c Context) []byte {
		b := binary.AppendVarint([]byte{2}, c.PendingReset)
		b = binary.AppendUvarint(b, uint64(c.Series.Len()))
		for _, e := range c.Series.Tail(0) {
			b = appendString(b, e.Label)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Value))
			b = binary.AppendVarint(b, e.At)
		}
		return b
	}
	var c Context
	c.Series, _, _ = c.Series.Append(Entry{Value: 1, Label: "a", At: 10}, 0)
	v1snap := must(Codec{}.Snapshot(c))
	next := c
	next.Series, _, _ = next.Series.Append(Entry{Value: 2, Label: "b", At: 20}, 0)
	d1, _, _ := Codec{}.Delta(c, next)
	d2 := append([]byte{2}, d1[1:]...) // format 2 keeps format 1's deltas
	last := next
	last.Series, _, _ = last.Series.Append(Entry{Value: 3, At: 30}, 0)
	d3, _, _ := Codec{}.Delta(next, last)
	d3[0] = 2
	for name, tc := range map[string]struct {
		snap   []byte
		deltas [][]byte
		want   Context
	}{
		"a v1 snapshot and v1 deltas":    {v1snap, [][]byte{d1}, next},
		"a v1 snapshot and later deltas": {v1snap, [][]byte{d2, d3}, last},
		"a v2 snapshot after v1 commits": {v2(next), [][]byte{d3}, last},
	} {
		got, err := Codec{}.Restore(tc.snap, tc.deltas)
		if err != nil || !reflect.DeepEqual(got.Series.Tail(0), tc.want.Series.Tail(0)) {
			t.Errorf("%s: restored %v, %v; want %v", name, got.Series.Tail(0), err, tc.want.Series.Tail(0))
		}
	}
}

func TestCodecRefusesWhatItCannotRead(t *testing.T) {
	snap := must(Codec{}.Snapshot(Context{PendingReset: 7}))
	for name, tc := range map[string]struct {
		snap   []byte
		deltas [][]byte
		want   string
	}{
		"a format from the future": {append([]byte{9}, snap[1:]...), nil, "format 9"},
		"an empty snapshot":        {nil, nil, "empty"},
		"a truncated snapshot":     {[]byte{1, 0, 5, 1}, nil, "truncated"},
		"bytes left over":          {append(snap, 0), nil, "left over"},
		"an undo of nothing":       {snap, [][]byte{{1, opUndo, 0}}, "empty series"},
		"an unknown op":            {snap, [][]byte{{1, 77, 0}}, "unknown op"},
		"a delta from the future":  {snap, [][]byte{{3, 0, 0}}, "format 3"},
	} {
		if _, err := (Codec{}).Restore(tc.snap, tc.deltas); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %q", name, err, tc.want)
		}
	}
}
