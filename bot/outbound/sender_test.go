package outbound_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot/outbound"
)

func newSender(tb testing.TB, workers int) *outbound.Sender {
	tb.Helper()
	s := outbound.New(outbound.Config{Workers: workers, Logger: slog.New(slog.DiscardHandler)})
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// TestPerChatOrder sends many chats' jobs from concurrent producers and checks that every
// job ran once, each chat's jobs in the order queued, never two of one chat at once.
func TestPerChatOrder(t *testing.T) {
	const chats, perChat = 300, 40
	s := newSender(t, 16)
	var mu sync.Mutex
	ran := make(map[int64][]int)
	active := make([]atomic.Int32, chats)
	var overlap atomic.Bool
	var wg sync.WaitGroup
	wg.Add(chats * perChat)
	for c := range chats {
		go func() {
			for i := range perChat {
				err := s.Send(outbound.Job{Chat: int64(c), Call: func(context.Context) error {
					if active[c].Add(1) > 1 {
						overlap.Store(true)
					}
					mu.Lock()
					ran[int64(c)] = append(ran[int64(c)], i)
					mu.Unlock()
					active[c].Add(-1)
					return nil
				}, Done: func(error) { wg.Done() }})
				if err != nil {
					t.Error(err)
					wg.Done()
				}
			}
		}()
	}
	waitGroup(t, &wg)
	if overlap.Load() {
		t.Error("two jobs of one chat ran at once")
	}
	for c := range chats {
		got := ran[int64(c)]
		if len(got) != perChat {
			t.Fatalf("chat %d: %d jobs ran, want %d", c, len(got), perChat)
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("chat %d: job %d ran in place %d", c, v, i)
			}
		}
	}
	if st := s.Stats(); st.Sent != chats*perChat || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFailureIsReported(t *testing.T) {
	s := newSender(t, 2)
	boom := errors.New("boom")
	got := make(chan error, 1)
	s.Send(outbound.Job{Chat: 1, Call: func(context.Context) error { return boom }, Done: func(err error) { got <- err }})
	select {
	case err := <-got:
		if !errors.Is(err, boom) {
			t.Errorf("Done got %v, want %v", err, boom)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Done not called")
	}
	if st := s.Stats(); st.Failed != 1 {
		t.Errorf("stats = %+v, want one failure", st)
	}
}

func TestCloseDrainsThenRefuses(t *testing.T) {
	s := outbound.New(outbound.Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)})
	release := make(chan struct{})
	var done atomic.Int32
	for range 5 {
		s.Send(outbound.Job{Chat: 1, Call: func(context.Context) error { <-release; return nil }, Done: func(error) { done.Add(1) }})
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	close(release)
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if done.Load() != 5 {
		t.Errorf("%d of 5 queued jobs finished before Close returned", done.Load())
	}
	if err := s.Send(outbound.Job{Chat: 1, Call: func(context.Context) error { return nil }}); !errors.Is(err, outbound.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}

func TestCloseDeadlineCancelsCalls(t *testing.T) {
	s := outbound.New(outbound.Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)})
	got := make(chan error, 1)
	s.Send(outbound.Job{Chat: 1, Call: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, Done: func(err error) { got <- err }})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the deadline", err)
	}
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("the stuck call ended with %v, want it cancelled", err)
	}
}

func waitGroup(tb testing.TB, wg *sync.WaitGroup) {
	tb.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		tb.Fatal("jobs not done within 30s")
	}
}

// TestReservedSlotKeepsItsPlace queues a reply, a reserved place (a chart being drawn) and
// another reply in one chat: the last waits for the slot, other chats do not, and the slot
// goes out in its place once filled.
func TestReservedSlotKeepsItsPlace(t *testing.T) {
	s := newSender(t, 1) // one worker: a parked chat must not hold it
	order := make(chan string, 10)
	job := func(chat int64, name string) outbound.Job {
		return outbound.Job{Chat: chat, Call: func(context.Context) error { order <- name; return nil }}
	}
	s.Send(job(1, "first"))
	slotDone := make(chan error, 1)
	slot, err := s.Reserve(1, func(err error) { slotDone <- err })
	if err != nil {
		t.Fatal(err)
	}
	s.Send(job(1, "after the chart"))
	s.Send(job(2, "other chat"))

	next := func() string {
		select {
		case name := <-order:
			return name
		case <-time.After(10 * time.Second):
			t.Fatal("nothing sent")
			return ""
		}
	}
	got := []string{next(), next()}
	if got[0] != "first" || got[1] != "other chat" {
		t.Fatalf("sent %v before the slot was filled, want [first other chat]", got)
	}
	select {
	case name := <-order:
		t.Fatalf("%q overtook the unfilled slot", name)
	default:
	}
	slot.Fill(func(context.Context) error { order <- "chart"; return nil })
	if a, b := next(), next(); a != "chart" || b != "after the chart" {
		t.Errorf("after the fill: %q, %q", a, b)
	}
	if err := <-slotDone; err != nil {
		t.Errorf("slot done with %v", err)
	}
}

func TestThrottleLogTellsBotWideFromChat(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		requests int     // answered requests in the last second
		refused  []int64 // chats answered 429, in order
		want     bool
	}{
		{"odd 429s among many requests", 200, []int64{1, 2, 3, 4, 5, 6}, false},
		{"one chat over its limit", 4, []int64{7, 7, 7, 7}, false},
		{"most requests refused in many chats", 10, []int64{1, 2, 3, 4, 5, 6, 7, 8}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l outbound.ThrottleLogForTest
			for range tt.requests {
				l.Request(at)
			}
			got := false
			for _, c := range tt.refused {
				got = l.Add(c, at)
			}
			if got != tt.want {
				t.Errorf("bot-wide = %v, want %v", got, tt.want)
			}
		})
	}
}
