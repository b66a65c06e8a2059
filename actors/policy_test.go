package actors

import (
	"testing"
	"time"
)

// TestBackoff drives the policy with an injected clock: delays double from MinBackoff to the
// MaxBackoff cap, jitter keeps them within bounds, and too many crashes in the window cool
// the actor down.
func TestBackoff(t *testing.T) {
	p := RestartPolicy{MinBackoff: 100 * time.Millisecond, MaxBackoff: 1 * time.Second, Jitter: 0.2, MaxRestarts: 8, Window: time.Minute, CoolDown: time.Minute}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		rnd  float64
		want []time.Duration // delays of crashes 1..8, one second apart
	}{
		{"no jitter at the middle", 0.5, []time.Duration{0, 100, 200, 400, 800, 1000, 1000, 1000}},
		{"shortest", 0, []time.Duration{0, 80, 160, 320, 640, 800, 800, 800}},
		{"longest", 1, []time.Duration{0, 120, 240, 480, 960, 1200, 1200, 1200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f failures
			for i, want := range tt.want {
				delay, cool := p.decide(&f, start.Add(time.Duration(i)*time.Second), tt.rnd)
				if cool {
					t.Fatalf("crash %d: cool-down before the limit", i+1)
				}
				if delay != want*time.Millisecond {
					t.Errorf("crash %d: delay %v, want %v", i+1, delay, want*time.Millisecond)
				}
			}
			if _, cool := p.decide(&f, start.Add(8*time.Second), tt.rnd); !cool {
				t.Error("the 9th crash within the window did not cool down")
			}
		})
	}
}

func TestOldCrashesAgeOut(t *testing.T) {
	p := RestartPolicy{MinBackoff: time.Second, MaxBackoff: time.Minute, MaxRestarts: 3, Window: time.Minute}
	var f failures
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		// Two minutes apart: each crash is the only one in its window.
		delay, cool := p.decide(&f, at.Add(time.Duration(i)*2*time.Minute), 0.5)
		if delay != 0 || cool {
			t.Fatalf("crash %d: delay %v cool %v, want an immediate restart", i, delay, cool)
		}
	}
	if len(f.times) > p.MaxRestarts+1 {
		t.Errorf("kept %d crash times, want at most %d", len(f.times), p.MaxRestarts+1)
	}
	if f.total != 1000 {
		t.Errorf("total = %d", f.total)
	}
}

func TestRestartLogBounded(t *testing.T) {
	var l restartLog
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for k := range int64(10 * topKeys) {
		l.add(k, now)
	}
	l.add(7, now)
	l.add(7, now.Add(31*time.Minute))
	l.add(7, now.Add(90*time.Minute))
	st := l.stats(now.Add(90 * time.Minute))
	if len(l.byKey) > topKeys {
		t.Errorf("%d keys kept, want at most %d", len(l.byKey), topKeys)
	}
	if st.Total != 10*topKeys+3 || st.LastHour != 2 {
		t.Errorf("stats = %+v, want total %d and 2 in the last hour", st, 10*topKeys+3)
	}
	if len(st.Top) == 0 || st.Top[0].Key != 7 {
		t.Errorf("top = %+v, want key 7 first", st.Top)
	}
}
