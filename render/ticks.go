package render

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxTicks bounds every tick loop, so no range, however odd, can make one spin.
const maxTicks = 200

// niceStep returns the smallest of 1, 2, 2.5, 5 × 10^k that is at least raw.
func niceStep(raw float64) float64 {
	if !(raw > 0) || math.IsInf(raw, 0) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range [...]float64{1, 2, 2.5, 5} {
		if m*mag >= raw*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// niceTicks returns round values in [lo, hi], about target intervals of them,
// and their step. minStep keeps steps integral where fractions make no sense (indices,
// counts).
//
// gonum's plot.DefaultTicks is not used: it always aims at 3 labelled ticks (0, 5, 10
// where we draw 0, 2, …, 10 on a 500-pixel axis), takes no target, so fitTicks cannot ask
// it for fewer when labels collide, and its steps of 2.5 or 0.25 would tick half
// positions on an index axis.
func niceTicks(lo, hi float64, target int, minStep float64) (vals []float64, step float64) {
	n := float64(max(target, 1))
	step = niceStep((hi - lo) / n)
	// niceStep rounds up, which can halve the ticks (56 → 100); take the
	// round step below instead when it lands nearer the target.
	if below := niceStep(step / 2); below < step && math.Abs((hi-lo)/below-n) < math.Abs((hi-lo)/step-n) {
		step = below
	}
	step = max(step, minStep)
	if minStep >= 1 {
		// Integral axes get no 2.5 steps: half an index is not a position.
		step = math.Ceil(step)
		if step == 3 || step == 4 {
			step = 5
		}
	}
	k0 := math.Ceil(lo/step - 1e-9)
	k1 := math.Floor(hi/step + 1e-9)
	for k := k0; k <= k1 && len(vals) < maxTicks; k++ {
		v := k * step
		if math.Abs(v) < step*1e-9 {
			v = 0 // not -0 or 1e-17
		}
		vals = append(vals, v)
	}
	return vals, step
}

// formatTicks labels tick values that are step apart, as briefly as keeps them
// distinct: plain decimals for everyday magnitudes, k/M/G/T suffixes for large
// ones, and for extreme magnitudes (or when forceExp is set) a shared power of
// ten, returned as exp for the axis label to show as "×1e<exp>". Where
// plot.DefaultTicks labels 0, 1000000, 2000000 this writes 0, 1.0M, 2.0M.
func formatTicks(vals []float64, step float64, forceExp bool) (labels []string, exp int) {
	m := step
	for _, v := range vals {
		m = max(m, math.Abs(v))
	}
	e := int(math.Floor(math.Log10(m)))
	unit, suffix := 1.0, ""
	switch {
	case e >= 15 || e < -4 || forceExp:
		exp = e
		unit = math.Pow(10, float64(e))
	case e >= 5:
		k := e / 3
		unit, suffix = math.Pow(10, float64(3*k)), [...]string{"", "k", "M", "G", "T"}[k]
	}
	d := decimals(step / unit)
	labels = make([]string, len(vals))
	for i, v := range vals {
		if v == 0 {
			labels[i] = "0" // not "0M" or "0.0"
			continue
		}
		labels[i] = strconv.FormatFloat(v/unit, 'f', d, 64) + suffix
	}
	return labels, exp
}

// decimals returns how many decimal places show x exactly enough for a tick.
func decimals(x float64) int {
	x = math.Abs(x)
	for d := 0; d < 12; d++ {
		y := x * math.Pow(10, float64(d))
		if math.Abs(y-math.Round(y)) < 1e-6*max(1, y) {
			return d
		}
	}
	return 12
}

// timeStep is a candidate spacing of time ticks: a fixed duration below a day,
// calendar days, months or years above.
type timeStep struct {
	d      time.Duration
	days   int
	months int
	years  int
}

func (s timeStep) approx() float64 {
	const day = 86400.0
	switch {
	case s.days > 0:
		return float64(s.days) * day
	case s.months > 0:
		return float64(s.months) * 30.44 * day
	case s.years > 0:
		return float64(s.years) * 365.25 * day
	}
	return s.d.Seconds()
}

var timeSteps = func() []timeStep {
	var steps []timeStep
	for _, d := range []time.Duration{
		time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
		10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	} {
		steps = append(steps, timeStep{d: d})
	}
	for _, d := range []int{1, 2, 7, 14} {
		steps = append(steps, timeStep{days: d})
	}
	for _, m := range []int{1, 2, 3, 6} {
		steps = append(steps, timeStep{months: m})
	}
	return steps
}()

// toTime and fromTime convert between instants and the float seconds the X
// axis uses; seconds rather than nanoseconds so years far from 1970 still fit.
// plot.UnixTimeIn does the same but drops the fraction of a second, which ticks
// of a span of a few seconds need.
func toTime(v float64, loc *time.Location) time.Time {
	sec := math.Floor(v)
	return time.Unix(int64(sec), int64((v-sec)*1e9)).In(loc)
}

func fromTime(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// timeTicks places about target ticks on calendar boundaries in loc (whole
// minutes, hours, midnights, Mondays, first days of months, new years) over
// [lo, hi] seconds, and labels each with the time, adding the date (or year) on
// a second line at the first tick and wherever it changes.
//
// This is what gonum's plot.TimeTicks does not do: it places DefaultTicks' round
// numbers of seconds since 1970 (over three days from Mar 1 09:17 UTC, its ticks
// fall at 21:20:00, 01:06:40 and 04:53:20) and labels every tick in one layout,
// so each label must carry the full date.
func timeTicks(lo, hi float64, loc *time.Location, target int) (vals []float64, labels []string) {
	n := float64(max(target, 1))
	per := (hi - lo) / n
	step := timeStep{years: nice125(per / (365.25 * 86400))}
	for i, s := range timeSteps {
		if s.approx() >= per {
			step = s
			// As in niceTicks: the step below may land nearer the target (40 days in 5
			// ticks: weekly gives 6, fortnightly only 3).
			if i > 0 && math.Abs((hi-lo)/timeSteps[i-1].approx()-n) < math.Abs((hi-lo)/s.approx()-n) {
				step = timeSteps[i-1]
			}
			break
		}
	}

	start := toTime(lo, loc)
	var t time.Time
	switch {
	case step.years > 0:
		y := start.Year()
		y -= mod(y, step.years)
		t = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	case step.months > 0:
		m := int(start.Month()) - 1
		m -= mod(m, step.months)
		t = time.Date(start.Year(), time.Month(m+1), 1, 0, 0, 0, 0, loc)
	case step.days == 7:
		// Weeks start on Monday.
		wd := (int(start.Weekday()) + 6) % 7
		t = time.Date(start.Year(), start.Month(), start.Day()-wd, 0, 0, 0, 0, loc)
	case step.days > 0:
		t = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc)
	default:
		midnight := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc)
		t = midnight.Add(start.Sub(midnight).Truncate(step.d))
	}

	// A tolerance relative to the step, not to the values: 1e-9 of a Unix time is
	// almost two seconds, which let ticks of a short span fall outside it.
	eps := 1e-6 * step.approx()
	var prev time.Time
	for i := 0; len(vals) < maxTicks && i < 4*maxTicks; i++ {
		v := fromTime(t)
		if v > hi+eps {
			break
		}
		if v >= lo-eps {
			vals = append(vals, v)
			labels = append(labels, timeLabel(t, prev, step))
			prev = t
		}
		switch {
		case step.years > 0:
			t = t.AddDate(step.years, 0, 0)
		case step.months > 0:
			t = t.AddDate(0, step.months, 0)
		case step.days > 0:
			t = t.AddDate(0, 0, step.days)
		default:
			t = t.Add(step.d)
		}
	}
	return vals, labels
}

func timeLabel(t, prev time.Time, step timeStep) string {
	first := prev.IsZero()
	switch {
	case step.years > 0:
		return t.Format("2006")
	case step.months > 0:
		if first || t.Year() != prev.Year() {
			return t.Format("Jan\n2006")
		}
		return t.Format("Jan")
	case step.days > 0:
		if first || t.Year() != prev.Year() {
			return t.Format("Jan 2\n2006")
		}
		return t.Format("Jan 2")
	}
	layout := "15:04"
	switch {
	case step.d < time.Second && step.d%(100*time.Millisecond) == 0:
		layout = "15:04:05.0"
	case step.d < time.Second:
		layout = "15:04:05.000"
	case step.d < time.Minute:
		layout = "15:04:05"
	}
	if first || t.YearDay() != prev.YearDay() || t.Year() != prev.Year() {
		return t.Format(layout + "\nJan 2")
	}
	return t.Format(layout)
}

// timeLayout picks one layout for labelling every time in [lo, hi] (bar
// labels), as short as the span allows.
func timeLayout(lo, hi time.Time) string {
	switch {
	case lo.Year() != hi.Year():
		return "2006-01-02"
	case lo.YearDay() != hi.YearDay():
		return "Jan 2"
	case hi.Sub(lo) < time.Hour:
		return "15:04:05"
	}
	return "15:04"
}

func mod(a, b int) int { return ((a % b) + b) % b }

// nice125 returns the smallest of 1, 2, 5 × 10^k that is at least raw, and at
// least 1: the calendar has no 2.5-year steps.
func nice125(raw float64) int {
	n := 1
	for i := 0; float64(n) < raw && i < 60; i++ {
		if i%3 == 1 {
			n = n / 2 * 5
		} else {
			n *= 2
		}
	}
	return n
}

// cleanText makes user text safe to draw on one line: invalid UTF-8 becomes
// "?", control and invisible formatting characters (newlines, bidi overrides,
// zero-width joiners) become spaces or vanish, runs of spaces collapse, and
// text longer than maxRunes is cut to maxRunes with an ellipsis.
func cleanText(s string, maxRunes int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			r = '?'
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = true
			continue
		case unicode.In(r, unicode.Cf, unicode.Co, unicode.Cs):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	out := b.String()
	if utf8.RuneCountInString(out) <= maxRunes {
		return out
	}
	runes := []rune(out)[:max(maxRunes-1, 0)]
	return strings.TrimRight(string(runes), " ") + "…"
}
