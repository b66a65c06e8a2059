package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/troupebot/troupe/cmd/loadtest/internal/echobot"
)

// auditFigures are the report's audit counters, for comparing whole.
type auditFigures struct {
	Missing, Duplicates, OutOfOrder, CounterBreaks, BadPhotos  int64
	CallbacksMissing, CallbacksDuplicated, RateLimitViolations int64
}

func figures(r *Report) auditFigures {
	return auditFigures{r.Missing, r.Duplicates, r.OutOfOrder, r.CounterBreaks, r.BadPhotos,
		r.CallbacksMissing, r.CallbacksDuplicated, r.RateLimitViolations}
}

// TestCorrectBotPassesClean runs the reference bot through every kind of message, closed
// and open loop, with chaos: nothing may be flagged, and every path must have been taken.
func TestCorrectBotPassesClean(t *testing.T) {
	for _, loop := range [][]string{{}, {"-rate", "2000"}} {
		t.Run("rate="+strings.Join(loop, ""), func(t *testing.T) {
			args := append([]string{"-users", "40", "-messages", "12", "-chaos-rate", "0.1", "-mix", "text=3,number=3,stats=1,reset=2,chart=1"}, loop...)
			r := mustLoad(t, testConfig(t, args...), echo(nil))
			if got := figures(r); got != (auditFigures{}) || !r.Pass {
				t.Errorf("audit of a correct bot = %+v, failures %v", got, r.Failures)
			}
			if r.MessagesSent != 480 || r.Replies != r.MessagesSent || r.CallbacksSent == 0 || r.CallbacksAnswered != r.CallbacksSent || r.Photos == 0 || r.Unmatched != 0 {
				t.Errorf("sent %d messages, %d presses; got %d replies (%d photos), %d callback answers, %d unmatched",
					r.MessagesSent, r.CallbacksSent, r.Replies, r.Photos, r.CallbacksAnswered, r.Unmatched)
			}
			if r.LatencyMS.P50 <= 0 || r.LatencyMS.Max < r.LatencyMS.P99 || r.ThroughputUPS <= 0 || len(r.Series) == 0 {
				t.Errorf("latency %+v, throughput %v, %d seconds of series", r.LatencyMS, r.ThroughputUPS, len(r.Series))
			}
		})
	}
}

// once applies a defect to the first update it matches, and leaves every other alone.
type once struct {
	mu   sync.Mutex
	done bool
}

func (o *once) first(match bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !match || o.done {
		return false
	}
	o.done = true
	return true
}

// victim is the user whose third counted message the defects pick.
const victim = firstUser + 1

func thirdReply(u echobot.Update, rs []echobot.Reply) bool {
	return u.ChatID == victim && len(rs) == 1 && strings.HasPrefix(rs[0].Text, "#3 ")
}

// Each deliberately wrong bot breaks one rule once; the audit must flag exactly that.
func TestWrongBotsAreCaught(t *testing.T) {
	textOnly := []string{"-users", "5", "-messages", "8", "-chaos-rate", "0", "-mix", "text=1"}
	tests := []struct {
		name   string
		args   []string
		tamper func() func(echobot.Update, []echobot.Reply) []echobot.Reply
		want   auditFigures
		rule   string
	}{
		{
			name: "drops a reply",
			args: textOnly,
			tamper: func() func(echobot.Update, []echobot.Reply) []echobot.Reply {
				var o once
				return func(u echobot.Update, rs []echobot.Reply) []echobot.Reply {
					if o.first(thirdReply(u, rs)) {
						return nil
					}
					return rs
				}
			},
			want: auditFigures{Missing: 1},
			rule: "missing",
		},
		{
			name: "duplicates a reply",
			args: textOnly,
			tamper: func() func(echobot.Update, []echobot.Reply) []echobot.Reply {
				var o once
				return func(u echobot.Update, rs []echobot.Reply) []echobot.Reply {
					if o.first(thirdReply(u, rs)) {
						return append(rs, rs...)
					}
					return rs
				}
			},
			want: auditFigures{Duplicates: 1},
			rule: "duplicates",
		},
		{
			// Open loop, so the user's next message comes while the reply is held back.
			name: "reorders two replies",
			args: append(slices.Clone(textOnly), "-rate", "1000"),
			tamper: func() func(echobot.Update, []echobot.Reply) []echobot.Reply {
				var o once
				var mu sync.Mutex
				var held []echobot.Reply
				return func(u echobot.Update, rs []echobot.Reply) []echobot.Reply {
					if o.first(thirdReply(u, rs)) {
						mu.Lock()
						held = rs
						mu.Unlock()
						return nil
					}
					mu.Lock()
					defer mu.Unlock()
					if held != nil && u.ChatID == victim {
						rs, held = append(rs, held...), nil
					}
					return rs
				}
			},
			want: auditFigures{OutOfOrder: 1},
			rule: "out_of_order",
		},
		{
			// From the third message on, the victim's counter runs one ahead: a message
			// counted twice.
			name: "skips a counter value",
			args: textOnly,
			tamper: func() func(echobot.Update, []echobot.Reply) []echobot.Reply {
				return func(u echobot.Update, rs []echobot.Reply) []echobot.Reply {
					if u.ChatID != victim || len(rs) != 1 {
						return rs
					}
					n, ok := parseCounter(rs[0].Text)
					if ok && n >= 3 {
						rs[0].Text = fmt.Sprintf("#%d %s", n+1, rs[0].Text[len(strconv.Itoa(int(n)))+2:])
					}
					return rs
				}
			},
			want: auditFigures{CounterBreaks: 1},
			rule: "counter_breaks",
		},
		{
			name: "sends a broken PNG",
			args: []string{"-users", "5", "-messages", "8", "-chaos-rate", "0", "-mix", "text=1,chart=1"},
			tamper: func() func(echobot.Update, []echobot.Reply) []echobot.Reply {
				var o once
				return func(u echobot.Update, rs []echobot.Reply) []echobot.Reply {
					if len(rs) == 1 && o.first(rs[0].Method == "sendPhoto") {
						// The header survives, so the Bot API takes it; the pixels do not.
						rs[0].Photo = rs[0].Photo[:len(rs[0].Photo)-20]
					}
					return rs
				}
			},
			want: auditFigures{BadPhotos: 1},
			rule: "bad_photos",
		},
		{
			name: "leaves a button press unanswered",
			args: []string{"-users", "5", "-messages", "8", "-chaos-rate", "0", "-mix", "number=1,reset=1"},
			tamper: func() func(echobot.Update, []echobot.Reply) []echobot.Reply {
				var o once
				return func(u echobot.Update, rs []echobot.Reply) []echobot.Reply {
					if o.first(u.CallbackID != "") {
						return nil
					}
					return rs
				}
			},
			want: auditFigures{CallbacksMissing: 1},
			rule: "callbacks_missing",
		},
		{
			name: "answers a button press twice",
			args: []string{"-users", "5", "-messages", "8", "-chaos-rate", "0", "-mix", "number=1,reset=1"},
			tamper: func() func(echobot.Update, []echobot.Reply) []echobot.Reply {
				var o once
				return func(u echobot.Update, rs []echobot.Reply) []echobot.Reply {
					if o.first(u.CallbackID != "") {
						return append(rs, rs...)
					}
					return rs
				}
			},
			want: auditFigures{CallbacksDuplicated: 1},
			rule: "callbacks_duplicated",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each has its own emulator and bot; the ones with a missing answer wait
			r := mustLoad(t, testConfig(t, tt.args...), echo(tt.tamper()))
			if got := figures(r); got != tt.want {
				t.Errorf("audit = %+v\nwant    %+v", got, tt.want)
			}
			if r.Pass || !slices.Contains(r.Failures, tt.rule) {
				t.Errorf("failures = %v, want %s among them", r.Failures, tt.rule)
			}
		})
	}
}

// A bot without chaos counts the "panic" messages it should have crashed on.
func TestCrashCountedIsCaught(t *testing.T) {
	cfg := testConfig(t, "-users", "10", "-messages", "10", "-chaos-rate", "0.2", "-mix", "text=1")
	noChaos := echo(nil).(inProcess)
	run := noChaos.run
	noChaos.run = func(ctx context.Context, env botEnv) error {
		env.chaos = false
		return run(ctx, env)
	}
	r := mustLoad(t, cfg, noChaos)
	if r.CounterBreaks == 0 || r.Missing != 0 || !slices.Contains(r.Failures, "counter_breaks") {
		t.Errorf("counter breaks %d, missing %d, failures %v; want the counted crashes flagged", r.CounterBreaks, r.Missing, r.Failures)
	}
}

// With Telegram's limits enforced, a bot that bursts past one message a second per chat
// is flagged, even though it retries and every reply gets through in the end.
func TestRateLimitViolationsAreCaught(t *testing.T) {
	cfg := testConfig(t, "-users", "1", "-messages", "5", "-chaos-rate", "0", "-mix", "text=1", "-rate", "1000", "-enforce-limits", "-drain", "10s")
	r := mustLoad(t, cfg, echo(nil))
	if r.RateLimitViolations == 0 || r.Missing != 0 || !slices.Contains(r.Failures, "rate_limit_violations") {
		t.Errorf("violations %d, missing %d, failures %v", r.RateLimitViolations, r.Missing, r.Failures)
	}
	if r.Errors429 < r.RateLimitViolations {
		t.Errorf("errors_429 = %d, fewer than the %d violations", r.Errors429, r.RateLimitViolations)
	}
}
