package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/troupebot/troupe/internal/backoff"
)

func TestDelay(t *testing.T) {
	ms := time.Millisecond
	exp := backoff.Policy{Initial: 100 * ms, Max: time.Second}
	lin := backoff.Policy{Initial: time.Second, Max: 30 * time.Second, Linear: true}
	jit := backoff.Policy{Initial: 100 * ms, Max: time.Second, Jitter: 0.2}
	tests := []struct {
		name string
		p    backoff.Policy
		rnd  float64
		want []time.Duration // delays after failures 1, 2, 3 …
	}{
		{"doubling to the cap", exp, 0.9, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}},
		{"linear to the cap", lin, 0.1, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
		{"jitter at the middle", jit, 0.5, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second}},
		{"jitter at its lowest", jit, 0, []time.Duration{80 * ms, 160 * ms, 320 * ms, 640 * ms, 800 * ms}},
		{"jitter at its highest", jit, 1, []time.Duration{120 * ms, 240 * ms, 480 * ms, 960 * ms, 1200 * ms}},
		{"max below initial", backoff.Policy{Initial: time.Second, Max: ms}, 0.5, []time.Duration{time.Second, time.Second}},
		{"zero policy", backoff.Policy{}, 0.5, []time.Duration{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				if got := tt.p.Delay(i+1, tt.rnd); got != want {
					t.Errorf("Delay(%d, %v) = %v, want %v", i+1, tt.rnd, got, want)
				}
			}
		})
	}
}

func TestDelayEdges(t *testing.T) {
	p := backoff.Policy{Initial: time.Second, Max: 30 * time.Second}
	if got := p.Delay(0, 0.5); got != 0 {
		t.Errorf("Delay(0) = %v, want 0: nothing failed yet", got)
	}
	for _, pol := range []backoff.Policy{p, {Initial: time.Second, Max: 30 * time.Second, Linear: true}} {
		// A count that would overflow a shift or a product still gives the cap.
		if got := pol.Delay(math.MaxInt, 0.5); got != 30*time.Second {
			t.Errorf("%+v: Delay(MaxInt) = %v, want the 30s cap", pol, got)
		}
		if got := pol.Delay(31, 0.5); got != 30*time.Second {
			t.Errorf("%+v: Delay(31) = %v, want the 30s cap", pol, got)
		}
	}
	if got := (backoff.Policy{Initial: time.Second, Max: time.Second, Jitter: 7}).Delay(1, 0); got != 0 {
		t.Errorf("jitter above 1 gave %v at rnd 0, want it taken as 1 (a delay of 0)", got)
	}
}

func TestSleep(t *testing.T) {
	if err := backoff.Sleep(context.Background(), time.Microsecond); err != nil {
		t.Errorf("Sleep over its delay = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// An hour: the test passes only because cancellation ends the wait.
	if err := backoff.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep with ctx done = %v, want context.Canceled", err)
	}
	if err := backoff.Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(0) with ctx done = %v, want context.Canceled", err)
	}
	if err := backoff.Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0) = %v, want nil", err)
	}
}

// The sender's retries after a 5xx: 100–200 ms at first, doubling, to 15–30 s.
func ExamplePolicy_Delay() {
	p := backoff.Policy{Initial: 150 * time.Millisecond, Max: 22500 * time.Millisecond, Jitter: 1.0 / 3}
	for _, n := range []int{1, 2, 3, 9, 10} {
		fmt.Printf("after %d failures: %v to %v\n", n, p.Delay(n, 0), p.Delay(n, 1))
	}
	// Output:
	// after 1 failures: 100ms to 200ms
	// after 2 failures: 200ms to 400ms
	// after 3 failures: 400ms to 800ms
	// after 9 failures: 15s to 30s
	// after 10 failures: 15s to 30s
}
