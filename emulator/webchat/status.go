package webchat

import (
	"context"
	"fmt"
	"sync"

	"github.com/troupebot/troupe/render"
)

// Figures are the operator's numbers the page shows: the bot's /status, as values.
type Figures struct {
	Resident    int64 `json:"resident"`
	Spawned     int64 `json:"spawned"`
	Passivated  int64 `json:"passivated"`
	Restarts    int64 `json:"restarts"`
	CoolingDown int64 `json:"cooling_down"`
	// ChartP50 and ChartP99 are chart latencies since the start, in milliseconds.
	ChartP50 float64 `json:"chart_p50_ms"`
	ChartP99 float64 `json:"chart_p99_ms"`
	Replies  int64   `json:"replies"`  // requests the Bot API accepted
	TooMany  int64   `json:"too_many"` // 429 answers
	Updates  int64   `json:"updates"`  // updates handed to actors
}

// Status gives the operator's figures now. cmd/bot implements it from the bot's
// Snapshot, so this package needs no bot package.
type Status interface {
	Figures() Figures
}

// StatusFunc adapts a function to Status.
type StatusFunc func() Figures

// Figures calls f.
func (f StatusFunc) Figures() Figures { return f() }

// throughputWindow is how many one-second samples the throughput chart shows.
const throughputWindow = 60

// throughput keeps the replies sent in each of the last throughputWindow seconds and the
// chart of them, drawn when asked for and kept until the samples change.
type throughput struct {
	mu      sync.Mutex
	last    int64 // Figures.Replies at the previous sample
	started bool
	perSec  []float64
	version int64 // bumped when perSec changes what the chart shows
	png     []byte
	pngOf   int64 // the version png was drawn for
}

// sample records replies, the cumulative count, and reports whether the chart changed. A
// minute of idle seconds after idle seconds draws the same chart, so it is not changed.
func (t *throughput) sample(replies int64) (changed bool, version int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		t.started, t.last = true, replies
		t.perSec = make([]float64, throughputWindow)
		t.version = 1
		return true, t.version
	}
	n := float64(replies - t.last)
	t.last = replies
	allZero := n == 0
	for _, v := range t.perSec {
		allZero = allZero && v == 0
	}
	copy(t.perSec, t.perSec[1:])
	t.perSec[len(t.perSec)-1] = n
	if !allZero {
		t.version++
	}
	return !allZero, t.version
}

// chart returns the PNG of the current samples and their version.
func (t *throughput) chart(ctx context.Context) ([]byte, int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.png != nil && t.pngOf == t.version {
		return t.png, t.version, nil
	}
	values := t.perSec
	if values == nil {
		values = make([]float64, throughputWindow)
	}
	png, err := render.Render(ctx, render.Series{Values: append([]float64(nil), values...)}, render.Options{
		Kind:   render.Line,
		Title:  "Replies per second, last minute",
		XLabel: "seconds",
		YLabel: "replies/s",
		Width:  480, Height: 260,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("webchat: draw the throughput chart (version %d): %w", t.version, err)
	}
	t.png, t.pngOf = png, t.version
	return png, t.version, nil
}

// current returns the chart's version now.
func (t *throughput) current() (started bool, version int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.started, t.version
}
