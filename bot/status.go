package bot

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/bot/outbound"
)

// Snapshot is everything the operator's view shows: /status, /metrics.
type Snapshot struct {
	Version       string
	App           string // App.Name
	Uptime        time.Duration
	Runtime       actors.Stats
	Sender        outbound.Stats
	Intake        IntakeStats
	Store         StoreStats
	Journal       JournalStats
	Lease         LeaseStats
	Charts        actors.PoolStats
	Cluster       ClusterStats
	ChartLatency  Histogram // seconds from chart request to answer, since the start
	UpdatesPerSec float64   // over the last minute
	RepliesPerSec float64
	HeapBytes     uint64
	RSSBytes      uint64 // 0 where /proc is not readable
	Goroutines    int
}

// Snapshot gathers the bot's figures now.
func (b *Bot) Snapshot() Snapshot {
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	in, out := b.meter.rates()
	return Snapshot{
		Version:       b.cfg.Version,
		App:           b.app,
		Uptime:        time.Since(b.started),
		Runtime:       b.runtime.Stats(),
		Sender:        b.sender.Stats(),
		Intake:        b.intakeStats(),
		Store:         b.storeStats(),
		Journal:       b.journalStats(),
		Lease:         b.leaseStats(),
		Charts:        b.charts.Stats(),
		Cluster:       b.clusterStats(false),
		ChartLatency:  readHistogram(b.chartLatency),
		UpdatesPerSec: in,
		RepliesPerSec: out,
		HeapBytes:     mem.HeapAlloc,
		RSSBytes:      rss(),
		Goroutines:    runtime.NumGoroutine(),
	}
}

// StoreStats is the context store's health; its counters are the Runtime's.
type StoreStats struct {
	Kind string // "memory" or "durable"
	Err  string // why it cannot be used now; empty when it can
}

func (b *Bot) storeStats() StoreStats {
	st := StoreStats{Kind: b.store.kind}
	if err := b.StoreErr(); err != nil {
		st.Err = err.Error()
	}
	return st
}

// IntakeStats is how updates arrive, in either mode.
type IntakeStats struct {
	Mode        string // "polling" or "webhook"
	Received    int64  // updates fetched or posted, re-sent ones included
	InFlight    int    // delivered and not finished
	Duplicates  int64  // re-sent updates recognised and skipped
	Undecodable int64  // updates skipped because they could not be decoded
	Refused     int64  // webhook requests refused, for any reason (secret, size, JSON, draining, journal …)
}

func (b *Bot) intakeStats() IntakeStats {
	if b.webhook != nil {
		w := b.webhook.Stats()
		st := IntakeStats{Mode: "webhook", Received: w.Received, InFlight: w.InFlight, Duplicates: w.Duplicates, Undecodable: w.Undecodable}
		for _, n := range w.Rejected.ByReason() {
			st.Refused += n
		}
		return st
	}
	p := b.poller.Stats()
	return IntakeStats{Mode: "polling", Received: p.Fetched, InFlight: p.InFlight, Duplicates: p.Duplicates, Undecodable: p.Undecodable}
}

// JournalStats is the intake journal's size, bounds and refusals; zero without a journal.
type JournalStats struct {
	intake.JournalStats
	On      bool   // the bot has a journal
	Refused int64  // updates the journal could not take (webhook 503s; polled updates per try)
	Err     string // why its size could not be read; the figures are then 0
}

// journalStatsWithin bounds reading the journal's size, so that /status and /metrics answer
// while Redis does not.
const journalStatsWithin = 500 * time.Millisecond

// journalSizer is a Journal that can tell its size (actorstore's).
type journalSizer interface {
	Stats(ctx context.Context) (intake.JournalStats, error)
}

func (b *Bot) journalStats() JournalStats {
	if b.cfg.Journal == nil {
		return JournalStats{}
	}
	st := JournalStats{On: true}
	if b.webhook != nil {
		st.Refused = b.webhook.Stats().Rejected.Journal
	} else {
		st.Refused = b.poller.Stats().Refused
	}
	if js, ok := b.cfg.Journal.(journalSizer); ok {
		ctx, cancel := context.WithTimeout(context.Background(), journalStatsWithin)
		defer cancel()
		var err error
		if st.JournalStats, err = js.Stats(ctx); err != nil {
			st.Err = err.Error()
		}
	}
	return st
}

// Status is the supervisor's report for /status: short enough for a phone screen. In a
// cluster it asks every member for its share of the users.
func (b *Bot) Status() string {
	s := b.Snapshot()
	s.Cluster = b.clusterStats(true)
	return s.String()
}

func (b *Bot) clusterStats(shares bool) ClusterStats {
	if b.cfg.Cluster == nil {
		return ClusterStats{}
	}
	st := b.cfg.Cluster.Stats(shares)
	st.On = true
	return st
}

// LeaseStats is the polling lease as this process and the store see it; zero without one.
type LeaseStats struct {
	On   bool // the bot polls under a lease
	Held bool // this process holds it: it polls, the others stand by
	// Holder, Token and Left are the store's: who holds the lease, the last token handed
	// out, and how long until it expires unless renewed. Holder is "" while it is free.
	Holder string
	Token  int64
	Left   time.Duration
	// Acquired and Lost count this process's acquisitions and losses (a release at
	// shutdown is no loss).
	Acquired, Lost int64
	Err            string // why the store's view could not be read
}

// leaseReader is a Lease that can say who holds it (actorstore's).
type leaseReader interface {
	State(ctx context.Context) (holder string, token int64, left time.Duration, err error)
}

func (b *Bot) leaseStats() LeaseStats {
	if b.poller == nil {
		return LeaseStats{}
	}
	p := b.poller.Stats()
	if !p.Leased {
		return LeaseStats{}
	}
	st := LeaseStats{On: true, Held: p.LeaseHeld, Acquired: p.LeaseAcquired, Lost: p.LeaseLost}
	if lr, ok := b.cfg.Lease.(leaseReader); ok {
		ctx, cancel := context.WithTimeout(context.Background(), journalStatsWithin)
		defer cancel()
		var err error
		if st.Holder, st.Token, st.Left, err = lr.State(ctx); err != nil {
			st.Err = err.Error()
		}
	}
	return st
}

func (s Snapshot) String() string {
	r := s.Runtime
	var sb strings.Builder
	fmt.Fprintf(&sb, "Troupe %s · up %s\n", s.Version, s.Uptime.Round(time.Second))
	fmt.Fprintf(&sb, "actors: %d resident · %d spawned · %d passivated\n", r.Resident, r.Spawned, r.Passivated)
	fmt.Fprintf(&sb, "restarts: %d total · %d last hour · %d cooling down\n", r.Restarts.Total, r.Restarts.LastHour, r.CoolingDown)
	if len(r.Restarts.Top) > 0 {
		top := make([]string, len(r.Restarts.Top))
		for i, kc := range r.Restarts.Top {
			top[i] = fmt.Sprintf("%d (%d)", kc.Key, kc.Count)
		}
		fmt.Fprintf(&sb, "most restarts: %s\n", strings.Join(top, ", "))
	}
	in := s.Intake
	fmt.Fprintf(&sb, "%s: %d in flight · %d in mailboxes · %d duplicates · %d refused\n", in.Mode, in.InFlight, r.Backlog, in.Duplicates, in.Refused+in.Undecodable)
	if st := s.Store; st.Kind != "memory" {
		health := "up"
		if st.Err != "" {
			health = "DOWN (" + st.Err + ")"
		}
		fmt.Fprintf(&sb, "store: %s · %d errors · %d not kept · %d stale · %d duplicates · %d resent · %d corrupt\n",
			health, r.StoreErrors, r.NotKept, r.Stale, r.Duplicates, r.Resent, r.Corrupt)
		if r.Vanished > 0 {
			fmt.Fprintf(&sb, "store LOST DATA: %d user records vanished (FLUSHALL?); those in memory were written back, others started afresh\n", r.Vanished)
		}
	}
	if j := s.Journal; j.On {
		if j.Err != "" {
			fmt.Fprintf(&sb, "journal: unreadable (%s) · %d refused\n", j.Err, j.Refused)
		} else {
			fmt.Fprintf(&sb, "journal: %d of %d updates · %s of %s · %d refused\n", j.Len, j.Cap, mib(uint64(j.Bytes)), mib(uint64(j.MaxBytes)), j.Refused)
		}
	}
	if l := s.Lease; l.On {
		role := "this process stands by"
		if l.Held {
			role = "this process polls"
		}
		switch {
		case l.Err != "":
			fmt.Fprintf(&sb, "polling lease: unreadable (%s) · %s", l.Err, role)
		case l.Holder == "":
			fmt.Fprintf(&sb, "polling lease: free (last token %d) · %s", l.Token, role)
		default:
			fmt.Fprintf(&sb, "polling lease: %s (token %d, %s left) · %s", l.Holder, l.Token, l.Left.Round(100*time.Millisecond), role)
		}
		fmt.Fprintf(&sb, " · acquired %d · lost %d\n", l.Acquired, l.Lost)
	}
	sb.WriteString(s.Cluster.String())
	c := s.Charts
	p50, p99 := s.ChartLatency.Quantile(0.5), s.ChartLatency.Quantile(0.99)
	fmt.Fprintf(&sb, "charts: %d queued of %d · p50 %s p99 %s since start · %d busy\n", c.Queued, c.Capacity, ms(p50), ms(p99), c.Busy)
	fmt.Fprintf(&sb, "last minute: %.1f updates/s in · %.1f replies/s out\n", s.UpdatesPerSec, s.RepliesPerSec)
	fmt.Fprintf(&sb, "replies: %d sent · %d failed · %d queued\n", s.Sender.Sent, s.Sender.Failed, s.Sender.Queued)
	fmt.Fprintf(&sb, "telegram: %d × 429 · %d retries · %d throttled users' updates\n", s.Sender.TooMany, s.Sender.Retried, r.Throttled)
	fmt.Fprintf(&sb, "memory: heap %s · RSS %s · %d goroutines", mib(s.HeapBytes), mib(s.RSSBytes), s.Goroutines)
	return sb.String()
}

func ms(seconds float64) string {
	return strconv.FormatFloat(seconds*1000, 'f', 1, 64) + "ms"
}

// Histogram is a Prometheus histogram's counts at one moment: Cumulative[i] observations
// were at most Bounds[i]; Count includes those above the last bound.
type Histogram struct {
	Count      uint64
	Sum        float64
	Bounds     []float64
	Cumulative []uint64
}

// Quantile estimates the q-quantile (0 < q < 1) as Prometheus's histogram_quantile does:
// it finds the bucket holding the q·Count-th observation and interpolates linearly within
// it (from 0 in the first bucket). A quantile above the last bound is that bound; with no
// observations it is 0.
func (h Histogram) Quantile(q float64) float64 {
	if h.Count == 0 || len(h.Bounds) == 0 {
		return 0
	}
	rank := q * float64(h.Count)
	lower, below := 0.0, uint64(0)
	for i, upper := range h.Bounds {
		if in := h.Cumulative[i] - below; float64(h.Cumulative[i]) >= rank && in > 0 {
			return lower + (upper-lower)*(rank-float64(below))/float64(in)
		}
		lower, below = upper, h.Cumulative[i]
	}
	return h.Bounds[len(h.Bounds)-1]
}

func mib(b uint64) string {
	if b == 0 {
		return "?"
	}
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB"
}

// rss reads the resident set size from /proc/self/status (Linux only).
func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// counts are the cumulative totals the meter turns into rates.
func (b *Bot) counts() (updates, replies int64) {
	return b.runtime.Stats().Delivered, b.sender.Stats().Sent
}

// meter samples cumulative counts once a second, keeping a minute of samples, so rates
// over the last minute cost nothing on the hot path.
type meter struct {
	read    func() (int64, int64)
	mu      sync.Mutex
	samples []sample // ring, oldest first after rotation
	quit    chan struct{}
	once    sync.Once
}

type sample struct {
	at      time.Time
	in, out int64
}

const meterWindow = 60

func newMeter(read func() (int64, int64)) *meter {
	m := &meter{read: read, samples: make([]sample, 0, meterWindow+1), quit: make(chan struct{})}
	m.take(time.Now())
	go m.loop()
	return m
}

func (m *meter) loop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			m.take(now)
		case <-m.quit:
			return
		}
	}
}

func (m *meter) take(now time.Time) {
	in, out := m.read()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.samples) == meterWindow+1 {
		copy(m.samples, m.samples[1:])
		m.samples = m.samples[:meterWindow]
	}
	m.samples = append(m.samples, sample{at: now, in: in, out: out})
}

// rates returns updates in and replies out per second between the oldest sample kept and
// now.
func (m *meter) rates() (in, out float64) {
	nowIn, nowOut := m.read()
	m.mu.Lock()
	oldest := m.samples[0]
	m.mu.Unlock()
	secs := time.Since(oldest.at).Seconds()
	if secs < 1 {
		return 0, 0
	}
	return float64(nowIn-oldest.in) / secs, float64(nowOut-oldest.out) / secs
}

func (m *meter) stop() { m.once.Do(func() { close(m.quit) }) }
