package bot_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/bot/ops"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/examples/echo"
)

func send(tb testing.TB, emu *emulator.Server, user int64, text string) {
	tb.Helper()
	p, err := emu.SendText(user, text)
	if err != nil {
		tb.Fatal(err)
	}
	waitConfirmed(tb, emu, p.UpdateID)
}

func lastText(emu *emulator.Server, chat int64) string {
	sent := emu.Sent()
	for i := len(sent) - 1; i >= 0; i-- {
		if sent[i].ChatID == chat {
			return sent[i].Text
		}
	}
	return ""
}

// TestCrashLoopOperatorView has one user crash on every message until the cool-down, while
// another carries on; /status and /metrics show what the supervisor did.
func TestCrashLoopOperatorView(t *testing.T) {
	const admin, looping, other = 9, 100, 200
	emu, b := startBotWith(t, bot.Config{
		Version: "v-test",
		Restart: actors.RestartPolicy{MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxRestarts: 3, Window: time.Minute, CoolDown: time.Hour},
	}, notebook.New(notebook.Options{Chaos: true, Admins: []int64{admin}}))
	for i := range 4 {
		send(t, emu, looping, "panic")
		send(t, emu, other, "hi")
		if i < 3 && !strings.HasPrefix(lastText(emu, looping), "Sorry, something went wrong") {
			t.Fatalf("crash %d answered %q", i+1, lastText(emu, looping))
		}
	}
	if got := lastText(emu, looping); !strings.Contains(got, "pausing for 1 hour") {
		t.Fatalf("the 4th crash answered %q, want the pause notice", got)
	}
	before := len(emu.Sent())
	send(t, emu, looping, "hi")
	if len(emu.Sent()) != before {
		t.Error("a paused user got a reply")
	}
	if got := lastText(emu, other); !strings.HasPrefix(got, "“hi” is not a number") {
		t.Errorf("the other user's 4th reply is %q, want the notebook's answer", got)
	}

	send(t, emu, admin, "/status")
	status := lastText(emu, admin)
	for _, want := range []string{
		"Troupe v-test · up ",
		"actors: 2 resident · 3 spawned · 1 passivated", // the looping actor stopped for its pause
		"restarts: 4 total · 4 last hour · 1 cooling down",
		"most restarts: 100 (4)",
		"polling: 1 in flight · 0 in mailboxes · ", // the /status update itself
		"last minute: ",
		"replies: ",
		"memory: heap ",
	} {
		if !strings.Contains(status, want) {
			t.Errorf("/status lacks %q:\n%s", want, status)
		}
	}
	if n := len(strings.Split(status, "\n")); n > 12 {
		t.Errorf("/status is %d lines; keep it phone-sized", n)
	}

	checkMetrics(t, b,
		"troupe_restarts_total 4",
		"troupe_actors_cooling_down 1",
		"troupe_updates_crashed_total 4",
		"troupe_updates_paused_total 1",
		"troupe_actors_resident 2",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	)
}

// checkMetrics scrapes b's /metrics through the ops handler and fails the test for each
// wanted line missing from it.
func checkMetrics(tb testing.TB, b *bot.Bot, wants ...string) {
	tb.Helper()
	rec := httptest.NewRecorder()
	ops.Handler(b, b.Registry()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	metrics := rec.Body.String()
	for _, want := range wants {
		if !strings.Contains(metrics, want) {
			tb.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestStatusIsForAdminsOnly(t *testing.T) {
	emu := startBot(t, bot.Config{}, notebook.New(notebook.Options{Admins: []int64{9}}))
	send(t, emu, 10, "/status")
	if got := lastText(emu, 10); got != "I don't know /status. /help lists the commands." {
		t.Errorf("non-admin /status = %q", got)
	}
}

func TestProbes(t *testing.T) {
	emu, b := startBotWith(t, bot.Config{}, echo.New(echo.Options{}))
	send(t, emu, 1, "hi") // the bot is polling: ready
	srv := httptest.NewServer(ops.Handler(b, b.Registry()))
	defer srv.Close()
	tests := []struct {
		path string
		code int
		body string
	}{
		{"/healthz", 200, "ok\n"},
		{"/readyz", 200, "ready\n"},
		{"/nope", 404, ""},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || (tt.body != "" && string(body) != tt.body) {
			t.Errorf("GET %s = %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.code, tt.body)
		}
	}
	addr := strings.TrimPrefix(srv.URL, "http://")
	if err := ops.Healthcheck(context.Background(), addr); err != nil {
		t.Errorf("healthcheck of a live bot: %v", err)
	}
}

func TestHistogramQuantile(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    bot.Histogram
		q    float64
		want float64
	}{
		{"no observations", bot.Histogram{Bounds: []float64{1, 2}, Cumulative: []uint64{0, 0}}, 0.5, 0},
		{"median inside a bucket", bot.Histogram{Count: 10, Bounds: []float64{1, 2, 4}, Cumulative: []uint64{0, 10, 10}}, 0.5, 1.5},
		{"p99 inside a bucket", bot.Histogram{Count: 10, Bounds: []float64{1, 2, 4}, Cumulative: []uint64{0, 10, 10}}, 0.99, 1.99},
		{"first bucket from zero", bot.Histogram{Count: 4, Bounds: []float64{1, 2}, Cumulative: []uint64{4, 4}}, 0.5, 0.5},
		{"across buckets", bot.Histogram{Count: 100, Bounds: []float64{1, 2, 4}, Cumulative: []uint64{50, 90, 100}}, 0.95, 3},
		{"past the last bound", bot.Histogram{Count: 5, Bounds: []float64{1}, Cumulative: []uint64{0}}, 0.5, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.h.Quantile(tc.q); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

// TestChartLatencyOperatorView draws charts and reads their latency where an operator
// does: /metrics exports a histogram with one observation per chart, and /status's p50 and
// p99 are the quantiles of that histogram's buckets.
func TestChartLatencyOperatorView(t *testing.T) {
	const admin, user, charts = 9, 300, 5
	emu, b := startBotWith(t, bot.Config{}, notebook.New(notebook.Options{Admins: []int64{admin}}))
	send(t, emu, user, "5")
	send(t, emu, user, "7")
	for range charts {
		send(t, emu, user, "/chart")
	}

	checkMetrics(t, b,
		"# TYPE troupe_chart_latency_seconds histogram",
		"troupe_chart_latency_seconds_count 5",
		`troupe_chart_latency_seconds_bucket{le="10"} 5`,
		`troupe_chart_latency_seconds_bucket{le="+Inf"} 5`,
	)

	s := b.Snapshot()
	h := s.ChartLatency
	if h.Count != charts || len(h.Bounds) != 25 || h.Sum <= 0 {
		t.Fatalf("chart latency histogram: %d observations in %d buckets, sum %vs", h.Count, len(h.Bounds), h.Sum)
	}
	p50, p99 := h.Quantile(0.5), h.Quantile(0.99)
	if !(0 < p50 && p50 <= p99 && p99 <= h.Bounds[len(h.Bounds)-1]) {
		t.Errorf("p50 %vs, p99 %vs: want 0 < p50 ≤ p99 ≤ 10s", p50, p99)
	}
	want := fmt.Sprintf("charts: 0 queued of %d · p50 %.1fms p99 %.1fms since start · 0 busy", s.Charts.Capacity, 1000*p50, 1000*p99)
	if got := s.String(); !strings.Contains(got, want) {
		t.Errorf("/status lacks %q:\n%s", want, got)
	}
}
