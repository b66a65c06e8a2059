package outbound_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot/botapi"
	"github.com/troupebot/troupe/bot/outbound"
	"github.com/troupebot/troupe/internal/logtest"
)

// TestCloseDeadlineWithFullQueueAndStalledAPI fills the queue against a Bot API that never
// answers, with more Sends blocked on the full queue and a reserved slot never filled, and
// calls Close with a short deadline: Close returns, saying what it abandoned, every job
// finishes abandoned (with no log line each), the blocked Sends are refused, and no goroutine is left behind.
func TestCloseDeadlineWithFullQueueAndStalledAPI(t *testing.T) {
	before := runtime.NumGoroutine()
	arrived := make(chan struct{}, 16)
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: only then does the server watch the connection, and so
		// end r's context when the client gives up.
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-r.Context().Done() // never answers
	}))
	transport := botapi.NewTransport(4)
	api := botapi.New(stalled.URL, &http.Client{Transport: transport}).For(token)
	call := func(chat int64) outbound.Call {
		return func(ctx context.Context) error {
			return api.Call(ctx, "sendMessage", map[string]any{"chat_id": chat, "text": "hi"})
		}
	}

	const workers, queued, blocked = 2, 4, 3
	var logs logtest.Buffer
	s := outbound.New(outbound.Config{Workers: workers, MaxQueued: queued, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	finished := make(chan error, queued)
	done := func(err error) { finished <- err }
	// Two chats' requests in flight and stalled, one queued behind them, one slot unfilled.
	for _, job := range []outbound.Job{{Chat: 1, Call: call(1)}, {Chat: 2, Call: call(2)}, {Chat: 1, Call: call(1)}} {
		job.Done = done
		if err := s.Send(job); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Reserve(3, done); err != nil {
		t.Fatal(err)
	}
	for range workers {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the requests in flight never reached the API")
		}
	}
	refused := make(chan error, blocked)
	for range blocked {
		go func() { refused <- s.Send(outbound.Job{Chat: 4, Call: call(4)}) }()
	}
	waitBlockedIn(t, "outbound.(*Sender).enqueue", blocked)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- s.Close(ctx) }()
	var err error
	select {
	case err = <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10s of its 50ms deadline")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "4 jobs") {
		t.Errorf("Close = %v, want the deadline and the 4 jobs it abandoned", err)
	}
	for range queued {
		if err := <-finished; !errors.Is(err, outbound.ErrAbandoned) {
			t.Errorf("a job abandoned at Close finished with %v, want ErrAbandoned", err)
		}
	}
	for range blocked {
		if err := <-refused; !errors.Is(err, outbound.ErrClosed) {
			t.Errorf("a Send blocked on the full queue returned %v, want ErrClosed", err)
		}
	}
	if st := s.Stats(); st.Queued != 0 || st.Abandoned != queued || st.Failed != 0 {
		t.Errorf("stats after Close = %+v, want nothing queued and %d abandoned, none failed", st, queued)
	}
	if strings.Contains(logs.String(), "send failed") {
		t.Errorf("a line per abandoned job, want none (Close's error counts them):\n%s", logs.String())
	}

	transport.CloseIdleConnections()
	stalled.Close()
	settleGoroutines(t, before)
}

// waitBlockedIn waits until n goroutines are blocked in fn.
func waitBlockedIn(tb testing.TB, fn string, n int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		got := 0
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "[select") && strings.Contains(g, fn) {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d goroutines blocked in %s after 10s, want %d", got, fn, n)
		}
		runtime.Gosched()
	}
}

// settleGoroutines waits until no more goroutines run than before, failing with their
// stacks after a deadline.
func settleGoroutines(tb testing.TB, before int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			tb.Fatalf("%d goroutines left behind, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}
