package render

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// FuzzRender feeds arbitrary bit patterns as values (8 bytes each, so every
// NaN payload, infinity and denormal is reachable) and arbitrary labels. Render
// must return a PNG or a sentinel error, never panic or report ErrDraw.
func FuzzRender(f *testing.F) {
	f.Add([]byte{}, uint8(0), "")
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN())), uint8(1), "x")
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil,
		math.Float64bits(math.MaxFloat64)), math.Float64bits(-math.MaxFloat64)), uint8(2), "\xff\u202e")
	f.Add(binary.LittleEndian.AppendUint64(nil, 1), uint8(0), "🚀 label")
	f.Fuzz(func(t *testing.T, raw []byte, kind uint8, label string) {
		vs := make([]float64, len(raw)/8)
		labels := make([]string, len(vs))
		for i := range vs {
			vs[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			labels[i] = label
		}
		k := []Kind{Line, Bar, Histogram}[int(kind)%3]
		b, err := Render(context.Background(), Series{Values: vs, Labels: labels},
			Options{Kind: k, Title: label, XLabel: label, YLabel: label, Width: 320, Height: 200})
		switch {
		case errors.Is(err, ErrEmpty), errors.Is(err, ErrNoFiniteValues):
		case err != nil:
			t.Fatalf("%s chart of %v: %v", k, vs, err)
		default:
			mustDecode(t, b, 320, 200)
		}
	})
}
