package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/troupebot/troupe/cmd/loadtest/internal/echobot"
)

// testConfig is a small run: the flags' defaults, without progress lines, with short
// waits for answers that never come.
func testConfig(tb testing.TB, args ...string) config {
	tb.Helper()
	base := []string{"-quiet", "-reply-timeout", "2s", "-drain", "2s", "-start-timeout", "30s"}
	cfg, err := parseConfig(append(base, args...), testWriter{tb})
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(p))
	return len(p), nil
}

// echo is the reference bot in-process; tamper, if set, makes it deliberately wrong.
func echo(tamper func(echobot.Update, []echobot.Reply) []echobot.Reply) target {
	return inProcess{label: "echobot (in-process)", run: func(ctx context.Context, env botEnv) error {
		b, err := echobot.New(echobot.Config{
			APIURL: env.apiURL, Token: env.token, Chaos: env.chaos, PollTimeout: 2 * time.Second,
			Tamper: tamper, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			return err
		}
		return b.Run(ctx)
	}}
}

// mustLoad runs a load test that must complete (its audit may fail).
func mustLoad(tb testing.TB, cfg config, t target) *Report {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := load(ctx, cfg, t, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if r.Interrupted {
		tb.Fatal("the run was interrupted")
	}
	return r
}
