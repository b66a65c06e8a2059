package render

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"
)

// The inks every chart is drawn with, on a white background. Antialiasing only
// ever blends these with the background or with each other, which is what lets
// a small palette reproduce a chart faithfully.
var (
	background = color.RGBA{0xff, 0xff, 0xff, 0xff}
	inkText    = color.RGBA{0x26, 0x26, 0x26, 0xff}
	inkGrid    = color.RGBA{0xdc, 0xdc, 0xdc, 0xff}
	inkSeries  = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
)

// A ramp is a run of palette entries evenly spaced between two colours, from
// (excluding) a to b, which stand for every blend of a and b.
type ramp struct {
	a, b  color.RGBA
	steps int // entries from a (exclusive) to b (inclusive)
	first int // palette index of the first entry
}

// ramps cover the blends a chart actually contains: each ink over the
// background (text, lines, edges of bars), and inks over each other where the
// series crosses grid lines or meets the axes. Steps are finest where the
// colours are furthest apart. 1 + 80 + 80 + 12 + 32 + 16 + 16 = 237 entries,
// within the 256 of an 8-bit paletted PNG.
var ramps = []ramp{
	{a: background, b: inkText, steps: 80},
	{a: background, b: inkSeries, steps: 80},
	{a: background, b: inkGrid, steps: 12},
	{a: inkText, b: inkSeries, steps: 32},
	{a: inkGrid, b: inkSeries, steps: 16},
	{a: inkGrid, b: inkText, steps: 16},
}

// palette is background then every ramp's entries; the cross ramps repeat their
// end colours harmlessly, the nearest-colour search never prefers them.
var palette = func() color.Palette {
	p := color.Palette{background}
	for i := range ramps {
		r := &ramps[i]
		r.first = len(p)
		for s := 1; s <= r.steps; s++ {
			t := float64(s) / float64(r.steps)
			p = append(p, color.RGBA{
				R: lerp(r.a.R, r.b.R, t),
				G: lerp(r.a.G, r.b.G, t),
				B: lerp(r.a.B, r.b.B, t),
				A: 0xff,
			})
		}
	}
	if len(p) > 256 {
		panic("render: palette has more than 256 colours")
	}
	return p
}()

func lerp(a, b uint8, t float64) uint8 {
	return uint8(float64(a) + (float64(b)-float64(a))*t + 0.5)
}

// nearest returns the palette index for an opaque colour: each ramp is a line
// segment in RGB space, so the best entry on a ramp is the projection of the
// colour onto it, rounded to the ramp's steps. Whole-palette search would cost
// 237 distances per colour; this costs six projections.
func nearest(r, g, b uint8) uint8 {
	best, bestErr := 0, sq(255-int(r))+sq(255-int(g))+sq(255-int(b))
	for i := range ramps {
		rp := &ramps[i]
		ar, ag, ab := int(rp.a.R), int(rp.a.G), int(rp.a.B)
		dr, dg, db := int(rp.b.R)-ar, int(rp.b.G)-ag, int(rp.b.B)-ab
		pr, pg, pb := int(r)-ar, int(g)-ag, int(b)-ab
		t := float64(pr*dr+pg*dg+pb*db) / float64(dr*dr+dg*dg+db*db)
		s := int(t*float64(rp.steps) + 0.5)
		if s < 1 {
			continue // a is either the background or another ramp's end
		}
		s = min(s, rp.steps)
		c := palette[rp.first+s-1].(color.RGBA)
		if e := sq(int(c.R)-int(r)) + sq(int(c.G)-int(g)) + sq(int(c.B)-int(b)); e < bestErr {
			best, bestErr = rp.first+s-1, e
		}
	}
	return uint8(best)
}

func sq(x int) int { return x * x }

// cacheSize is the number of slots in a frame's colour cache. A chart has a few
// thousand distinct colours at most, nearly all of them antialiased edges.
const cacheSize = 1 << 12

// cacheEntry maps an RGB colour (key, with bit 24 set when valid) to its
// palette index. The palette never changes, so entries stay valid across
// renders of a pooled frame.
type cacheEntry struct {
	key uint32
	idx uint8
}

// frame is everything one Render needs to draw and encode, pooled so that a
// chart costs a few small allocations instead of megabytes of pixels.
type frame struct {
	rgba image.RGBA
	// stream is the PNG's image data (pngStreamLen), and pal a view of its
	// pixels: rows of Stride w+1, whose extra byte is the next row's filter.
	stream []byte
	pal    image.Paletted
	cache  [cacheSize]cacheEntry
	out    []byte
}

// frames holds frames between renders; it is safe for concurrent Render calls,
// each of which owns the frame it got until it puts it back.
var frames = sync.Pool{New: func() any { return new(frame) }}

// getFrame returns a frame sized w×h, reusing a pooled frame's pixel buffers
// whatever its previous size when they are large enough.
func getFrame(w, h int) *frame {
	f := frames.Get().(*frame)
	n := w * h
	if cap(f.rgba.Pix) < 4*n {
		f.rgba.Pix = make([]uint8, 4*n)
	}
	if ns := pngStreamLen(w, h); cap(f.stream) < ns {
		f.stream = make([]uint8, ns)
	}
	r := image.Rect(0, 0, w, h)
	f.rgba = image.RGBA{Pix: f.rgba.Pix[:4*n], Stride: 4 * w, Rect: r}
	f.stream = f.stream[:pngStreamLen(w, h)]
	f.pal = image.Paletted{Pix: f.stream[1:], Stride: w + 1, Rect: r, Palette: palette}
	return f
}

func putFrame(f *frame) {
	// A frame that once drew a huge chart would pin its buffers; let those go.
	if cap(f.rgba.Pix) > 4*2000*2000 || cap(f.out) > 4<<20 {
		return
	}
	frames.Put(f)
}

// quantize maps f.rgba onto the palette in f.pal. Most of a chart is
// background, so the stream starts cleared (index 0 is the background, and 0
// the filter byte every row starts with) and src is skipped eight pixels at a
// time while they are all white; other colours are looked up in the frame's
// cache and computed once on a miss.
func (f *frame) quantize() {
	clear(f.stream)
	w := f.rgba.Rect.Dx()
	for y := range f.rgba.Rect.Dy() {
		src := f.rgba.Pix[y*f.rgba.Stride : y*f.rgba.Stride+4*w]
		dst := f.pal.Pix[y*f.pal.Stride : y*f.pal.Stride+w]
		// Grid lines and axes are long runs of one colour: the last lookup
		// is kept to skip the cache for them.
		last, lastIdx := uint32(0), uint8(0)
		for j := 0; j < w; j += 8 {
			if j+8 <= w {
				q := src[4*j : 4*j+32 : 4*j+32]
				if binary.LittleEndian.Uint64(q)&binary.LittleEndian.Uint64(q[8:])&
					binary.LittleEndian.Uint64(q[16:])&binary.LittleEndian.Uint64(q[24:]) == math.MaxUint64 {
					continue
				}
			}
			for k := j; k < min(j+8, w); k++ {
				p := src[4*k : 4*k+4 : 4*k+4]
				r, g, b := p[0], p[1], p[2]
				if r&g&b == 0xff {
					continue
				}
				key := uint32(r)<<16 | uint32(g)<<8 | uint32(b) | 1<<24
				if key != last {
					e := &f.cache[(key*2654435761)>>20&(cacheSize-1)]
					if e.key != key {
						e.key, e.idx = key, nearest(r, g, b)
					}
					last, lastIdx = key, e.idx
				}
				dst[k] = lastIdx
			}
		}
	}
}

// encode quantizes the drawn frame and returns its PNG bytes, owned by the caller.
func (f *frame) encode() ([]byte, error) {
	f.quantize()
	var err error
	f.out, err = writePNG(f.out[:0], f.stream, f.pal.Rect.Dx(), f.pal.Rect.Dy(), f.pal.Palette)
	if err != nil {
		return nil, fmt.Errorf("encode %dx%d png: %w", f.pal.Rect.Dx(), f.pal.Rect.Dy(), err)
	}
	return bytes.Clone(f.out), nil
}
