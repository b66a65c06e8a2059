package outbound_test

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock whose time moves only when the test fires its earliest timer: a
// retry_after or a backoff then takes no real time, and the time a request went out is
// read on this clock, never on the wall.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
	armed  chan struct{} // a timer was set since the last look
}

type fakeTimer struct {
	at time.Time
	f  func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), armed: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) {
	c.mu.Lock()
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), f: f})
	c.mu.Unlock()
	select {
	case c.armed <- struct{}{}:
	default:
	}
}

// fireNext moves the clock to the earliest timer, if it is later than now, and runs the
// timer; it reports false when no timer is set.
func (c *fakeClock) fireNext() bool {
	c.mu.Lock()
	if len(c.timers) == 0 {
		c.mu.Unlock()
		return false
	}
	first := 0
	for i, t := range c.timers {
		if t.at.Before(c.timers[first].at) {
			first = i
		}
	}
	t := c.timers[first]
	c.timers = append(c.timers[:first], c.timers[first+1:]...)
	if t.at.After(c.now) {
		c.now = t.at
	}
	c.mu.Unlock()
	t.f()
	return true
}

// runUntil fires timers as they are set until done is closed; it fails tb if that takes
// longer than a generous real deadline (a deadlock, not a slow machine).
func (c *fakeClock) runUntil(tb testing.TB, done <-chan struct{}) {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if c.fireNext() {
			continue
		}
		select {
		case <-done:
			return
		case <-c.armed:
		case <-deadline:
			tb.Fatal("the sender did not finish within 30s of real time")
		}
	}
}
