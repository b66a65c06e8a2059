package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildBot builds the bot in pkg (the reference bot ./echobot, or ../bot) as a process, as
// a user measuring it would.
func buildBot(tb testing.TB, pkg string) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// TestCommandLine runs the command as CI would: a spawned bot, -json on stdout, the exit
// status telling the audit's verdict.
func TestCommandLine(t *testing.T) {
	bin := buildBot(t, "./echobot")
	common := []string{"-users", "20", "-messages", "5", "-json", "-quiet", "-drain", "3s", "-start-timeout", "30s"}
	tests := []struct {
		name     string
		botCmd   string
		exit     int
		failures []string
	}{
		{"correct bot", bin, exitPass, []string{}},
		// The environment the harness sets is the bot's to ignore: without chaos, the
		// "panic" messages are counted, which the audit flags.
		{"bot ignoring chaos", "env BOT_CHAOS=false '" + bin + "'", exitAudit, []string{"counter_breaks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-bot-cmd", tt.botCmd, "-chaos-rate", "0.3"}, common...)
			if code := run(args, &stdout, &stderr); code != tt.exit {
				t.Fatalf("exit status %d, want %d\nstderr:\n%s", code, tt.exit, stderr.String())
			}
			var got map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
			}
			for _, key := range []string{"users", "messages_sent", "replies", "missing", "duplicates", "out_of_order",
				"counter_breaks", "bad_photos", "errors_429", "throughput_ups", "latency_ms", "bot_peak_rss_bytes",
				"bot_cpu_seconds", "duration_s"} {
				if _, ok := got[key]; !ok {
					t.Errorf("the report lacks %q", key)
				}
			}
			lat, _ := got["latency_ms"].(map[string]any)
			for _, key := range []string{"p50", "p90", "p99", "max"} {
				if _, ok := lat[key]; !ok {
					t.Errorf("latency_ms lacks %q", key)
				}
			}
			if got["users"] != 20.0 || got["messages_sent"] != 100.0 || got["bot_in_process"] != false {
				t.Errorf("users %v, messages_sent %v, bot_in_process %v", got["users"], got["messages_sent"], got["bot_in_process"])
			}
			if rss, _ := got["bot_peak_rss_bytes"].(float64); rss < 1<<20 {
				t.Errorf("bot_peak_rss_bytes = %v: the spawned bot was not measured", got["bot_peak_rss_bytes"])
			}
			var failures []string
			for _, f := range got["failures"].([]any) {
				failures = append(failures, f.(string))
			}
			if strings.Join(failures, ",") != strings.Join(tt.failures, ",") {
				t.Errorf("failures = %v, want %v", failures, tt.failures)
			}
		})
	}
}

func TestBotThatNeverPolls(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"-bot-cmd", "echo 'no bot here' >&2; exit 3", "-quiet", "-users", "1", "-messages", "1"}, io.Discard, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "no bot here") {
		t.Errorf("exit status %d, stderr %q; want %d and the bot's last output", code, stderr.String(), exitError)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		args []string
		err  string
	}{
		{nil, ""},
		{[]string{"-rate", "500", "-duration", "3s", "-mix", "text=1,chart=2"}, ""},
		{[]string{"-users", "0"}, "-users 0 and -messages 10: both must be at least 1"},
		{[]string{"-mix", "text=1,emoji=2"}, `unknown kind "emoji"`},
		{[]string{"-mix", "text=0"}, "every weight is 0"},
		{[]string{"-mix", "text"}, `"text" is not kind=weight`},
		{[]string{"-chaos-rate", "1.5"}, "-chaos-rate 1.5: a fraction from 0 to 1"},
		{[]string{"-fail-429", "0.6", "-fail-5xx", "0.6"}, "add up to more than 1"},
		{[]string{"-rate", "-1"}, "-rate -1"},
		{[]string{"-mode", "pigeon"}, `-mode "pigeon": polling or webhook`},
		{[]string{"-retry-after", "0"}, "-retry-after 0"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-store", "redis"}, ""},
		{[]string{"-store", "redis://127.0.0.1:6379/2"}, ""},
		{[]string{"-store", "rediss://:pw@kv.example:6380"}, ""},
		{[]string{"-store", "valkey"}, `-store "valkey": memory, redis, or a redis:// or rediss:// URL with a host`},
		{[]string{"-store", "redis://"}, "URL with a host"},
		{[]string{"-store", "http://kv.example"}, "URL with a host"},
		// A password never reaches an error message.
		{[]string{"-store", "mysql://:hunter2@db"}, `"mysql://:xxxxx@db"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseConfig(tt.args, io.Discard)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

// TestPlot runs a small load with -plot and decodes the chart it wrote.
func TestPlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.png")
	var stderr bytes.Buffer
	if code := run([]string{"-users", "300", "-messages", "10", "-quiet", "-plot", path}, io.Discard, &stderr); code != exitPass {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("-plot wrote no PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != plotWidth || b.Dy() != 2*plotHeight {
		t.Errorf("plot is %v, want %dx%d", b, plotWidth, 2*plotHeight)
	}
}
