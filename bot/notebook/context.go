package notebook

import (
	"math"

	"github.com/benbjohnson/immutable"
)

// Context is everything the notebook remembers about one user. It is a value: Handle
// returns a new Context and never changes the one it was given.
type Context struct {
	// Messages counts the user's plain text messages (the n of the echo contract).
	Messages int64
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
// newest return a new Series and leave the old one intact, sharing all but O(log n) of its
// nodes. The zero value is an empty series.
type Series struct {
	l      *immutable.List[Entry]
	sum    kahan // of the values, kept as entries come and go so the mean costs O(1)
	labels int   // bytes of all labels, likewise kept for Size
}

// Size estimates the memory a Context holds, in bytes, in O(1): what the store bounds.
func (c Context) Size() int {
	const perEntry = 8 + 16 + 8 + 8 // value, label header, date, share of the list's nodes
	return 64 + c.Series.Len()*perEntry + c.Series.labels
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
	return s.sum.value() / float64(s.Len())
}

// Len returns the number of entries.
func (s Series) Len() int {
	if s.l == nil {
		return 0
	}
	return s.l.Len()
}

// At returns the i-th entry, oldest first.
func (s Series) At(i int) Entry { return s.l.Get(i) }

// Last returns the newest entry; ok is false for an empty series.
func (s Series) Last() (e Entry, ok bool) {
	if s.Len() == 0 {
		return Entry{}, false
	}
	return s.l.Get(s.l.Len() - 1), true
}

// Append returns the series with e added as the newest entry. When the series already holds
// max entries, the oldest is dropped and returned with dropped == true.
func (s Series) Append(e Entry, max int) (next Series, oldest Entry, dropped bool) {
	l := s.l
	if l == nil {
		l = immutable.NewList[Entry]()
	}
	total, labels := s.sum, s.labels
	if max > 0 && l.Len() >= max {
		oldest, dropped = l.Get(0), true
		l = l.Slice(l.Len()-max+1, l.Len())
		total, labels = total.add(-oldest.Value), labels-len(oldest.Label)
	}
	return Series{l: l.Append(e), sum: total.add(e.Value), labels: labels + len(e.Label)}, oldest, dropped
}

// Undo returns the series without its newest entry, and that entry.
func (s Series) Undo() (next Series, removed Entry, ok bool) {
	n := s.Len()
	if n == 0 {
		return s, Entry{}, false
	}
	removed = s.l.Get(n - 1)
	if n == 1 {
		return Series{}, removed, true
	}
	return Series{l: s.l.Slice(0, n-1), sum: s.sum.add(-removed.Value), labels: s.labels - len(removed.Label)}, removed, true
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
	it := s.l.Iterator()
	it.Seek(size - n)
	for !it.Done() {
		_, e := it.Next()
		out = append(out, e)
	}
	return out
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
	it := s.l.Iterator()
	first := true
	var total kahan
	for !it.Done() {
		_, e := it.Next()
		if first || e.Value < sum.Min.Value {
			sum.Min = e
		}
		if first || e.Value > sum.Max.Value {
			sum.Max = e
		}
		first = false
		total = total.add(e.Value)
		sum.Last = e
	}
	sum.Sum = total.value()
	sum.Count = n
	sum.Mean = sum.Sum / float64(n)
	return sum, true
}
