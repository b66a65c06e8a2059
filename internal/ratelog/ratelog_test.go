package ratelog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/internal/ratelog"
)

func TestLoggerLimitsAndCounts(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1_700_000_000, 0)
	l := ratelog.New(slog.New(slog.NewJSONHandler(&buf, nil)), ratelog.Config{PerSecond: 2, Burst: 3, FlushAfter: time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()

	written := 0
	for range 100 {
		if l.Log(ctx, slog.LevelWarn, "refused", slog.String("reason", "secret")) {
			written++
		}
	}
	if written != 3 {
		t.Fatalf("a flood of 100 at one instant wrote %d lines, want the burst of 3", written)
	}
	now = now.Add(500 * time.Millisecond) // one more line's worth at 2 a second
	if !l.Log(ctx, slog.LevelWarn, "refused", slog.String("reason", "secret")) {
		t.Fatal("no line after the rate refilled")
	}
	if l.Log(ctx, slog.LevelDebug, "below the level") {
		t.Error("a debug line was written at info level")
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), buf.String())
	}
	var last struct {
		Msg        string
		Reason     string
		Suppressed int64
	}
	if err := json.Unmarshal([]byte(lines[3]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Msg != "refused" || last.Reason != "secret" || last.Suppressed != 97 {
		t.Errorf("last line %s: want the 97 left out counted", lines[3])
	}
	if strings.Contains(lines[0], "suppressed") {
		t.Errorf("first line %s counts suppressed lines, none were", lines[0])
	}
}

// lines is a log destination that hands each line to the test.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	l <- string(p)
	return len(p), nil
}

// TestLoggerSumsUpAFlood: after a flood, with no line to carry the count, the first line
// left out is written late, saying how many more were.
func TestLoggerSumsUpAFlood(t *testing.T) {
	out := make(lines, 10)
	l := ratelog.New(slog.New(slog.NewJSONHandler(out, nil)), ratelog.Config{PerSecond: 0.001, Burst: 1, FlushAfter: 10 * time.Millisecond})
	for i := range 5 {
		l.Log(context.Background(), slog.LevelWarn, "refused", slog.Int("i", i))
	}
	deadline := time.After(10 * time.Second)
	var got []string
	for len(got) < 2 {
		select {
		case line := <-out:
			got = append(got, line)
		case <-deadline:
			t.Fatalf("lines %q: no summary", got)
		}
	}
	var summary struct {
		Msg        string
		I          int
		Suppressed int64
	}
	if err := json.Unmarshal([]byte(got[1]), &summary); err != nil {
		t.Fatal(err)
	}
	// The summary is the first line left out, standing for the 3 after it.
	if summary.Msg != "refused" || summary.I != 1 || summary.Suppressed != 3 {
		t.Errorf("summary %s, want the first left out (i=1) with 3 suppressed", got[1])
	}
}
