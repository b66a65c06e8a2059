package backoff

import (
	"context"
	"time"
)

// Policy is a capped backoff. The zero value waits nothing.
type Policy struct {
	// Initial is the delay after the first failure.
	Initial time.Duration
	// Max caps the delay before jitter (as gRPC's and cenkalti's backoffs do), so a jittered
	// delay may reach Max·(1+Jitter); below Initial it means Initial.
	Max time.Duration
	// Linear grows the delay by Initial with each failure (1, 2, 3 … times Initial) instead
	// of doubling it.
	Linear bool
	// Jitter, 0 to 1, multiplies the delay by a random factor in [1-Jitter, 1+Jitter].
	Jitter float64
}

// Delay is the wait after the n-th failure in a row (n ≥ 1; 0 for n < 1). rnd is a uniform
// random number in [0, 1), such as math/rand/v2's Float64; 0.5 is the delay unjittered.
func (p Policy) Delay(n int, rnd float64) time.Duration {
	if n < 1 || p.Initial <= 0 {
		return 0
	}
	limit := max(p.Max, p.Initial)
	d := p.Initial
	switch {
	case p.Linear && n > int(limit/p.Initial):
		d = limit
	case p.Linear:
		d = p.Initial * time.Duration(n)
	default:
		for i := 1; i < n && d < limit; i++ {
			d *= 2
		}
	}
	d = min(d, limit)
	if j := min(max(p.Jitter, 0), 1); j > 0 {
		d = time.Duration(float64(d) * (1 + j*(2*rnd-1)))
	}
	return d
}

// Sleep waits d, or until ctx is done if that comes first; then it returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
