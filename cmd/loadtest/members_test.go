//go:build cluster

package main

import (
	"testing"

	"github.com/troupebot/troupe/internal/redistest"
)

// The cluster's multi-process tests: three members of the project's bot on one
// redis-server, behind the harness's round-robin load balancer, with the emulator posting
// every update as Telegram does (each chat's in order, each until answered 200). They are
// behind the build tag "cluster" and run without -race (.ci/run runs them so): protoactor's
// cluster and grpc trip the race detector inside their own code.
func TestClusterUnderLoad(t *testing.T) {
	redistest.Binary(t)
	bin := buildBot(t, "../bot")
	line := bin + " -rate-global 0 -rate-chat 0 -rate-group 0 -flood-rate 0"
	for _, tc := range []struct {
		name string
		plan []string
	}{
		{"steady", nil},
		{"member killed", []string{"-kill-member", "4s"}},
		{"member joins", []string{"-join-member", "3s"}},
		{"member leaves on SIGTERM", []string{"-stop-member", "4s"}},
		// Polling runs faster (one member fetches, no load balancer): more messages, an
		// earlier kill, so that it falls mid-load.
		{"polling, lease holder killed", []string{"-mode", "polling", "-messages", "20", "-kill-member", "2s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-members", "3", "-bot-cmd", line, "-store", "redis", "-mode", "webhook",
				"-users", "2000", "-messages", "10", "-chaos-rate", "0", "-reply-timeout", "20s", "-drain", "20s"}, tc.plan...)
			cfg := testConfig(t, args...)
			r := mustLoad(t, cfg, members{line: line, n: cfg.members, plan: cfg.plan})
			if !r.Pass || r.Missing > 0 || r.OutOfOrder > 0 || r.CounterBreaks > 0 {
				t.Errorf("audit failed: %v: missing %d, out of order %d, counter breaks (applied twice or lost) %d",
					r.Failures, r.Missing, r.OutOfOrder, r.CounterBreaks)
			}
			if want := int64(cfg.users * cfg.messages); r.MessagesSent != want || r.Replies < want {
				t.Errorf("sent %d messages, %d replies; want %d answered", r.MessagesSent, r.Replies, want)
			}

			if tc.plan == nil && r.Duplicates > 0 {
				t.Errorf("%d duplicate replies in steady state", r.Duplicates)
			}
			var handled int64
			for _, m := range r.Members {
				handled += m.Handled
				t.Logf("member %d %s %s: handled %d (%.0f%%), %d users, %.0f µs/update", m.Index, m.State, m.EventWhat, m.Handled, 100*m.UpdatesPerShare, m.Hosted, m.CPUPerUpdateUS)
			}
			if handled == 0 {
				t.Error("no member reported a handled update")
			}
			t.Logf("%.0f updates/s, p99 %.0f ms, max %.0f ms, %d duplicate replies, recovery after the kill %.2f s",
				r.ThroughputUPS, r.LatencyMS.P99, r.LatencyMS.Max, r.Duplicates, r.RecoveryS)
		})
	}
}
