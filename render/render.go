package render

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Kind is the type of chart to draw.
type Kind string

// The chart kinds Render can draw.
const (
	Line      Kind = "line"
	Bar       Kind = "bar"
	Histogram Kind = "hist"
)

// ParseKind maps a user's word for a chart ("line", "bar", "hist" or
// "histogram", in any case) to its Kind.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "line":
		return Line, nil
	case "bar":
		return Bar, nil
	case "hist", "histogram":
		return Histogram, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownKind, s)
}

// Series is what a user recorded: values in order, with optional per-value
// labels and times.
//
// Line charts put Times on the X axis when given (in the location of the
// first time), else the index 1..n, labelled with Labels when given. Bar charts
// print each bar's label, or its time, under it when there are at most 30.
// Histograms bin the values and ignore both.
//
// Non-finite values (NaN, ±Inf) are skipped when drawing, together with their
// label and time; the chart says how many were skipped in its X axis label.
type Series struct {
	Values []float64
	Labels []string    // nil, or len(Values)
	Times  []time.Time // nil, or len(Values)
}

// Options says how to draw a Series.
type Options struct {
	// Kind is the chart type; the zero value draws a Line chart. Any
	// spelling ParseKind accepts will do.
	Kind Kind
	// Title, XLabel and YLabel are drawn as given, truncated when very long.
	Title  string
	XLabel string
	YLabel string
	// Width and Height are the image size in pixels, each in
	// [MinSize, MaxSize]; both 0 means DefaultWidth x DefaultHeight.
	Width, Height int
}

// Image size limits and defaults, in pixels.
const (
	DefaultWidth  = 800
	DefaultHeight = 500
	MinSize       = 100
	MaxSize       = 4000
)

// The errors Render and ParseKind return, wrapped with the input that failed;
// test for them with errors.Is.
var (
	// ErrUnknownKind means a chart kind is not one of Line, Bar, Histogram.
	ErrUnknownKind = errors.New("render: unknown chart kind")
	// ErrEmpty means the series has no values at all.
	ErrEmpty = errors.New("render: empty series")
	// ErrNoFiniteValues means every value is NaN or ±Inf.
	ErrNoFiniteValues = errors.New("render: no finite values")
	// ErrBadSize means Width or Height is outside [MinSize, MaxSize], or only
	// one of them is set.
	ErrBadSize = errors.New("render: bad image size")
	// ErrLengthMismatch means Labels or Times is neither nil nor as long as Values.
	ErrLengthMismatch = errors.New("render: labels or times do not match values")
	// ErrDraw means the drawing library failed (it panicked); it indicates a
	// bug here or in gonum/plot, not bad input.
	ErrDraw = errors.New("render: drawing failed")
)

// Render draws s as opt.Kind and returns the chart as PNG bytes.
//
// It checks ctx between its stages (prepare and downsample, draw, encode), so a
// deadline stops it early with ctx's error. It is safe for concurrent use, and it
// never panics: a panic inside the drawing library is returned as ErrDraw.
// The same input always gives the same bytes.
func Render(ctx context.Context, s Series, opt Options) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: %s chart of %d values: %v", ErrDraw, opt.Kind, len(s.Values), r)
		}
	}()
	w, h, err := checkOptions(&opt)
	if err != nil {
		return nil, err
	}
	if err := checkSeries(s); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := prepare(s, opt, w)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f := getFrame(w, h)
	defer putFrame(f)
	c.draw(f)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return f.encode()
}

// checkOptions fills in defaults and returns the image size.
func checkOptions(opt *Options) (w, h int, err error) {
	if opt.Kind == "" {
		opt.Kind = Line
	}
	if opt.Kind, err = ParseKind(string(opt.Kind)); err != nil {
		return 0, 0, err
	}
	w, h = opt.Width, opt.Height
	if w == 0 && h == 0 {
		return DefaultWidth, DefaultHeight, nil
	}
	if w < MinSize || w > MaxSize || h < MinSize || h > MaxSize {
		return 0, 0, fmt.Errorf("%w: %dx%d pixels, want each in %d..%d", ErrBadSize, w, h, MinSize, MaxSize)
	}
	return w, h, nil
}

func checkSeries(s Series) error {
	n := len(s.Values)
	if n == 0 {
		return ErrEmpty
	}
	if s.Labels != nil && len(s.Labels) != n {
		return fmt.Errorf("%w: %d labels for %d values", ErrLengthMismatch, len(s.Labels), n)
	}
	if s.Times != nil && len(s.Times) != n {
		return fmt.Errorf("%w: %d times for %d values", ErrLengthMismatch, len(s.Times), n)
	}
	for _, v := range s.Values {
		if isFinite(v) {
			return nil
		}
	}
	return fmt.Errorf("%w: all %d values are NaN or infinite", ErrNoFiniteValues, n)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
