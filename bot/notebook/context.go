package notebook

import (
	"math"

	"github.com/benbjohnson/immutable"
)

// Context is everything the notebook remembers about one user. It is a value: Handle
// returns a new Context and never changes the one it was given.
type Context struct {
	// Series holds the recorded values, oldest first.
	Series Series
	// PendingReset is the nonce of the /reset confirmation awaiting an answer, 0 if none.
	// A button of an older confirmation no longer matches it and is refused.
	PendingReset int64
}

// Entry is one recorded value.
type Entry struct {
	Value float64
	Label string
	At    int64 // unix seconds, the date of the message that recorded it
}

// Series is a persistent list of entries: appending, dropping the oldest and undoing the
// newest return a new Series and leave the old one intact. The zero value is an empty
// series, and costs nothing: a Context with no values is three words.
//
// A short series is a plain slice that is copied on every change, which for at most
// smallSeries entries is cheaper than any tree; past that it is a persistent vector
// (a trie of 32-entry nodes) whose versions share all but O(log n) of their nodes. A slice
// version is never written to after it is made, and every append copies, so two versions
// cutting the same array never see each other's entries.
type Series struct {
	d *series
}

// series is one version of a Series; never modified once made.
type series struct {
	small  []Entry                // the entries, while there are at most smallSeries
	l      *immutable.List[Entry] // the entries, once there are more
	sum    kahan                  // of the values, kept as entries come and go: the mean is O(1)
	labels int                    // bytes of all labels, likewise kept for Size
}

// smallSeries is the longest series kept as a slice: 16 entries are 512 bytes to copy,
// about what one node of the trie costs.
const smallSeries = 16

// Size estimates the memory a Context holds, in bytes, in O(1): what the store bounds.
func (c Context) Size() int {
	const perEntry = 8 + 16 + 8 + 8 // value, label header, date, share of the list's nodes
	if c.Series.d == nil {
		return 64
	}
	return 64 + c.Series.Len()*perEntry + c.Series.d.labels
}

// kahan is a compensated (Neumaier) running sum: adding and removing values over a long
// life would otherwise let rounding errors pile up in the mean.
type kahan struct{ s, c float64 }

func (k kahan) add(v float64) kahan {
	t := k.s + v
	if math.Abs(k.s) >= math.Abs(v) {
		k.c += (k.s - t) + v
	} else {
		k.c += (v - t) + k.s
	}
	k.s = t
	return k
}

func (k kahan) value() float64 { return k.s + k.c }

// Mean returns the mean of the values, 0 for an empty series.
func (s Series) Mean() float64 {
	if s.Len() == 0 {
		return 0
	}
	return s.d.sum.value() / float64(s.Len())
}

// Len returns the number of entries.
func (s Series) Len() int {
	switch {
	case s.d == nil:
		return 0
	case s.d.l != nil:
		return s.d.l.Len()
	}
	return len(s.d.small)
}

// At returns the i-th entry, oldest first.
func (s Series) At(i int) Entry {
	if s.d.l != nil {
		return s.d.l.Get(i)
	}
	return s.d.small[i]
}

// Append returns the series with e added as the newest entry. When the series already holds
// max entries, the oldest is dropped and returned with dropped == true.
func (s Series) Append(e Entry, max int) (next Series, oldest Entry, dropped bool) {
	var d series
	if s.d != nil {
		d = *s.d
	}
	if max > 0 && s.Len() >= max {
		oldest, dropped = s.At(0), true
		if d.l != nil {
			d.l = d.l.Slice(d.l.Len()-max+1, d.l.Len())
		} else {
			d.small = d.small[len(d.small)-max+1:]
		}
		d.sum, d.labels = d.sum.add(-oldest.Value), d.labels-len(oldest.Label)
	}
	switch {
	case d.l != nil:
		d.l = d.l.Append(e)
	case len(d.small) < smallSeries:
		// The full slice expression makes append copy: this version's array stays as is.
		d.small = append(d.small[:len(d.small):len(d.small)], e)
	default:
		d.l = immutable.NewList(append(d.small[:len(d.small):len(d.small)], e)...)
		d.small = nil
	}
	d.sum, d.labels = d.sum.add(e.Value), d.labels+len(e.Label)
	return Series{d: &d}, oldest, dropped
}

// Undo returns the series without its newest entry, and that entry.
func (s Series) Undo() (next Series, removed Entry, ok bool) {
	n := s.Len()
	if n == 0 {
		return s, Entry{}, false
	}
	removed = s.At(n - 1)
	if n == 1 {
		return Series{}, removed, true
	}
	d := *s.d
	if d.l != nil {
		d.l = d.l.Slice(0, n-1)
	} else {
		d.small = d.small[: n-1 : n-1]
	}
	d.sum, d.labels = d.sum.add(-removed.Value), d.labels-len(removed.Label)
	return Series{d: &d}, removed, true
}

// Tail returns the values of the newest n entries (all of them when n <= 0 or n > Len),
// oldest first, in a new slice the caller owns.
func (s Series) Tail(n int) []Entry {
	size := s.Len()
	if n <= 0 || n > size {
		n = size
	}
	out := make([]Entry, 0, n)
	if n == 0 {
		return out
	}
	if s.d.l == nil {
		return append(out, s.d.small[size-n:]...)
	}
	it := s.d.l.Iterator()
	it.Seek(size - n)
	for !it.Done() {
		_, e := it.Next()
		out = append(out, e)
	}
	return out
}

// each calls f with every entry, oldest first.
func (s Series) each(f func(Entry)) {
	switch {
	case s.d == nil:
	case s.d.l != nil:
		for it := s.d.l.Iterator(); !it.Done(); {
			_, e := it.Next()
			f(e)
		}
	default:
		for _, e := range s.d.small {
			f(e)
		}
	}
}

// Summary is the statistics /stats reports.
type Summary struct {
	Count          int
	Sum, Mean      float64
	Min, Max, Last Entry
}

// Summarize computes the statistics of the series in one pass; ok is false when empty.
func (s Series) Summarize() (sum Summary, ok bool) {
	n := s.Len()
	if n == 0 {
		return Summary{}, false
	}
	first := true
	var total kahan
	s.each(func(e Entry) {
		if first || e.Value < sum.Min.Value {
			sum.Min = e
		}
		if first || e.Value > sum.Max.Value {
			sum.Max = e
		}
		first = false
		total = total.add(e.Value)
		sum.Last = e
	})
	sum.Sum = total.value()
	sum.Count = n
	sum.Mean = sum.Sum / float64(n)
	return sum, true
}
