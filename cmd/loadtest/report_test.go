package main

import (
	"strings"
	"testing"
)

func TestJudgeAndSummary(t *testing.T) {
	tests := []struct {
		name    string
		r       Report
		verdict string
	}{
		{"clean", Report{MessagesSent: 10, Replies: 10}, "audit: PASS"},
		{"missing and out of order", Report{Missing: 2, OutOfOrder: 1}, "audit: FAIL (missing, out_of_order)"},
		{"every rule", Report{Duplicates: 1, CounterBreaks: 1, BadPhotos: 1, CallbacksMissing: 1, CallbacksDuplicated: 1, RateLimitViolations: 1},
			"audit: FAIL (duplicates, counter_breaks, bad_photos, callbacks_missing, callbacks_duplicated, rate_limit_violations)"},
		// Faults the bot survived are no failure.
		{"429s retried", Report{Errors429: 30, Errors5xx: 3, TimedOut: 2, Unmatched: 1}, "audit: PASS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			r.judge()
			var out strings.Builder
			r.writeText(&out)
			if !strings.Contains(out.String(), tt.verdict+"\n") {
				t.Errorf("summary lacks %q:\n%s", tt.verdict, out.String())
			}
			if r.Pass != (tt.verdict == "audit: PASS") {
				t.Errorf("Pass = %v with failures %v", r.Pass, r.Failures)
			}
		})
	}
}
