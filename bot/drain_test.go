package bot_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/examples/echo"
	"github.com/troupebot/troupe/internal/logtest"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
)

// startStoppable runs the echo app on the memory store, polling or behind a webhook, and
// returns it with a stop that returns once Run has (cleanup stops it too).
func startStoppable(t *testing.T, emu *emulator.Server, cfg bot.Config, webhook bool) (*bot.Bot, func()) {
	t.Helper()
	cfg.Token, cfg.APIURL = token, emu.URL()
	mux := http.NewServeMux()
	srv := &http.Server{Handler: mux}
	if webhook {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Webhook, cfg.WebhookURL = true, "http://"+ln.Addr().String()+"/hook"
		go srv.Serve(ln)
	}
	b, err := bot.New(cfg, echo.New(echo.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if webhook {
		mux.Handle("/hook", b.WebhookHandler())
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- b.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		srv.Close()
	}
	t.Cleanup(stop)
	return b, stop
}

var unsentRe = regexp.MustCompile(`replies_unsent=(\d+)`)

// summary returns the one drain summary line of logs, failing t if there is not exactly
// one, or if anything was logged per reply or per update on the way.
func summary(t *testing.T, logs string) string {
	t.Helper()
	var lines []string
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, "stopped with work unfinished") {
			lines = append(lines, line)
		}
		for _, per := range []string{"send failed", "action not performed", "not acknowledged", "update not delivered"} {
			if strings.Contains(line, per) {
				t.Errorf("a line per reply or update at the drain: %s", line)
			}
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d drain summary lines, want 1; the log:\n%s", len(lines), logs)
	}
	t.Log(lines[0])
	return lines[0]
}

// TestDrainSummaryInMemory: the memory store confirms updates once their replies are
// queued, so a drain cut short by its deadline abandons replies Telegram will not ask for
// again. Polling or webhook, it says so in one line, with the count, and not once per reply.
func TestDrainSummaryInMemory(t *testing.T) {
	for _, webhook := range []bool{false, true} {
		t.Run(map[bool]string{true: "webhook", false: "polling"}[webhook], func(t *testing.T) {
			emu := slowChats(t)
			const messages = 20
			for i := range messages {
				if _, err := emu.SendText(1, fmt.Sprint("hi ", i)); err != nil {
					t.Fatal(err)
				}
			}
			var logs logtest.Buffer
			_, stop := startStoppable(t, emu, bot.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil)), DrainTimeout: 500 * time.Millisecond, PollTimeout: time.Second}, webhook)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := emu.WaitSent(ctx, 2); err != nil {
				t.Fatal(err)
			}
			stop()
			sent := len(emu.Sent())
			line := summary(t, logs.String())
			m := unsentRe.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("summary has no replies_unsent: %s", line)
			}
			unsent, _ := strconv.Atoi(m[1])
			// A reply cancelled in flight may have reached Telegram as well.
			if unsent < messages-sent || unsent > messages-sent+1 {
				t.Errorf("summary counts %d replies unsent, %d of %d were sent: %s", unsent, sent, messages, line)
			}
			for _, want := range []string{"store=memory", "updates_unfinished=0", "lost"} {
				if !strings.Contains(line, want) {
					t.Errorf("summary lacks %q: %s", want, line)
				}
			}
		})
	}
}

// TestDrainKeepsWhatItAnswered: with a durable store, a drain cut short while a chat's
// replies wait out Telegram's limit drops nothing it confirmed: the updates stay in the
// journal and their replies in the outbox, the summary says so, and the next process sends
// every reply, in order.
func TestDrainKeepsWhatItAnswered(t *testing.T) {
	for _, webhook := range []bool{false, true} {
		t.Run(map[bool]string{true: "webhook", false: "polling"}[webhook], func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{})
			emu := slowChats(t)
			const messages = 10
			var last int64
			for i := range messages {
				p, err := emu.SendText(1, fmt.Sprint("hi ", i))
				if err != nil {
					t.Fatal(err)
				}
				last = p.UpdateID
			}
			var logs logtest.Buffer
			_, j, stop := journaled(t, emu, srv.URL, redisstore.JournalConfig{}, echo.New(echo.Options{}), slog.New(slog.NewTextHandler(&logs, nil)), webhook)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// Every update confirmed (journaled) while its replies go at one a second: the
			// drain's 3 s cannot send them all.
			if err := emu.WaitConfirmed(ctx, last); err != nil {
				t.Fatal(err)
			}
			stop()
			line := summary(t, logs.String())
			if !strings.Contains(line, "store=durable") || !strings.Contains(line, "kept") {
				t.Errorf("summary %s, want the durable store's work kept", line)
			}
			if n, err := j.Len(context.Background()); err != nil || n == 0 {
				t.Fatalf("journal holds %d updates (%v) after a drain cut short, want the unfinished ones", n, err)
			}
			journaled(t, emu, srv.URL, redisstore.JournalConfig{}, echo.New(echo.Options{}), quiet(), webhook)
			var got []string
			seen := map[string]bool{}
			for n := 1; len(seen) < messages; n++ {
				sent, err := emu.WaitSent(ctx, n)
				if err != nil {
					t.Fatalf("replies %v: %v", got, err)
				}
				text := sent[n-1].Text
				if seen[text] {
					continue // in flight at the stop: at least once
				}
				seen[text] = true
				got = append(got, text)
			}
			for i, text := range got {
				if want := fmt.Sprintf("#%d hi %d", i+1, i); text != want {
					t.Errorf("reply %d = %q, want %q (all: %q)", i, text, want, got)
				}
			}
		})
	}
}
