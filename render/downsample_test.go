package render

import (
	"math"
	"slices"
	"testing"
)

func TestDownsample(t *testing.T) {
	spiky := make([]float64, 10_000)
	for i := range spiky {
		spiky[i] = math.Sin(float64(i) / 500)
	}
	spiky[4321] = 50  // a spike up
	spiky[7777] = -50 // and one down
	times := make([]float64, len(spiky))
	for i := range times {
		times[i] = 1.7e9 + 60*float64(i) + float64(i%7) // uneven spacing
	}

	for _, tc := range []struct {
		name string
		x    []float64
		y    []float64
		n    int
	}{
		{"index x", nil, spiky, 800},
		{"explicit x", times, spiky, 800},
		{"few buckets", nil, spiky, 3},
		{"one short of all", nil, spiky[:100], 99},
		{"just spikes", nil, spiky, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx := Downsample(tc.x, tc.y, tc.n)
			if len(idx) != tc.n {
				t.Fatalf("got %d indices, want %d", len(idx), tc.n)
			}
			if idx[0] != 0 || idx[len(idx)-1] != len(tc.y)-1 {
				t.Errorf("first and last kept = %d, %d, want 0, %d", idx[0], idx[len(idx)-1], len(tc.y)-1)
			}
			for i := 1; i < len(idx); i++ {
				if idx[i] <= idx[i-1] {
					t.Fatalf("indices not increasing at %d: %v", i, idx[i-1:i+1])
				}
			}
			if len(tc.y) == len(spiky) && tc.n >= 4 {
				for _, spike := range []int{4321, 7777} {
					if !slices.Contains(idx, spike) {
						t.Errorf("spike at %d dropped", spike)
					}
				}
			}
		})
	}
}

func TestDownsampleSmall(t *testing.T) {
	y := []float64{1, 5, 2, 8, 3}
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{-1, nil},
		{0, nil},
		{1, []int{0}},
		{2, []int{0, 4}},
		{3, []int{0, 3, 4}},
		{5, []int{0, 1, 2, 3, 4}},
		{100, []int{0, 1, 2, 3, 4}},
	} {
		if got := Downsample(nil, y, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("Downsample(nil, %v, %d) = %v, want %v", y, tc.n, got, tc.want)
		}
	}
	if got := Downsample(nil, nil, 10); got != nil {
		t.Errorf("Downsample of nothing = %v, want nil", got)
	}
}

func TestDownsampleMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Downsample with len(x) != len(y) did not panic")
		}
	}()
	Downsample([]float64{1}, []float64{1, 2}, 1)
}

func TestBucketMeans(t *testing.T) {
	y := []float64{1, 3, math.NaN(), 5, math.NaN(), math.NaN(), math.MaxFloat64, math.MaxFloat64}
	means, lo, hi := bucketMeans(y, 4)
	// Buckets: [1 3] [NaN 5] [NaN NaN] [Max Max]; the all-NaN bucket is dropped.
	wantMeans := []float64{2, 5, math.MaxFloat64}
	if !slices.Equal(means, wantMeans) || !slices.Equal(lo, []int{0, 2, 6}) || !slices.Equal(hi, []int{2, 4, 8}) {
		t.Errorf("bucketMeans = %v %v %v, want %v [0 2 6] [2 4 8]", means, lo, hi, wantMeans)
	}
}
