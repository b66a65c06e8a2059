package render

import (
	"context"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// noisySine is a deterministic test series: two periods of a sine with noise.
func noisySine(n int) []float64 {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float64, n)
	for i := range v {
		v[i] = 20 + 10*math.Sin(float64(i)/float64(n)*4*math.Pi) + r.NormFloat64()
	}
	return v
}

// BenchmarkRender measures whole charts at the default 800x500. Besides the
// usual figures it reports p50-ns (the median of the iterations, which a GC
// pause or a busy neighbour skews less than the mean) and png-bytes. The
// "-times" cases are what the notebook's /chart draws: values over the times
// they were recorded (here, every 17 minutes).
func BenchmarkRender(b *testing.B) {
	for _, bc := range []struct {
		kind  Kind
		n     int
		times bool
	}{
		{Line, 100, false}, {Line, 1000, false}, {Line, 10_000, false}, {Line, 1_000_000, false},
		{Line, 100, true}, {Line, 10_000, true},
		{Bar, 100, false}, {Bar, 10_000, false}, {Bar, 30, true},
		{Histogram, 100, false}, {Histogram, 10_000, false},
	} {
		name := string(bc.kind)
		if bc.times {
			name += "-times"
		}
		b.Run(name+"/"+strconv.Itoa(bc.n), func(b *testing.B) {
			s := Series{Values: noisySine(bc.n)}
			if bc.times {
				t0 := time.Date(2026, 3, 1, 9, 17, 0, 0, time.UTC)
				s.Times = make([]time.Time, bc.n)
				for i := range s.Times {
					s.Times[i] = t0.Add(time.Duration(i) * 17 * time.Minute)
				}
			}
			opt := Options{Kind: bc.kind, Title: "Benchmark", XLabel: "x", YLabel: "y"}
			ctx := context.Background()
			var size int
			durs := make([]time.Duration, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				out, err := Render(ctx, s, opt)
				durs = append(durs, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(size), "png-bytes")
		})
	}
}

// BenchmarkEncode compares ways of encoding the same drawn 800x500 line chart:
// the standard png.Encode of the RGBA image (what vgimg's PngCanvas does),
// png.BestSpeed on the RGBA image, png.BestSpeed on the quantized image, and
// this package's encoding (quantize, then writePNG).
func BenchmarkEncode(b *testing.B) {
	c, err := prepare(Series{Values: noisySine(100)}, Options{Kind: Line, Title: "Benchmark"}, DefaultWidth)
	if err != nil {
		b.Fatal(err)
	}
	f := getFrame(DefaultWidth, DefaultHeight)
	defer putFrame(f)
	c.draw(f)
	var w countWriter
	b.Run("rgba-default", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w = 0
			if err := png.Encode(&w, &f.rgba); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(w), "png-bytes")
	})
	b.Run("rgba-bestspeed", func(b *testing.B) {
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		b.ReportAllocs()
		for b.Loop() {
			w = 0
			if err := enc.Encode(&w, &f.rgba); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(w), "png-bytes")
	})
	b.Run("paletted-bestspeed", func(b *testing.B) {
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		b.ReportAllocs()
		for b.Loop() {
			w = 0
			f.quantize()
			if err := enc.Encode(&w, &f.pal); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(w), "png-bytes")
	})
	b.Run("paletted", func(b *testing.B) {
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			if out, err = f.encode(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(out)), "png-bytes")
	})
}

// BenchmarkDraw isolates drawing (gonum/plot into the pooled image) of the
// 100-point line chart, to show what is left once encoding is cheap.
func BenchmarkDraw(b *testing.B) {
	c, err := prepare(Series{Values: noisySine(100)}, Options{Kind: Line, Title: "Benchmark"}, DefaultWidth)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f := getFrame(DefaultWidth, DefaultHeight)
		c.draw(f)
		putFrame(f)
	}
}

type countWriter int

func (w *countWriter) Write(p []byte) (int, error) { *w += countWriter(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
