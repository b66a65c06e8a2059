package actors

import (
	"time"

	"github.com/troupebot/troupe/internal/backoff"
)

// RestartPolicy is how a shard supervises its user actors, in the manner of Erlang/OTP's
// restart intensity and Akka's backoff supervisor: a crashed actor restarts after a delay
// that doubles with each recent crash (MinBackoff, 2×, 4× … up to MaxBackoff, each
// stretched or shrunk by up to Jitter), and an actor that crashes more than MaxRestarts
// times within Window is stopped for CoolDown instead of restarting for ever.
type RestartPolicy struct {
	MinBackoff  time.Duration
	MaxBackoff  time.Duration
	Jitter      float64 // 0..1: the delay is multiplied by a random factor in [1-Jitter, 1+Jitter]
	MaxRestarts int
	Window      time.Duration
	CoolDown    time.Duration
}

// DefaultRestartPolicy restarts at once on a first crash (a crash is usually one bad
// update), backs off from 100 ms to 5 s when crashes repeat, and pauses a user for a minute
// after 5 crashes in a minute.
var DefaultRestartPolicy = RestartPolicy{
	MinBackoff:  100 * time.Millisecond,
	MaxBackoff:  5 * time.Second,
	Jitter:      0.2,
	MaxRestarts: 5,
	Window:      time.Minute,
	CoolDown:    time.Minute,
}

func (p RestartPolicy) withDefaults() RestartPolicy {
	d := DefaultRestartPolicy
	if p.MinBackoff <= 0 {
		p.MinBackoff = d.MinBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = d.MaxBackoff
	}
	p.MaxBackoff = max(p.MaxBackoff, p.MinBackoff)
	p.Jitter = min(max(p.Jitter, 0), 1)
	if p.MaxRestarts <= 0 {
		p.MaxRestarts = d.MaxRestarts
	}
	if p.Window <= 0 {
		p.Window = d.Window
	}
	if p.CoolDown <= 0 {
		p.CoolDown = d.CoolDown
	}
	return p
}

// failures remembers the newest crash times of one actor: only as many as the policy can
// ever look at (MaxRestarts+1), so its memory is bounded whatever the actor does.
type failures struct {
	times []time.Time // ring
	next  int
	total int64
}

// record adds a crash at now and returns how many crashes fall within window of now.
func (f *failures) record(now time.Time, window time.Duration, keep int) int {
	if len(f.times) < keep {
		f.times = append(f.times, now)
	} else {
		f.times[f.next] = now
		f.next = (f.next + 1) % keep
	}
	f.total++
	n := 0
	for _, t := range f.times {
		if now.Sub(t) < window {
			n++
		}
	}
	return n
}

// decide records a crash at now and says what to do: restart after delay, or, past
// MaxRestarts crashes within Window, cool down. rnd is a uniform random number in [0,1)
// for the jitter.
func (p RestartPolicy) decide(f *failures, now time.Time, rnd float64) (delay time.Duration, coolDown bool) {
	recent := f.record(now, p.Window, p.MaxRestarts+1)
	if recent > p.MaxRestarts {
		return 0, true
	}
	if recent == 1 {
		return 0, false
	}
	return p.backoff(recent-1, rnd), false
}

// backoff is the delay before the restart after the n-th repeated crash (n >= 1):
// MinBackoff·2^(n-1), capped at MaxBackoff, then jittered.
func (p RestartPolicy) backoff(n int, rnd float64) time.Duration {
	return backoff.Policy{Initial: p.MinBackoff, Max: p.MaxBackoff, Jitter: p.Jitter}.Delay(n, rnd)
}
