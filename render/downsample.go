package render

import "math"

// Downsample picks n of the points (x[i], y[i]) with the
// largest-triangle-three-buckets algorithm (Steinarsson, 2013) and returns
// their indices in increasing order. It always keeps the first and the last
// point, and from each of the n-2 buckets in between the point that makes the
// largest triangle with its neighbours, so peaks and troughs survive and the
// line keeps its shape.
//
// A nil x means x[i] = i, which saves building an index slice for a series
// plotted against its position. Points are taken in the order given; x should
// not decrease. When n >= len(y) every index is returned; n <= 0 returns nil.
// Downsample panics if x is not nil and len(x) != len(y).
func Downsample(x, y []float64, n int) []int {
	if x != nil && len(x) != len(y) {
		panic("render: Downsample with len(x) != len(y)")
	}
	size := len(y)
	switch {
	case n <= 0 || size == 0:
		return nil
	case n >= size:
		idx := make([]int, size)
		for i := range idx {
			idx[i] = i
		}
		return idx
	case n == 1:
		return []int{0}
	case n == 2:
		return []int{0, size - 1}
	}
	idx := make([]int, 0, n)
	idx = append(idx, 0)
	// Buckets split the points between the first and the last into n-2
	// runs of (nearly) equal length.
	every := float64(size-2) / float64(n-2)
	a := 0
	for b := 0; b < n-2; b++ {
		lo := int(float64(b)*every) + 1
		hi := int(float64(b+1)*every) + 1
		nextLo, nextHi := hi, min(int(float64(b+2)*every)+1, size)
		if b == n-3 {
			// The last bucket's neighbour is the last point itself.
			nextLo, nextHi = size-1, size
		}
		cx, cy := mean(x, y, nextLo, nextHi)
		a = largestTriangle(x, y, a, lo, hi, cx, cy)
		idx = append(idx, a)
	}
	return append(idx, size-1)
}

// mean returns the centroid of points lo..hi-1. The loops are written out for
// nil and non-nil x: at a million points a closure call per point would double
// the cost of downsampling.
func mean(x, y []float64, lo, hi int) (cx, cy float64) {
	for _, v := range y[lo:hi] {
		cy += v
	}
	if x == nil {
		cx = float64(lo+hi-1) / 2
	} else {
		for _, v := range x[lo:hi] {
			cx += v
		}
		cx /= float64(hi - lo)
	}
	return cx, cy / float64(hi-lo)
}

// largestTriangle returns the index in lo..hi-1 of the point that makes the
// largest triangle with point a and the centroid (cx, cy).
func largestTriangle(x, y []float64, a, lo, hi int, cx, cy float64) int {
	ax, ay := float64(a), y[a]
	if x != nil {
		ax = x[a]
	}
	best, bestArea := lo, -1.0
	for i := lo; i < hi; i++ {
		xi := float64(i)
		if x != nil {
			xi = x[i]
		}
		// Twice the triangle's area; the factor does not change the winner.
		area := math.Abs((ax-cx)*(y[i]-ay) - (ax-xi)*(cy-ay))
		if area > bestArea {
			best, bestArea = i, area
		}
	}
	return best
}

// bucketMeans splits y into nb runs of (nearly) equal length and returns, for
// each run that has a finite value, the mean of its finite values and the run's
// bounds [lo, hi) as indices into y.
func bucketMeans(y []float64, nb int) (means []float64, lo, hi []int) {
	every := float64(len(y)) / float64(nb)
	for b := 0; b < nb; b++ {
		l, h := int(float64(b)*every), int(float64(b+1)*every)
		if b == nb-1 {
			h = len(y)
		}
		var sum float64
		var cnt int
		for _, v := range y[l:h] {
			if isFinite(v) {
				// Dividing first keeps the sum finite for values near ±MaxFloat64.
				sum += v / float64(h-l)
				cnt++
			}
		}
		if cnt == 0 {
			continue
		}
		means = append(means, sum/float64(cnt)*float64(h-l))
		lo, hi = append(lo, l), append(hi, h)
	}
	return means, lo, hi
}
