package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot/botapi"
	"github.com/troupebot/troupe/bot/outbound"
	"github.com/troupebot/troupe/emulator"
)

const token = "77:outbound-token"

// try is one request the sender made, as the Bot API answered it.
type try struct {
	at, answered time.Time     // on the sender's clock, as the request left and as its answer came
	err          error         // the answer, nil when accepted
	retryAfter   time.Duration // a 429's retry_after
}

// TestRetriesOnAFakeClock sends many chats' messages to an emulator answering 429s (with a
// retry_after), 5xx and dropped connections, on a clock the test moves: every message is
// delivered exactly once and in order per chat, no request of a chat goes out before a 429's
// retry_after is over, and none before the backoff after a 5xx or a drop, all checked on
// that clock. Seconds of retry_after take no real time.
func TestRetriesOnAFakeClock(t *testing.T) {
	const chats, perChat, retryAfter = 12, 8, 3
	emu, err := emulator.New(emulator.Config{
		Token: token, Logger: slog.New(slog.DiscardHandler),
		Faults: emulator.Faults{Rate429: 0.15, RetryAfter: retryAfter, Rate5xx: 0.15, RateDrop: 0.1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	transport := botapi.NewTransport(8)
	defer transport.CloseIdleConnections()
	api := botapi.New(emu.URL(), &http.Client{Transport: transport}).For(token)

	clock := newFakeClock()
	s := outbound.New(outbound.Config{
		Workers: 4, MaxAttempts: 40, Max429: 40, Logger: slog.New(slog.DiscardHandler),
		Now: clock.Now, AfterFunc: clock.AfterFunc, Rand: func() float64 { return 0 },
	})
	defer s.Close(context.Background())

	var mu sync.Mutex
	tries := map[int64][]try{}
	var wg sync.WaitGroup
	for c := range chats {
		chat := int64(5000 + c)
		if _, err := emu.SendText(chat, "hello"); err != nil { // the emulator answers only chats that wrote
			t.Fatal(err)
		}
		for i := range perChat {
			wg.Add(1)
			err := s.Send(outbound.Job{Chat: chat, Message: true, Call: func(ctx context.Context) error {
				at := clock.Now()
				err := api.Call(ctx, "sendMessage", map[string]any{"chat_id": chat, "text": fmt.Sprint(i)})
				tr := try{at: at, answered: clock.Now(), err: err}
				var te *gotgbot.TelegramError
				if errors.As(err, &te) && te.Code == http.StatusTooManyRequests && te.ResponseParams != nil {
					tr.retryAfter = time.Duration(te.ResponseParams.RetryAfter) * time.Second
				}
				mu.Lock()
				tries[chat] = append(tries[chat], tr)
				mu.Unlock()
				return err
			}, Done: func(err error) {
				if err != nil {
					t.Errorf("chat %d message %d failed for good: %v", chat, i, err)
				}
				wg.Done()
			}})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	clock.runUntil(t, done)

	byChat := map[int64][]string{}
	for _, m := range emu.Sent() {
		byChat[m.ChatID] = append(byChat[m.ChatID], m.Text)
	}
	for c := range chats {
		chat := int64(5000 + c)
		got := byChat[chat]
		if len(got) != perChat {
			t.Fatalf("chat %d: %d messages delivered, want %d exactly once each: %q", chat, len(got), perChat, got)
		}
		for i, text := range got {
			if text != fmt.Sprint(i) {
				t.Fatalf("chat %d: message %q delivered in place %d", chat, text, i)
			}
		}
	}

	for chat, ts := range tries {
		failures := 0 // of the current message, other than 429s
		for k := 1; k < len(ts); k++ {
			prev, next := ts[k-1], ts[k]
			// The sender reads its clock for the answer after this test did, so its
			// not-before time is at least prev.answered plus the wait.
			gap := next.at.Sub(prev.answered)
			switch {
			case prev.err == nil:
				failures = 0
			case prev.retryAfter > 0:
				if gap < prev.retryAfter {
					t.Errorf("chat %d: a request %v after a 429 with retry_after %v", chat, gap, prev.retryAfter)
				}
			default:
				failures++
				if want := outbound.RetryDelayForTest(failures, 0); gap < want {
					t.Errorf("chat %d: retried %v after failure %d (%v), want at least %v", chat, gap, failures, prev.err, want)
				}
			}
		}
	}
	st := emu.Stats()
	if st.Injected429 == 0 || st.Injected5xx == 0 || st.Dropped == 0 {
		t.Fatalf("faults injected: %+v; the test needs each kind", st)
	}
	if elapsed := clock.Now().Sub(newFakeClock().Now()); elapsed < retryAfter*time.Second {
		t.Errorf("the fake clock moved %v, less than one retry_after", elapsed)
	}
}
