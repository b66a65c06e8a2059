package main

import (
	"fmt"
	"testing"
)

// ciRate429 is the share of the bot's sends the CI load test answers 429: the sender must
// retry each after its retry_after and still deliver every reply exactly once, in order,
// while the users whose chats got none are not held back (see docs/loadtest.md).
const ciRate429 = 0.02

// TestProjectBotUnderLoad is the load test CI runs: the project's edge running the echo
// App, in-process, with many users at once, chaos on and some 429s; any audit error fails
// the build. Echo sends no buttons, so nobody presses one here: the notebook's buttons are
// tested end to end in package bot.
func TestProjectBotUnderLoad(t *testing.T) {
	cfg := testConfig(t, "-users", "200", "-messages", "10", "-chaos-rate", "0.05",
		"-fail-429", fmt.Sprint(ciRate429), "-drain", "10s", "-reply-timeout", "10s")
	r := mustLoad(t, cfg, troupe)
	if !r.Pass {
		t.Errorf("audit failed: %v\n%+v", r.Failures, figures(r))
	}
	if r.MessagesSent != 2000 {
		t.Errorf("sent %d messages, want 2000", r.MessagesSent)
	}
	// Each 429 touches at most one user.
	if l := r.LatencyNever429MS; l == nil || r.UsersNever429 < 200-int(r.Errors429) || r.UsersNever429 >= 200 {
		t.Errorf("%d users never answered 429 (latency %+v) after %d × 429 among 200 users", r.UsersNever429, r.LatencyNever429MS, r.Errors429)
	}
	t.Logf("%.0f updates/s, p99 %.1f ms (%.1f ms for the %d users never answered 429), %d × 429", r.ThroughputUPS, r.LatencyMS.P99, r.LatencyNever429MS.P99, r.UsersNever429, r.Errors429)
}
