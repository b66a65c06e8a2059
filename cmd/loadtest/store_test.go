package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/troupebot/troupe/internal/redistest"
)

// TestStoreRedis runs the project's bot on a redis-server the harness starts itself, in
// polling and webhook mode, as `loadtest -store redis -json` does: the audit passes, and the
// report names the store and measures the server beside the bot.
func TestStoreRedis(t *testing.T) {
	redistest.Binary(t) // skips (fails under CI) without redis-server
	// The binary refuses to start unless the harness gave it the store: a bot on the memory
	// store would pass the audit too. Unpaced, so that Telegram's 30 messages/s do not set the pace.
	bin := buildBot(t, "../bot")
	spawned := `sh -c 'case "$BOT_STORE" in redis://127.0.0.1:*) exec "$0" -rate-global 0 -rate-chat 0 -flood-rate 0;; *) echo "BOT_STORE=$BOT_STORE" >&2; exit 3;; esac' ` + bin
	tests := []struct {
		name string
		args []string
	}{
		{"polling", nil},
		{"webhook", []string{"-mode", "webhook"}},
		{"spawned", []string{"-bot-cmd", spawned}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-store", "redis", "-users", "50", "-messages", "10", "-chaos-rate", "0.05",
				"-json", "-quiet", "-drain", "5s", "-start-timeout", "30s"}, tt.args...)
			if code := run(args, &stdout, &stderr); code != exitPass {
				t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, exitPass, stdout.String(), stderr.String())
			}
			var r Report
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("stdout is not one JSON report: %v\n%s", err, stdout.String())
			}
			if r.Store != "redis" || r.StoreURL != "" {
				t.Errorf("store %q, store_url %q; want redis and none (the harness ran it)", r.Store, r.StoreURL)
			}
			if r.MessagesSent != 500 || r.Replies < 500 {
				t.Errorf("sent %d messages, %d replies; want 500 and 500", r.MessagesSent, r.Replies)
			}
			// Every update costs the server a journal append, a commit and an ack: it cannot
			// have done them in no CPU time (/proc counts in 10 ms ticks).
			if r.RedisCPUSeconds <= 0 || r.RedisCPUPerUpdate <= 0 {
				t.Errorf("redis_cpu_seconds %v, redis_cpu_us_per_update %v: redis-server was not measured", r.RedisCPUSeconds, r.RedisCPUPerUpdate)
			}
			t.Logf("%s: %.0f updates/s; bot %.0f µs/update, redis-server %.0f µs/update", tt.name, r.ThroughputUPS, r.BotCPUPerUpdate, r.RedisCPUPerUpdate)
		})
	}
}

// TestStoreRedisMissing: without redis-server on PATH, -store redis fails before any bot
// starts, saying what is missing and how to do without it.
func TestStoreRedisMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var stderr bytes.Buffer
	code := run([]string{"-store", "redis", "-quiet", "-users", "1", "-messages", "1"}, io.Discard, &stderr)
	for _, want := range []string{"-store redis", "redis-server is not on PATH", "redis:// URL"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}
	if code != exitError {
		t.Errorf("exit status %d, want %d", code, exitError)
	}
}

// TestReportText: the summary names the store, and measures redis-server only when the
// harness ran it.
func TestReportText(t *testing.T) {
	tests := []struct {
		name string
		r    Report
		want []string
		not  []string
	}{
		{"memory", Report{Store: "memory"}, []string{"polling, memory store,"}, []string{"redis"}},
		{"harness's redis", Report{Store: "redis", RedisCPUSeconds: 1.5, RedisCPUPerUpdate: 75}, []string{"redis store", "redis       CPU 1.50 s, 75 µs/update"}, nil},
		{"a URL", Report{Store: "redis", StoreURL: "redis://:xxxxx@kv:6379"}, []string{"store       redis://:xxxxx@kv:6379 (not measured"}, []string{"µs/update (redis-server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			r.Mode = "polling"
			var out strings.Builder
			r.writeText(&out)
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, out.String())
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out.String(), n) {
					t.Errorf("summary has %q:\n%s", n, out.String())
				}
			}
		})
	}
}

// TestDocsFlagTable: every flag of the harness is in docs/loadtest.md's tables, and the
// tables name no flag the harness lacks.
func TestDocsFlagTable(t *testing.T) {
	var usage bytes.Buffer
	parseConfig([]string{"-help"}, &usage)
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(usage.String(), -1) {
		flags[m[1]] = true
	}
	doc, err := os.ReadFile("../../docs/loadtest.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| `-") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |")
		for _, m := range regexp.MustCompile("`-([a-z0-9-]+)").FindAllStringSubmatch(first, -1) {
			documented[m[1]] = true
		}
	}
	if len(flags) < 10 {
		t.Fatalf("read %d flags from the usage text:\n%s", len(flags), usage.String())
	}
	for f := range flags {
		if !documented[f] {
			t.Errorf("-%s is not in docs/loadtest.md's flag tables", f)
		}
	}
	for f := range documented {
		if !flags[f] {
			t.Errorf("docs/loadtest.md documents -%s, which the harness does not have", f)
		}
	}
}
