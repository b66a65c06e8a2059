package main

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// maxLatency is the largest latency the histograms tell apart; longer ones count as this.
const maxLatency = 5 * time.Minute

// latencies records reply latencies in µs: over the whole run and over the current second.
type latencies struct {
	mu     sync.Mutex
	all    *hdrhistogram.Histogram
	window *hdrhistogram.Histogram
}

func newLatencies() *latencies {
	return &latencies{
		all:    hdrhistogram.New(1, maxLatency.Microseconds(), 3),
		window: hdrhistogram.New(1, maxLatency.Microseconds(), 3),
	}
}

func (l *latencies) record(d time.Duration) {
	us := min(max(d.Microseconds(), 1), maxLatency.Microseconds())
	l.mu.Lock()
	l.all.RecordValue(us)
	l.window.RecordValue(us)
	l.mu.Unlock()
}

// Latency is a latency summary in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func summarize(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P99:  ms(h.ValueAtQuantile(99)),
		Max:  ms(h.Max()),
		Mean: round2(h.Mean() / 1000),
	}
}

// total summarizes the whole run so far.
func (l *latencies) total() Latency {
	l.mu.Lock()
	defer l.mu.Unlock()
	return summarize(l.all)
}

// cut summarizes the current window and starts the next.
func (l *latencies) cut() Latency {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := summarize(l.window)
	l.window.Reset()
	return s
}

func ms(us int64) float64 { return round2(float64(us) / 1000) }

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// Second is one second of the load phase: the time series a plot of latency and
// throughput over time is drawn from.
type Second struct {
	T        float64 `json:"t"`        // end of the interval, in seconds since the load started
	Sent     int64   `json:"sent"`     // updates sent in the interval
	Answered int64   `json:"answered"` // updates answered (first reply) in the interval
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
}

// timeline cuts the run into seconds.
type timeline struct {
	a                  *auditor
	seconds            []Second
	lastSent, lastDone int64
}

// cut closes the interval ending now (at, since the run started).
func (t *timeline) cut(at time.Duration) Second {
	sent := t.a.messagesSent.Load() + t.a.pressesSent.Load()
	done := t.a.answered.Load() + t.a.pressesAnswered.Load()
	l := t.a.lat.cut()
	s := Second{T: round2(at.Seconds()), Sent: sent - t.lastSent, Answered: done - t.lastDone, P50: l.P50, P99: l.P99, Max: l.Max}
	t.lastSent, t.lastDone = sent, done
	t.seconds = append(t.seconds, s)
	return s
}
