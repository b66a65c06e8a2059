package render

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Display limits. They bound drawing cost whatever the series length, and
// keep marks large enough to see on a phone.
const (
	labelledBars = 30 // bar charts label each bar up to this many values
	maxBars      = 60 // more values than this are drawn as bucket means
	maxBins      = 50 // histogram bins at most
	minBins      = 5  // and at least, given enough distinct values
	barPixels    = 12 // narrow images get fewer bars and bins, at least this wide
	markerPoints = 40 // line charts mark each point up to this many
	maxTextRunes = 120
	maxTickRunes = 14
)

// chart is a series prepared for drawing: non-finite values dropped, large
// series downsampled, values scaled into a range float64 arithmetic handles
// comfortably, and every user string cleaned.
type chart struct {
	kind                  Kind
	title, xLabel, yLabel string
	notes                 []string // appended to the X axis label

	// Values (and for histograms, the X axis) are multiplied by 10^-valueExp
	// before drawing; valueExp is 0 except for magnitudes near the limits of
	// float64, where it keeps spans and tick arithmetic finite.
	valueExp int

	// Line charts.
	xs, ys []float64 // points to draw
	times  bool      // xs are Unix seconds in loc, not indices
	loc    *time.Location
	labels []string // per-index tick labels for index axes, or nil

	// Bar charts and histograms.
	bars      []bar
	barLabels []string // one per bar, or nil for a numeric X axis
	hist      bool

	xMin, xMax, yMin, yMax float64
}

// bar is a filled rectangle from 0 to y, spanning x0..x1 in data units.
type bar struct{ x0, x1, y float64 }

// stats summarises the finite values of a series in one pass.
type stats struct {
	lo, hi float64
	finite int
}

func scan(vs []float64) stats {
	st := stats{lo: math.Inf(1), hi: math.Inf(-1)}
	for _, v := range vs {
		// v-v is 0 for finite v and NaN for NaN and ±Inf: one test, no calls,
		// which matters at a million values.
		if v-v != 0 {
			continue
		}
		if v < st.lo {
			st.lo = v
		}
		if v > st.hi {
			st.hi = v
		}
		st.finite++
	}
	return st
}

// prepare turns a checked series into a chart; width is the image width in
// pixels, which bounds how many points a line needs.
func prepare(s Series, opt Options, width int) (*chart, error) {
	c := &chart{
		kind:   opt.Kind,
		title:  userText(opt.Title, maxTextRunes),
		xLabel: userText(opt.XLabel, maxTextRunes),
		yLabel: userText(opt.YLabel, maxTextRunes),
	}
	st := scan(s.Values)
	if st.finite == 0 {
		return nil, fmt.Errorf("%w: all %d values are NaN or infinite", ErrNoFiniteValues, len(s.Values))
	}
	if skipped := len(s.Values) - st.finite; skipped > 0 {
		c.notes = append(c.notes, fmt.Sprintf("%d non-finite %s skipped", skipped, plural(skipped, "value", "values")))
	}
	// Beyond ±1e290 a span or a product overflows; below 1e-290 a tick step
	// underflows. Shift the decimal point instead, and say so on the axis.
	scale := 1.0
	switch m := max(math.Abs(st.lo), math.Abs(st.hi)); {
	case m > 1e290:
		c.valueExp, scale = 290, 1e-290
	case m > 0 && m < 1e-290:
		c.valueExp, scale = -290, 1e290
	}
	st.lo, st.hi = st.lo*scale, st.hi*scale

	switch c.kind {
	case Bar:
		c.prepareBars(s, st, scale, min(maxBars, max(minBins, width/barPixels)))
	case Histogram:
		c.prepareHistogram(s, st, scale, min(maxBins, max(minBins, width/barPixels)))
	default:
		c.prepareLine(s, st, scale, width)
	}
	return c, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (c *chart) prepareLine(s Series, st stats, scale float64, width int) {
	n := len(s.Values)
	var xs, ys []float64 // nil xs: x is the index, from 0
	switch {
	case s.Times != nil:
		c.times = true
		xs, ys = make([]float64, 0, st.finite), make([]float64, 0, st.finite)
		for i, v := range s.Values {
			if isFinite(v) {
				if c.loc == nil {
					c.loc = s.Times[i].Location()
				}
				xs, ys = append(xs, fromTime(s.Times[i])), append(ys, v*scale)
			}
		}
		sortByX(xs, ys)
	case st.finite < n:
		xs, ys = make([]float64, 0, st.finite), make([]float64, 0, st.finite)
		for i, v := range s.Values {
			if isFinite(v) {
				xs, ys = append(xs, float64(i)), append(ys, v*scale)
			}
		}
	case scale != 1:
		ys = make([]float64, n)
		for i, v := range s.Values {
			ys[i] = v * scale
		}
	default:
		ys = s.Values
	}
	if !c.times {
		c.labels = s.Labels
	}

	// About one point per pixel column: more is invisible, fewer loses spikes.
	keep := Downsample(xs, ys, width)
	c.xs, c.ys = make([]float64, len(keep)), make([]float64, len(keep))
	for j, i := range keep {
		c.ys[j] = ys[i]
		if xs == nil {
			c.xs[j] = float64(i + 1)
		} else if c.times {
			c.xs[j] = xs[i]
		} else {
			c.xs[j] = xs[i] + 1
		}
	}

	if c.times {
		c.xMin, c.xMax = xs[0], xs[len(xs)-1]
		if c.xMax-c.xMin < 1e-3 {
			c.xMin, c.xMax = c.xMin-60, c.xMax+60
		}
	} else {
		c.xMin, c.xMax = 1, float64(n)
		if n == 1 {
			c.xMin, c.xMax = 0, 2
		}
	}
	c.yMin, c.yMax = padRange(st.lo, st.hi, 0.05)
}

// sortByX sorts points by x, keeping equal xs in recorded order. Times are
// usually recorded in order already, which costs one pass to confirm.
func sortByX(xs, ys []float64) {
	if sort.Float64sAreSorted(xs) {
		return
	}
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	sx, sy := slices.Clone(xs), slices.Clone(ys)
	for j, i := range idx {
		xs[j], ys[j] = sx[i], sy[i]
	}
}

// padRange widens [lo, hi] by frac of its span on each side, and gives a flat
// series (all values equal, or equal to 12 significant digits) a range around
// it, so the axis never collapses to zero height.
func padRange(lo, hi, frac float64) (float64, float64) {
	span := hi - lo
	m := max(math.Abs(lo), math.Abs(hi))
	if span <= 1e-12*m || span == 0 {
		mid := lo + span/2
		d := 0.1 * math.Abs(mid)
		if d == 0 {
			d = 1
		}
		return mid - d, mid + d
	}
	return lo - frac*span, hi + frac*span
}

// prepareBars draws one bar per value, up to most; more values are drawn as
// the means of most runs of consecutive values.
func (c *chart) prepareBars(s Series, st stats, scale float64, most int) {
	n := len(s.Values)
	if n <= most {
		for i, v := range s.Values {
			if isFinite(v) {
				c.bars = append(c.bars, bar{float64(i+1) - 0.4, float64(i+1) + 0.4, v * scale})
			}
		}
		if n <= labelledBars && (s.Labels != nil || s.Times != nil) {
			c.barLabels = barLabels(s)
		}
	} else {
		means, lo, hi := bucketMeans(s.Values, most)
		for b, m := range means {
			// Bucket [lo, hi) of 0-based indices covers positions lo+1..hi.
			w := float64(hi[b] - lo[b])
			c.bars = append(c.bars, bar{float64(lo[b]) + 0.5 + 0.1*w, float64(hi[b]) + 0.5 - 0.1*w, m * scale})
		}
		c.notes = append(c.notes, fmt.Sprintf("bars are means of ~%d values", (n+most-1)/most))
	}
	c.xMin, c.xMax = 0.5, float64(n)+0.5

	lo, hi := min(st.lo, 0), max(st.hi, 0)
	if lo == 0 && hi == 0 {
		c.yMin, c.yMax = 0, 1
		return
	}
	c.yMin, c.yMax = padRange(lo, hi, 0.05)
	// Bars grow from zero: no margin below a zero baseline.
	if lo == 0 {
		c.yMin = 0
	}
	if hi == 0 {
		c.yMax = 0
	}
}

// barLabels names each bar by its label, else its time. Bars named by
// position alone get a numeric axis instead, which can skip positions.
func barLabels(s Series) []string {
	out := make([]string, len(s.Values))
	switch {
	case s.Labels != nil:
		for i, l := range s.Labels {
			out[i] = userText(l, maxTickRunes)
		}
	case s.Times != nil:
		lo, hi := s.Times[0], s.Times[0]
		for _, t := range s.Times {
			if t.Before(lo) {
				lo = t
			}
			if t.After(hi) {
				hi = t
			}
		}
		loc := s.Times[0].Location()
		layout := timeLayout(lo.In(loc), hi.In(loc))
		for i, t := range s.Times {
			out[i] = t.In(loc).Format(layout)
		}
	}
	return out
}

// prepareHistogram bins every finite value into at most most bins of a round
// width.
func (c *chart) prepareHistogram(s Series, st stats, scale float64, most int) {
	c.hist = true
	lo, hi := st.lo, st.hi
	if hi-lo <= 1e-12*max(math.Abs(lo), math.Abs(hi)) {
		// One distinct value: one bin around it.
		l, h := padRange(lo, hi, 0)
		d := (h - l) / 4
		c.bars = []bar{{lo - d, lo + d, float64(st.finite)}}
		c.xMin, c.xMax = l, h
		c.yMin, c.yMax = 0, float64(st.finite)*1.05
		return
	}

	width := niceStep(binWidth(s.Values, st, scale))
	start := math.Floor(lo/width) * width
	nb := func() int { return max(1, int(math.Ceil((hi-start)/width-1e-9))) }
	for i := 0; nb() > most && i < 100; i++ {
		width = niceStep(width * 1.01)
		start = math.Floor(lo/width) * width
	}
	for i := 0; nb() < minBins && st.finite >= 2*minBins && i < 100; i++ {
		width = niceStep(width / 2) // the nice step below: 10→5, 5→2.5, 2.5→2, 2→1
		start = math.Floor(lo/width) * width
	}
	bins := nb()
	counts := make([]int, bins)
	for _, v := range s.Values {
		if isFinite(v) {
			b := int((v*scale - start) / width)
			counts[min(max(b, 0), bins-1)]++
		}
	}
	peak := 0
	for b, n := range counts {
		if n > 0 {
			x0 := start + float64(b)*width
			c.bars = append(c.bars, bar{x0, x0 + width, float64(n)})
		}
		peak = max(peak, n)
	}
	c.xMin, c.xMax = start, start+float64(bins)*width
	c.yMin, c.yMax = 0, float64(peak)*1.05
}

// binWidth is the Freedman–Diaconis width 2·IQR/∛n, with the quartiles taken
// from a strided sample of at most 4096 values so a million values cost one
// pass, not a sort. Data with no spread in the middle falls back to the
// square-root rule.
func binWidth(vs []float64, st stats, scale float64) float64 {
	const sampleMax = 4096
	stride := max(1, len(vs)/sampleMax)
	sample := make([]float64, 0, min(len(vs), sampleMax+1))
	for i := 0; i < len(vs); i += stride {
		if isFinite(vs[i]) {
			sample = append(sample, vs[i]*scale)
		}
	}
	slices.Sort(sample)
	n := float64(st.finite)
	if len(sample) >= 4 {
		q1 := sample[len(sample)/4]
		q3 := sample[len(sample)*3/4]
		if w := 2 * (q3 - q1) / math.Cbrt(n); w > 0 && (st.hi-st.lo)/w <= 1000 {
			return w
		}
	}
	return (st.hi - st.lo) / math.Ceil(math.Sqrt(n))
}

// xNote is the X axis label, with its power of ten if any, and the chart's
// notes appended.
func (c *chart) xNote(exp int) string {
	var parts []string
	if l := withExp(c.xLabel, exp); l != "" {
		parts = append(parts, l)
	}
	return strings.Join(append(parts, c.notes...), " · ")
}
