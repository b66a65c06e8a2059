package render

import (
	"bytes"
	stdadler "hash/adler32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"
)

// streamOf lays out an image of w×h palette indices as writePNG takes it.
func streamOf(w, h int, pix func(x, y int) uint8) []byte {
	s := make([]byte, pngStreamLen(w, h))
	for y := range h {
		for x := range w {
			s[y*(w+1)+1+x] = pix(x, y)
		}
	}
	return s
}

// checkDecodes writes the stream as a PNG, decodes it with image/png and
// compares every pixel's index and the palette.
func checkDecodes(t *testing.T, s []byte, w, h int, pal color.Palette) []byte {
	t.Helper()
	b, err := writePNG(nil, s, w, h, pal)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%dx%d: decode: %v", w, h, err)
	}
	p, ok := img.(*image.Paletted)
	if !ok {
		t.Fatalf("%dx%d: decoded a %T, want *image.Paletted", w, h, img)
	}
	if got := p.Rect; got != image.Rect(0, 0, w, h) {
		t.Fatalf("decoded %v, want %dx%d", got, w, h)
	}
	if len(p.Palette) != len(pal) {
		t.Fatalf("%dx%d: palette of %d, want %d", w, h, len(p.Palette), len(pal))
	}
	for i := range pal {
		r1, g1, b1, a1 := p.Palette[i].RGBA()
		r2, g2, b2, a2 := pal[i].RGBA()
		if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
			t.Fatalf("%dx%d: palette[%d] is %v, want %v", w, h, i, p.Palette[i], pal[i])
		}
	}
	for y := range h {
		for x := range w {
			if got, want := p.ColorIndexAt(x, y), s[y*(w+1)+1+x]; got != want {
				t.Fatalf("%dx%d: pixel (%d,%d) is %d, want %d", w, h, x, y, got, want)
			}
		}
	}
	return b
}

func TestWritePNGDecodes(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	grey := make(color.Palette, 256)
	for i := range grey {
		grey[i] = color.RGBA{uint8(i), uint8(i), uint8(i), 0xff}
	}
	cases := []struct {
		name string
		w, h int
		pix  func(x, y int) uint8
	}{
		{"one pixel", 1, 1, func(x, y int) uint8 { return 7 }},
		{"blank", 800, 500, func(x, y int) uint8 { return 0 }},
		{"one colour", 333, 77, func(x, y int) uint8 { return 200 }},
		{"noise", 257, 131, func(x, y int) uint8 { return uint8(rnd.IntN(256)) }},
		{"few colours", 300, 40, func(x, y int) uint8 { return uint8(rnd.IntN(3)) }},
		// Runs just past deflate's longest match, and rows that repeat.
		{"runs of 259", 259 * 3, 5, func(x, y int) uint8 { return uint8(x / 259) }},
		{"stripes", 100, 100, func(x, y int) uint8 { return uint8(x % 5) }},
		{"diagonal", 400, 400, func(x, y int) uint8 { return uint8((x + y) % 256) }},
		// Rows longer than deflate's window: no match from the row above.
		{"wide", 40000, 3, func(x, y int) uint8 { return uint8(x/1000 + y) }},
		{"row at the window", maxDistance - 1, 2, func(x, y int) uint8 { return uint8(x / 100) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkDecodes(t, streamOf(c.w, c.h, c.pix), c.w, c.h, grey)
		})
	}
	t.Run("translucent palette", func(t *testing.T) {
		pal := color.Palette{color.NRGBA{0xff, 0, 0, 0x80}, color.RGBA{0, 0, 0, 0}, color.RGBA{0, 0, 0xff, 0xff}}
		checkDecodes(t, streamOf(20, 20, func(x, y int) uint8 { return uint8((x * y) % 3) }), 20, 20, pal)
	})
}

func TestWritePNGRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		name   string
		stream []byte
		w, h   int
		pal    color.Palette
	}{
		{"short stream", make([]byte, 10), 10, 10, palette},
		{"no size", nil, 0, 0, palette},
		{"no palette", make([]byte, pngStreamLen(2, 2)), 2, 2, nil},
		{"palette too big", make([]byte, pngStreamLen(2, 2)), 2, 2, make(color.Palette, 257)},
	} {
		if _, err := writePNG(nil, c.stream, c.w, c.h, c.pal); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestChartPNG encodes real charts and checks each decodes to the frame's
// pixels, and that the size stays near compress/flate's at its fastest: an
// encoder that found no matches would be twenty times larger.
func TestChartPNG(t *testing.T) {
	for _, opt := range []Options{
		{Kind: Line, Title: "Line"},
		{Kind: Bar, Title: "Bar"},
		{Kind: Histogram, Title: "Histogram"},
		{Kind: Line, Title: "Small", Width: 200, Height: 120},
	} {
		t.Run(string(opt.Kind)+"/"+opt.Title, func(t *testing.T) {
			w, h, err := checkOptions(&opt)
			if err != nil {
				t.Fatal(err)
			}
			c, err := prepare(Series{Values: noisySine(300)}, opt, w)
			if err != nil {
				t.Fatal(err)
			}
			f := getFrame(w, h)
			defer putFrame(f)
			c.draw(f)
			f.quantize()
			ours := checkDecodes(t, f.stream, w, h, palette)
			var std bytes.Buffer
			if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&std, &f.pal); err != nil {
				t.Fatal(err)
			}
			t.Logf("%dx%d: %d bytes, compress/flate at BestSpeed %d", w, h, len(ours), std.Len())
			if len(ours) > 3*std.Len() {
				t.Errorf("%d bytes, more than 3 × compress/flate's %d", len(ours), std.Len())
			}
		})
	}
}

func TestAdler32(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 5551, 5552, 5553, 5552 * 3, 400_000} {
		zeros := make([]byte, n)
		ones := bytes.Repeat([]byte{0xff}, n)
		mixed := make([]byte, n)
		for i := range mixed {
			if rnd.IntN(10) == 0 {
				mixed[i] = byte(rnd.IntN(256))
			}
		}
		for name, s := range map[string][]byte{"zeros": zeros, "0xff": ones, "mixed": mixed} {
			if got, want := adler32(s), stdadler.Checksum(s); got != want {
				t.Errorf("%s × %d: %#x, want %#x", name, n, got, want)
			}
		}
	}
}

// FuzzWritePNG: any pixels and size decode back to themselves.
func FuzzWritePNG(f *testing.F) {
	f.Add(uint16(3), []byte{0, 0, 0, 1, 1, 1, 0, 0, 0})
	f.Add(uint16(300), bytes.Repeat([]byte{4}, 1000))
	f.Fuzz(func(t *testing.T, w16 uint16, pix []byte) {
		w := int(w16%1024) + 1
		h := len(pix) / w
		if h == 0 || h > 1024 {
			return
		}
		grey := make(color.Palette, 256)
		for i := range grey {
			grey[i] = color.Gray{uint8(i)}
		}
		checkDecodes(t, streamOf(w, h, func(x, y int) uint8 { return pix[y*w+x] }), w, h, grey)
	})
}
