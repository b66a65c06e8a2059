package render

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"
)

// mustDecode decodes a PNG and fails the test if it is not one of w×h pixels.
func mustDecode(tb testing.TB, b []byte, w, h int) image.Image {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("decode png: %v", err)
	}
	if got := img.Bounds().Size(); got.X != w || got.Y != h {
		tb.Fatalf("png is %dx%d, want %dx%d", got.X, got.Y, w, h)
	}
	return img
}

// pixelStats counts distinct colours, pixels that are not background, and
// pixels exactly in the series colour (the data is drawn, not just axes).
func pixelStats(img image.Image) (colours int, inked, series float64) {
	seen := map[color.RGBA]bool{}
	var nInk, nSeries int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			seen[c] = true
			if c != background {
				nInk++
			}
			if c == inkSeries {
				nSeries++
			}
		}
	}
	n := float64(b.Dx() * b.Dy())
	return len(seen), float64(nInk) / n, float64(nSeries) / n
}

// checkChart fails the test unless b is a w×h PNG that visibly shows a chart
// with data in it.
func checkChart(tb testing.TB, b []byte, w, h int) {
	tb.Helper()
	img := mustDecode(tb, b, w, h)
	colours, inked, series := pixelStats(img)
	if colours < 8 {
		tb.Errorf("png has %d distinct colours, want at least 8 (text, axes, data, antialiasing)", colours)
	}
	if inked < 0.01 {
		tb.Errorf("%.2f%% of pixels are not background, want at least 1%%", 100*inked)
	}
	if series == 0 {
		tb.Errorf("no pixel has the series colour: the data is not drawn")
	}
}

func TestParseKind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Kind
		err  bool
	}{
		{"line", Line, false},
		{"bar", Bar, false},
		{"hist", Histogram, false},
		{"histogram", Histogram, false},
		{" Bar ", Bar, false},
		{"pie", "", true},
		{"", "", true},
	} {
		got, err := ParseKind(tc.in)
		if tc.err {
			if !errors.Is(err, ErrUnknownKind) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("ParseKind(%q) error = %v, want ErrUnknownKind naming the input", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseKind(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestRenderKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Series
		opt  Options
		w, h int
	}{
		{"line", Series{Values: noisySine(100)}, Options{Kind: Line, Title: "Temperature", YLabel: "°C"}, 800, 500},
		{"line default kind", Series{Values: noisySine(100)}, Options{}, 800, 500},
		{"line with times", Series{Values: noisySine(200), Times: hourly(200)}, Options{Kind: Line}, 800, 500},
		{"line 10k", Series{Values: noisySine(10_000)}, Options{Kind: Line}, 800, 500},
		{"bar labelled", Series{Values: []float64{3, 5, 2, 8}, Labels: []string{"Mon", "Tue", "Wed", "Thu"}}, Options{Kind: Bar}, 800, 500},
		{"bar 10k", Series{Values: noisySine(10_000)}, Options{Kind: Bar}, 800, 500},
		{"histogram", Series{Values: noisySine(5000)}, Options{Kind: Histogram, XLabel: "ms"}, 800, 500},
		{"custom size", Series{Values: noisySine(100)}, Options{Width: 1200, Height: 300}, 1200, 300},
		{"small", Series{Values: noisySine(100)}, Options{Width: 200, Height: 150}, 200, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Render(context.Background(), tc.s, tc.opt)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			checkChart(t, b, tc.w, tc.h)
			if len(b) > 100_000 {
				t.Errorf("png is %d bytes, want under 100 KB", len(b))
			}
		})
	}
}

// TestChartsOverTime draws line and bar charts of values recorded irregularly over
// spans from seconds to years: each decodes at its size, shows its data, and its X axis
// carries dates and times fit for the span.
func TestChartsOverTime(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 17, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		span  time.Duration
		first string // the first tick label: the date is on it
		last  string
	}{
		{"30 seconds", 30 * time.Second, "09:17:00\nMar 1", "09:17:30"},
		{"an hour", time.Hour, "09:20\nMar 1", "10:10"},
		{"3 days", 72 * time.Hour, "12:00\nMar 1", "00:00\nMar 4"},
		{"2 years", 2 * 365 * 24 * time.Hour, "Apr\n2026", "Jan\n2028"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Series{Values: noisySine(300), Times: make([]time.Time, 300)}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range s.Times {
				// Irregular, as people record: sorted random instants in the span.
				s.Times[i] = t0.Add(time.Duration(rng.Int64N(int64(tc.span))))
			}
			slices.SortFunc(s.Times, time.Time.Compare)
			s.Times[0], s.Times[len(s.Times)-1] = t0, t0.Add(tc.span)
			for _, kind := range []Kind{Line, Bar} {
				b, err := Render(context.Background(), s, Options{Kind: kind, Title: tc.name})
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				checkChart(t, b, DefaultWidth, DefaultHeight)
			}
			c, err := prepare(s, Options{Kind: Line}, DefaultWidth)
			if err != nil {
				t.Fatal(err)
			}
			p := c.plot(vg.Point{X: 580, Y: 355}, nil) // the default image's canvas, in points
			ticks := p.X.Tick.Marker.Ticks(c.xMin, c.xMax)
			if len(ticks) < 3 {
				t.Fatalf("%d time ticks, want at least 3: %+v", len(ticks), ticks)
			}
			if first, last := ticks[0].Label, ticks[len(ticks)-1].Label; first != tc.first || last != tc.last {
				t.Errorf("time ticks run %q .. %q, want %q .. %q", first, last, tc.first, tc.last)
			}
		})
	}
}

func hourly(n int) []time.Time {
	t0 := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = t0.Add(time.Duration(i) * time.Hour)
	}
	return ts
}

// TestRenderDeterministic renders the same charts from several goroutines at
// once (sharing the frame pool) and expects identical bytes every time.
func TestRenderDeterministic(t *testing.T) {
	inputs := []struct {
		s   Series
		opt Options
	}{
		{Series{Values: noisySine(500)}, Options{Kind: Line, Title: "a"}},
		{Series{Values: noisySine(500)}, Options{Kind: Bar, Title: "b"}},
		{Series{Values: noisySine(500)}, Options{Kind: Histogram, Title: "c", Width: 640, Height: 480}},
	}
	want := make([][]byte, len(inputs))
	for i, in := range inputs {
		b, err := Render(context.Background(), in.s, in.opt)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = b
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(inputs))
	for g := range 8 {
		wg.Go(func() {
			for k := range inputs {
				i := (g + k) % len(inputs)
				b, err := Render(context.Background(), inputs[i].s, inputs[i].opt)
				switch {
				case err != nil:
					errs <- err
				case !bytes.Equal(b, want[i]):
					errs <- errors.New("same input rendered to different bytes")
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRenderDiffers(t *testing.T) {
	base := Series{Values: noisySine(100)}
	changed := Series{Values: append([]float64(nil), base.Values...)}
	changed.Values[50] += 20
	render := func(s Series, opt Options) []byte {
		t.Helper()
		b, err := Render(context.Background(), s, opt)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := render(base, Options{})
	for name, b := range map[string][]byte{
		"one value changed": render(changed, Options{}),
		"title":             render(base, Options{Title: "x"}),
		"kind":              render(base, Options{Kind: Bar}),
	} {
		imgA := mustDecode(t, a, 800, 500).(*image.Paletted)
		imgB := mustDecode(t, b, 800, 500).(*image.Paletted)
		if bytes.Equal(imgA.Pix, imgB.Pix) {
			t.Errorf("%s: same pixels as the base chart", name)
		}
	}
}

func TestRenderEdgeCases(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	long := strings.Repeat("a very long label ", 40)
	odd := []string{
		"emoji 🚀🎉👩‍👩‍👧", "漢字テキスト", "עברית RTL", "e\u0301\u0301\u0301 combining",
		"bidi \u202eoverride", "zero\u200bwidth", "tab\there\nnewline\r", string([]byte{0xff, 0xfe, 'x'}),
		"\x00\x01\x7f", "",
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		s    Series
		opt  Options
		err  error // nil: want a PNG
	}{
		{"empty", Series{}, Options{}, ErrEmpty},
		{"empty non-nil", Series{Values: []float64{}}, Options{Kind: Bar}, ErrEmpty},
		{"all NaN", Series{Values: []float64{nan, nan}}, Options{}, ErrNoFiniteValues},
		{"all Inf", Series{Values: []float64{inf, -inf}}, Options{Kind: Histogram}, ErrNoFiniteValues},
		{"labels too short", Series{Values: []float64{1, 2}, Labels: []string{"a"}}, Options{}, ErrLengthMismatch},
		{"labels empty non-nil", Series{Values: []float64{1, 2}, Labels: []string{}}, Options{}, ErrLengthMismatch},
		{"times too long", Series{Values: []float64{1}, Times: hourly(2)}, Options{}, ErrLengthMismatch},
		{"too small", Series{Values: []float64{1}}, Options{Width: 50, Height: 50}, ErrBadSize},
		{"too large", Series{Values: []float64{1}}, Options{Width: 5000, Height: 500}, ErrBadSize},
		{"only width", Series{Values: []float64{1}}, Options{Width: 800}, ErrBadSize},
		{"negative size", Series{Values: []float64{1}}, Options{Width: -800, Height: -500}, ErrBadSize},
		{"unknown kind", Series{Values: []float64{1}}, Options{Kind: "pie"}, ErrUnknownKind},

		{"one point line", Series{Values: []float64{42}}, Options{}, nil},
		{"one point bar", Series{Values: []float64{42}}, Options{Kind: Bar}, nil},
		{"one point hist", Series{Values: []float64{42}}, Options{Kind: Histogram}, nil},
		{"one point with time", Series{Values: []float64{42}, Times: hourly(1)}, Options{}, nil},
		{"some NaN and Inf", Series{Values: []float64{1, nan, 3, inf, -inf, 2, 4}}, Options{}, nil},
		{"some NaN bar", Series{Values: []float64{1, nan, 3}, Labels: []string{"a", "b", "c"}}, Options{Kind: Bar}, nil},
		{"some NaN hist", Series{Values: []float64{1, nan, 3, 2, 2}}, Options{Kind: Histogram}, nil},
		{"one finite among NaN", Series{Values: []float64{nan, 5, nan}, Times: hourly(3)}, Options{}, nil},
		{"identical", Series{Values: []float64{7, 7, 7, 7}}, Options{}, nil},
		{"identical zero", Series{Values: []float64{0, 0, 0}}, Options{}, nil},
		{"identical bar", Series{Values: []float64{7, 7, 7}}, Options{Kind: Bar}, nil},
		{"zero bars", Series{Values: []float64{0, 0, 0}}, Options{Kind: Bar}, nil},
		{"identical hist", Series{Values: []float64{7, 7, 7, 7}}, Options{Kind: Histogram}, nil},
		{"nearly identical", Series{Values: []float64{1, math.Nextafter(1, 2), 1}}, Options{}, nil},
		{"nearly identical hist", Series{Values: []float64{1, math.Nextafter(1, 2), 1}}, Options{Kind: Histogram}, nil},
		{"negative", Series{Values: []float64{-3, -1, -4, -1, -5}}, Options{}, nil},
		{"negative bar", Series{Values: []float64{-3, -1, -4, -1, -5}}, Options{Kind: Bar}, nil},
		{"mixed sign bar", Series{Values: []float64{-3, 1, -4, 1, 5}}, Options{Kind: Bar}, nil},
		{"huge", Series{Values: []float64{1e300, 2e300, 3e300}}, Options{}, nil},
		{"huge hist", Series{Values: []float64{1e300, 2e300, 3e300, -1e300}}, Options{Kind: Histogram}, nil},
		{"max float", Series{Values: []float64{math.MaxFloat64, -math.MaxFloat64, 0}}, Options{}, nil},
		{"max float bar", Series{Values: []float64{math.MaxFloat64, -math.MaxFloat64}}, Options{Kind: Bar}, nil},
		{"max float hist", Series{Values: []float64{math.MaxFloat64, -math.MaxFloat64, 1}}, Options{Kind: Histogram}, nil},
		{"identical max float", Series{Values: []float64{math.MaxFloat64, math.MaxFloat64}}, Options{}, nil},
		{"tiny", Series{Values: []float64{1e-300, 2e-300, 3e-300}}, Options{}, nil},
		{"denormal", Series{Values: []float64{5e-324, 1e-323, 0}}, Options{}, nil},
		{"denormal hist", Series{Values: []float64{5e-324, 1e-323, 0}}, Options{Kind: Histogram}, nil},
		{"identical denormal", Series{Values: []float64{5e-324, 5e-324}}, Options{Kind: Bar}, nil},
		{"huge and tiny", Series{Values: []float64{1e300, 1e-300, -1e-300}}, Options{}, nil},
		{"large offset small spread", Series{Values: []float64{1e9 + 1, 1e9 + 2, 1e9 + 3}}, Options{}, nil},
		{"long labels bar", Series{Values: []float64{1, 2, 3}, Labels: []string{long, long, long}}, Options{Kind: Bar}, nil},
		{"long labels line", Series{Values: []float64{1, 2, 3}, Labels: []string{long, long, long}}, Options{}, nil},
		{"odd unicode labels", Series{Values: noisySine(len(odd)), Labels: odd}, Options{Kind: Bar}, nil},
		{"odd unicode title", Series{Values: []float64{1, 2}}, Options{Title: strings.Join(odd, " "), XLabel: odd[0], YLabel: odd[7]}, nil},
		{"long title", Series{Values: []float64{1, 2}}, Options{Title: long, XLabel: long, YLabel: long}, nil},
		{"30 labelled bars", Series{Values: noisySine(30), Labels: make([]string, 30)}, Options{Kind: Bar}, nil},
		{"31 bars", Series{Values: noisySine(31), Labels: make([]string, 31)}, Options{Kind: Bar}, nil},
		{"61 bars", Series{Values: noisySine(61)}, Options{Kind: Bar}, nil},
		{"bars with times", Series{Values: noisySine(12), Times: hourly(12)}, Options{Kind: Bar}, nil},
		{"unsorted times", Series{Values: []float64{1, 2, 3}, Times: []time.Time{t0.Add(2 * time.Hour), t0, t0.Add(time.Hour)}}, Options{}, nil},
		{"identical times", Series{Values: []float64{1, 2, 3}, Times: []time.Time{t0, t0, t0}}, Options{}, nil},
		{"millisecond times", Series{Values: []float64{1, 2, 3}, Times: []time.Time{t0, t0.Add(time.Millisecond), t0.Add(2 * time.Millisecond)}}, Options{}, nil},
		{"zero times", Series{Values: []float64{1, 2}, Times: make([]time.Time, 2)}, Options{}, nil},
		{"ancient and far times", Series{Values: []float64{1, 2}, Times: []time.Time{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}}, Options{}, nil},
		{"times across zones", Series{Values: []float64{1, 2}, Times: []time.Time{t0.In(time.FixedZone("X", 5*3600)), t0.Add(time.Hour)}}, Options{}, nil},
		{"minimum size", Series{Values: noisySine(50)}, Options{Width: MinSize, Height: MinSize}, nil},
		{"long and thin", Series{Values: noisySine(50)}, Options{Width: MaxSize, Height: MinSize}, nil},
		{"tall and narrow", Series{Values: noisySine(50)}, Options{Kind: Bar, Width: MinSize, Height: MaxSize}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Render(context.Background(), tc.s, tc.opt)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Render error = %v, want %v", err, tc.err)
				}
				if b != nil {
					t.Errorf("Render returned %d bytes with an error", len(b))
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			w, h := tc.opt.Width, tc.opt.Height
			if w == 0 {
				w, h = DefaultWidth, DefaultHeight
			}
			img := mustDecode(t, b, w, h)
			if _, _, series := pixelStats(img); series == 0 {
				t.Errorf("no pixel has the series colour: the data is not drawn")
			}
		})
	}
}

// TestRenderRandom throws seeded random series with special values mixed in
// at every kind and a few sizes: each must give a PNG or a sentinel error.
func TestRenderRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.MaxFloat64,
		-math.MaxFloat64, math.SmallestNonzeroFloat64, 1e300, -1e-300}
	sentinels := []error{ErrEmpty, ErrNoFiniteValues}
	for i := range 60 {
		n := r.IntN(200)
		vs := make([]float64, n)
		for j := range vs {
			if r.IntN(4) == 0 {
				vs[j] = specials[r.IntN(len(specials))]
			} else {
				vs[j] = r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
			}
		}
		kind := []Kind{Line, Bar, Histogram}[i%3]
		b, err := Render(context.Background(), Series{Values: vs}, Options{Kind: kind, Width: 200 + 10*i, Height: 150 + 5*i})
		if err != nil {
			known := false
			for _, s := range sentinels {
				known = known || errors.Is(err, s)
			}
			if !known {
				t.Errorf("case %d (%s, %v): unexpected error %v", i, kind, vs, err)
			}
			continue
		}
		mustDecode(t, b, 200+10*i, 150+5*i)
	}
}

// stageCtx is a context whose Err reports cancellation from its n-th call on,
// to show that Render checks between every stage without timing anything.
type stageCtx struct {
	context.Context
	n, calls int
}

func (c *stageCtx) Err() error {
	c.calls++
	if c.calls > c.n {
		return context.Canceled
	}
	return nil
}

func TestRenderContext(t *testing.T) {
	s := Series{Values: noisySine(100)}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Render(ctx, s, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: err = %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	if _, err := Render(ctx, s, Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired ctx: err = %v, want context.DeadlineExceeded", err)
	}

	// Render checks before preparing, before drawing and before encoding.
	for n := range 3 {
		ctx := &stageCtx{Context: context.Background(), n: n}
		if b, err := Render(ctx, s, Options{}); !errors.Is(err, context.Canceled) || b != nil {
			t.Errorf("cancelled after %d checks: %d bytes, err = %v, want context.Canceled", n, len(b), err)
		}
	}
	ctx2 := &stageCtx{Context: context.Background(), n: 3}
	if _, err := Render(ctx2, s, Options{}); err != nil {
		t.Errorf("never cancelled: err = %v", err)
	}
}

func TestErrorsNameInput(t *testing.T) {
	for _, tc := range []struct {
		s    Series
		opt  Options
		want string
	}{
		{Series{Values: []float64{1}}, Options{Width: 50, Height: 60}, "50x60"},
		{Series{Values: []float64{1, 2}, Labels: []string{"a"}}, Options{}, "1 labels for 2 values"},
		{Series{Values: []float64{math.NaN()}}, Options{}, "all 1 values"},
		{Series{Values: []float64{1}}, Options{Kind: "pie"}, `"pie"`},
	} {
		_, err := Render(context.Background(), tc.s, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want it to mention %q", err, tc.want)
		}
	}
}
