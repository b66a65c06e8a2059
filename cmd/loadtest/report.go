package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/troupebot/troupe/emulator"
)

// Report is the outcome of one load test. Its JSON form (-json) is a contract: CI and
// docs/loadtest.md read these keys.
type Report struct {
	Bot             string  `json:"bot"`
	BotInProcess    bool    `json:"bot_in_process"`
	Mode            string  `json:"mode"`
	Loop            string  `json:"loop"`
	Users           int     `json:"users"`
	MessagesPerUser int     `json:"messages_per_user"`
	Rate            float64 `json:"rate,omitempty"`
	Mix             string  `json:"mix"`
	ChaosRate       float64 `json:"chaos_rate"`
	Seed            uint64  `json:"seed"`
	// Store is "memory" or "redis"; StoreURL, with its password hidden, when -store gave one.
	Store    string `json:"store"`
	StoreURL string `json:"store_url,omitempty"`

	MessagesSent  int64 `json:"messages_sent"`
	CallbacksSent int64 `json:"callbacks_sent"`
	UpdatesSent   int64 `json:"updates_sent"`
	Replies       int64 `json:"replies"`
	// APIRequests counts every Bot API request the bot made, polls and failures included.
	APIRequests int64 `json:"api_requests"`

	// The audit.
	Missing             int64 `json:"missing"`
	Duplicates          int64 `json:"duplicates"`
	OutOfOrder          int64 `json:"out_of_order"`
	CounterBreaks       int64 `json:"counter_breaks"`
	BadPhotos           int64 `json:"bad_photos"`
	CallbacksAnswered   int64 `json:"callbacks_answered"`
	CallbacksMissing    int64 `json:"callbacks_missing"`
	CallbacksDuplicated int64 `json:"callbacks_duplicated"`
	RateLimitViolations int64 `json:"rate_limit_violations"`
	Unmatched           int64 `json:"unmatched_replies"`
	Photos              int64 `json:"photos"`
	Edits               int64 `json:"edits"`
	TimedOut            int64 `json:"timed_out"`

	// Faults the emulator injected.
	Errors429          int64 `json:"errors_429"`
	Errors5xx          int64 `json:"errors_5xx"`
	Dropped            int64 `json:"dropped_connections"`
	RateLimitsEnforced bool  `json:"rate_limits_enforced"`

	ThroughputUPS float64 `json:"throughput_ups"`
	LatencyMS     Latency `json:"latency_ms"`
	// With 429s: the latency of the users whose chat never got one, and how many they
	// are: what one chat's retry_after must not hold back.
	LatencyNever429MS *Latency `json:"latency_never_429_ms,omitempty"`
	UsersNever429     int      `json:"users_never_429,omitempty"`
	DurationS         float64  `json:"duration_s"`

	BotPeakRSS          int64   `json:"bot_peak_rss_bytes"`
	BotStartRSS         int64   `json:"bot_start_rss_bytes"`
	BotRSSPerUser       float64 `json:"bot_rss_bytes_per_user"`
	BotCPUSeconds       float64 `json:"bot_cpu_seconds"`
	BotCPUPerUpdate     float64 `json:"bot_cpu_us_per_update"`
	HarnessCPUSeconds   float64 `json:"harness_cpu_seconds,omitempty"`
	HarnessCPUPerUpdate float64 `json:"harness_cpu_us_per_update,omitempty"`
	// The redis-server the harness ran for -store redis; absent for a server given by URL.
	RedisCPUSeconds   float64 `json:"redis_cpu_seconds,omitempty"`
	RedisCPUPerUpdate float64 `json:"redis_cpu_us_per_update,omitempty"`
	// A cluster run (-members): each member's part; when a member was killed, when, and how
	// long after the kill the last message then waiting was answered (its users' recovery).
	Members   []MemberReport `json:"members,omitempty"`
	KilledAtS float64        `json:"killed_at_s,omitempty"`
	RecoveryS float64        `json:"recovery_s,omitempty"`
	// DuplicatesAllowed: members were killed, joined or left during the run. Replies are
	// at least once: one in flight at a kill is sent again, and while the cluster moves a
	// user, two activations may both send a reply still in its outbox. Lost, out of order
	// and applied twice stay failures.
	DuplicatesAllowed bool     `json:"duplicates_allowed,omitempty"`
	Machine           Machine  `json:"machine"`
	Interrupted       bool     `json:"interrupted,omitempty"`
	Failures          []string `json:"failures"`
	Pass              bool     `json:"pass"`
	Series            []Second `json:"series"`
}

// measures are what a run measured besides the auditor's counters.
type measures struct {
	elapsed, botCPU, harnessCPU time.Duration
	peakRSS, startRSS           int64
	missing, pressesMissing     int64
	interrupted                 bool
	series                      []Second
}

// newReport assembles the report of a finished run and judges it.
func newReport(cfg config, bot string, inProcess bool, a *auditor, stats emulator.Stats, m measures) *Report {
	r := &Report{
		Bot: bot, BotInProcess: inProcess, Mode: string(cfg.mode), Loop: cfg.loop(),
		Users: cfg.users, MessagesPerUser: cfg.messages, Rate: cfg.rate, Mix: cfg.mix.String(),
		ChaosRate: cfg.chaosRate, Seed: cfg.seed,

		MessagesSent: a.messagesSent.Load(), CallbacksSent: a.pressesSent.Load(),
		Replies: a.replies.Load(), APIRequests: stats.Requests,

		Missing: m.missing, Duplicates: a.duplicates.Load(), OutOfOrder: a.outOfOrder.Load(),
		CounterBreaks: a.counterBreaks.Load(), BadPhotos: a.badPhotos.Load(),
		CallbacksAnswered: a.callbackAnswers.Load(), CallbacksMissing: m.pressesMissing,
		// The emulator refuses a second answer to a query, as Telegram does, so duplicates
		// are counted there.
		CallbacksDuplicated: stats.RefusedAnswers,
		RateLimitViolations: stats.LimitViolations,
		Unmatched:           a.unmatched.Load(), Photos: a.photos.Load(), Edits: a.edits.Load(),
		TimedOut: a.timedOut.Load(),

		Errors429: stats.Injected429 + stats.LimitViolations, Errors5xx: stats.Injected5xx,
		Dropped: stats.Dropped, RateLimitsEnforced: cfg.enforceLimits,

		LatencyMS: a.lat.total(), DurationS: round2(m.elapsed.Seconds()),
		BotPeakRSS: m.peakRSS, BotStartRSS: m.startRSS, BotCPUSeconds: round2(m.botCPU.Seconds()),
		Machine: machine(), Interrupted: m.interrupted, Series: m.series,
	}
	if r.Errors429 > 0 {
		l, n := a.never429()
		r.LatencyNever429MS, r.UsersNever429 = &l, n
	}
	r.UpdatesSent = r.MessagesSent + r.CallbacksSent
	done := a.answered.Load() + a.pressesAnswered.Load()
	if last := time.Duration(a.lastAnswer.Load()); last > 0 {
		r.ThroughputUPS = round2(float64(done) / last.Seconds())
	}
	if r.UpdatesSent > 0 {
		perUpdate := func(d time.Duration) float64 { return round2(float64(d.Microseconds()) / float64(r.UpdatesSent)) }
		r.BotCPUPerUpdate = perUpdate(m.botCPU)
		if !inProcess {
			r.HarnessCPUSeconds, r.HarnessCPUPerUpdate = round2(m.harnessCPU.Seconds()), perUpdate(m.harnessCPU)
		}
	}
	r.Store = "memory" // setStore tells otherwise
	r.BotRSSPerUser = round2(float64(max(m.peakRSS-m.startRSS, 0)) / float64(cfg.users))
	r.judge()
	return r
}

// setStore records the run's store, and the CPU the harness's redis-server used in the load
// phase.
func (r *Report) setStore(st *storeRun, cpu time.Duration) {
	r.Store = st.kind
	if st.url != "" && !st.ours() {
		r.StoreURL = redactURL(st.url)
	}
	if st.ours() {
		r.RedisCPUSeconds = round2(cpu.Seconds())
		if r.UpdatesSent > 0 {
			r.RedisCPUPerUpdate = round2(float64(cpu.Microseconds()) / float64(r.UpdatesSent))
		}
	}
}

// Machine is where the figures were measured.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
}

// judge lists the audit rules the run broke; the run passes when there are none.
func (r *Report) judge() {
	r.Failures = []string{}
	dups := r.Duplicates
	if r.DuplicatesAllowed {
		dups = 0
	}
	for _, c := range []struct {
		name string
		n    int64
	}{
		{"missing", r.Missing}, {"duplicates", dups}, {"out_of_order", r.OutOfOrder},
		{"counter_breaks", r.CounterBreaks}, {"bad_photos", r.BadPhotos},
		{"callbacks_missing", r.CallbacksMissing}, {"callbacks_duplicated", r.CallbacksDuplicated},
		{"rate_limit_violations", r.RateLimitViolations},
	} {
		if c.n > 0 {
			r.Failures = append(r.Failures, c.name)
		}
	}
	r.Pass = len(r.Failures) == 0
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write the JSON report: %w", err)
	}
	return nil
}

// writeText prints the human summary.
func (r *Report) writeText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	loop := "closed loop"
	if r.Loop == "open" {
		loop = fmt.Sprintf("open loop at %g updates/s", r.Rate)
	}
	p("Load test of %s: %s, %s store, %s, %d users × %d messages, chaos %g%%, mix %s",
		r.Bot, r.Mode, r.Store, loop, r.Users, r.MessagesPerUser, 100*r.ChaosRate, r.Mix)
	if r.Interrupted {
		p("  INTERRUPTED: the figures cover the run until then")
	}
	p("  sent        %d messages + %d button presses in %.2f s", r.MessagesSent, r.CallbacksSent, r.DurationS)
	p("  answers     %d replies (%d photos), %d callback answers, %d edits", r.Replies, r.Photos, r.CallbacksAnswered, r.Edits)
	p("  throughput  %.0f updates/s", r.ThroughputUPS)
	l := r.LatencyMS
	p("  latency     p50 %.2f ms · p90 %.2f ms · p99 %.2f ms · max %.2f ms", l.P50, l.P90, l.P99, l.Max)
	if l := r.LatencyNever429MS; l != nil {
		p("              %d users never answered 429: p50 %.2f ms · p90 %.2f ms · p99 %.2f ms · max %.2f ms", r.UsersNever429, l.P50, l.P90, l.P99, l.Max)
	}
	limits := "not enforced"
	if r.RateLimitsEnforced {
		limits = fmt.Sprintf("enforced, %d violations", r.RateLimitViolations)
	}
	p("  faults      %d × 429, %d × 5xx, %d dropped connections; rate limits %s", r.Errors429, r.Errors5xx, r.Dropped, limits)
	where := ""
	if r.BotInProcess {
		where = " (in-process: includes the emulator and the harness)"
	}
	p("  bot         CPU %.2f s, %.0f µs/update%s", r.BotCPUSeconds, r.BotCPUPerUpdate, where)
	p("              RSS peak %s, %s at start, %.0f bytes/user more", mib(r.BotPeakRSS), mib(r.BotStartRSS), r.BotRSSPerUser)
	if !r.BotInProcess {
		p("  harness     CPU %.2f s, %.0f µs/update (emulator and simulated users)", r.HarnessCPUSeconds, r.HarnessCPUPerUpdate)
	}
	switch {
	case r.StoreURL != "":
		p("  store       %s (not measured: not run by the harness)", r.StoreURL)
	case r.Store == "redis":
		p("  redis       CPU %.2f s, %.0f µs/update (redis-server run by the harness)", r.RedisCPUSeconds, r.RedisCPUPerUpdate)
	}
	for _, m := range r.Members {
		ev := ""
		if m.EventWhat != "" {
			ev = fmt.Sprintf(", %s at %.1f s", m.EventWhat, m.EventAtSeconds)
		}
		p("  member %d   %s%s: handled %d (%.0f%%), %d users hosted at most, CPU %.2f s, %.0f µs/update handled, %d forwards (%d retried)",
			m.Index, m.State, ev, m.Handled, 100*m.UpdatesPerShare, m.Hosted, m.CPUSeconds, m.CPUPerUpdateUS, m.Forwards, m.ForwardRetries)
	}
	if r.KilledAtS > 0 {
		p("  recovery    the last message waiting when a member was killed (%.1f s) was answered %.2f s after", r.KilledAtS, r.RecoveryS)
	}
	if r.DuplicatesAllowed {
		p("  note        members changed during the run: %d duplicate replies allowed (at least once)", r.Duplicates)
	}
	if r.TimedOut > 0 || r.Unmatched > 0 {
		p("  notes       %d waits timed out; %d replies named no message sent", r.TimedOut, r.Unmatched)
	}
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL (" + strings.Join(r.Failures, ", ") + ")"
	}
	p("audit: %s", verdict)
	p("  missing %d · duplicates %d · out of order %d · counter breaks %d · bad photos %d",
		r.Missing, r.Duplicates, r.OutOfOrder, r.CounterBreaks, r.BadPhotos)
	p("  buttons pressed %d: unanswered %d · answered twice %d", r.CallbacksSent, r.CallbacksMissing, r.CallbacksDuplicated)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// machine describes this machine for the report.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU()}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			m.CPUModel = strings.TrimSpace(v)
			break
		}
	}
	return m
}
