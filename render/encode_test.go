package render

import (
	"image/color"
	"testing"
)

func TestPalette(t *testing.T) {
	if len(palette) > 256 {
		t.Fatalf("palette has %d colours, want at most 256", len(palette))
	}
	for _, c := range []color.RGBA{background, inkText, inkGrid, inkSeries} {
		if got := palette[nearest(c.R, c.G, c.B)]; got != c {
			t.Errorf("ink %v maps to %v, want itself", c, got)
		}
	}
}

// TestQuantizeFaithful draws real charts and compares every pixel of the
// paletted image with the RGBA original: the conversion must not visibly
// change the chart (no banding in antialiased edges, no shifted colours).
func TestQuantizeFaithful(t *testing.T) {
	for _, opt := range []Options{
		{Kind: Line, Title: "Line"},
		{Kind: Bar, Title: "Bar"},
		{Kind: Histogram, Title: "Histogram"},
	} {
		t.Run(string(opt.Kind), func(t *testing.T) {
			c, err := prepare(Series{Values: noisySine(300)}, opt, DefaultWidth)
			if err != nil {
				t.Fatal(err)
			}
			f := getFrame(DefaultWidth, DefaultHeight)
			defer putFrame(f)
			c.draw(f)
			f.quantize()
			var worst, sum, edges, off int
			for i := range DefaultWidth * DefaultHeight {
				x, y := i%DefaultWidth, i/DefaultWidth
				want := f.rgba.Pix[4*i : 4*i+3]
				got := palette[f.pal.ColorIndexAt(x, y)].(color.RGBA)
				d := max(absDiff(got.R, want[0]), absDiff(got.G, want[1]), absDiff(got.B, want[2]))
				worst = max(worst, d)
				if want[0]&want[1]&want[2] != 0xff {
					sum += d
					edges++
				}
				if d > 8 {
					off++
				}
			}
			mean := float64(sum) / float64(edges)
			t.Logf("channel error: worst %d, mean %.2f over %d non-background pixels, %d pixels off by more than 8",
				worst, mean, edges, off)
			// 255/80 steps on the main ramps put blends within 2 levels;
			// the odd pixel where three inks meet may be further off.
			if mean > 2 || worst > 64 || float64(off) > 0.01*float64(edges) {
				t.Errorf("quantisation error: worst %d, mean %.2f, %d of %d pixels off by more than 8",
					worst, mean, off, edges)
			}
		})
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestFrameReuse(t *testing.T) {
	// A pooled frame from a bigger chart is resized in place for a smaller one.
	f := getFrame(400, 300)
	putFrame(f)
	g := getFrame(200, 100)
	defer putFrame(g)
	if got := g.rgba.Rect.Size(); got.X != 200 || got.Y != 100 || len(g.rgba.Pix) != 4*200*100 || len(g.stream) != 201*100 {
		t.Errorf("frame is %v with %d/%d bytes of pixels, want 200x100", got, len(g.rgba.Pix), len(g.stream))
	}
}
