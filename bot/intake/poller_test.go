package intake_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot/botapi"
	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/emulator"
)

const token = "55:poll-token"

// holder is a Deliverer that keeps every update until the test finishes it.
type holder struct {
	mu     sync.Mutex
	done   map[int64]func()
	seen   map[int64]int
	arrive chan int64
}

func newHolder() *holder {
	return &holder{done: make(map[int64]func()), seen: make(map[int64]int), arrive: make(chan int64, 1000)}
}

func (h *holder) Deliver(u *gotgbot.Update, done func()) error {
	h.mu.Lock()
	h.done[u.UpdateId] = done
	h.seen[u.UpdateId]++
	h.mu.Unlock()
	h.arrive <- u.UpdateId
	return nil
}

func (h *holder) finish(id int64) {
	h.mu.Lock()
	done := h.done[id]
	h.mu.Unlock()
	done()
}

func (h *holder) await(tb testing.TB, id int64) {
	tb.Helper()
	awaitUpdate(tb, h.arrive, id)
}

// awaitUpdate waits until update id comes on arrive, skipping the others.
func awaitUpdate(tb testing.TB, arrive <-chan int64, id int64) {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-arrive:
			if got == id {
				return
			}
		case <-deadline:
			tb.Fatalf("update %d was not delivered", id)
		}
	}
}

func setup(tb testing.TB, tok string) (*emulator.Server, *intake.Poller, *holder, context.CancelFunc, <-chan error) {
	tb.Helper()
	emu, err := emulator.New(emulator.Config{Token: token})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { emu.Close() })
	api := botapi.New(emu.URL(), &http.Client{}).For(tok)
	h := newHolder()
	p := intake.NewPoller(api, h, intake.PollerConfig{Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	tb.Cleanup(cancel)
	return emu, p, h, cancel, errc
}

func wait(tb testing.TB, emu *emulator.Server, id int64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := emu.WaitConfirmed(ctx, id); err != nil {
		tb.Fatal(err)
	}
}

// TestConfirmsOnlyFinished holds the oldest update back while later ones finish: the offset
// must not pass it, and updates Telegram sends again must not be delivered twice.
func TestConfirmsOnlyFinished(t *testing.T) {
	emu, p, h, _, _ := setup(t, token)
	var ids []int64
	for _, text := range []string{"1", "2", "3", "4", "5"} {
		pushed, _ := emu.SendText(1, text)
		ids = append(ids, pushed.UpdateID)
	}
	for _, id := range ids {
		h.await(t, id)
	}
	for _, id := range ids[1:] {
		h.finish(id)
	}
	// A new update can only be fetched by a poll made after the later ones finished; the
	// offset of that poll must still hold the first one back.
	late, _ := emu.SendText(2, "late")
	h.await(t, late.UpdateID)
	if c := emu.Confirmed(); c >= ids[0] {
		t.Fatalf("confirmed up to %d while update %d is unfinished", c, ids[0])
	}
	h.finish(ids[0])
	h.finish(late.UpdateID)
	wait(t, emu, late.UpdateID)
	for id, n := range h.seen {
		if n != 1 {
			t.Errorf("update %d delivered %d times", id, n)
		}
	}
	if st := p.Stats(); st.Duplicates == 0 {
		t.Errorf("stats = %+v: the re-sent updates were not counted as duplicates", st)
	}
}

func TestSkipsUndecodableUpdate(t *testing.T) {
	emu, p, h, _, _ := setup(t, token)
	// "text" must be a string: gotgbot cannot decode this update.
	bad, err := emu.PushRaw([]byte(`{"message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"},"text":12}}`))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := emu.SendText(1, "fine")
	h.await(t, good.UpdateID)
	h.finish(good.UpdateID)
	wait(t, emu, good.UpdateID)
	if h.seen[bad] != 0 {
		t.Error("the undecodable update was delivered")
	}
	if st := p.Stats(); st.Undecodable != 1 {
		t.Errorf("stats = %+v, want one undecodable", st)
	}
}

func TestDrainConfirmsFinished(t *testing.T) {
	emu, p, h, cancel, errc := setup(t, token)
	first, _ := emu.SendText(1, "a")
	second, _ := emu.SendText(1, "b")
	h.await(t, first.UpdateID)
	h.await(t, second.UpdateID)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	h.finish(first.UpdateID)
	ctx, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	// The second update never finishes: Drain gives up at the deadline, confirming only the
	// first, so the next process gets the second again.
	if err := p.Drain(ctx); err == nil {
		t.Fatal("Drain reported success with an update unfinished")
	}
	if c := emu.Confirmed(); c != first.UpdateID {
		t.Errorf("confirmed up to %d, want %d", c, first.UpdateID)
	}
}

func TestRefusedToken(t *testing.T) {
	_, _, _, _, errc := setup(t, "55:wrong")
	select {
	case err := <-errc:
		if !errors.Is(err, intake.ErrUnauthorized) {
			t.Fatalf("Run = %v, want ErrUnauthorized", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept polling with a refused token")
	}
}

// failer is a Submitter whose first outcome for each listed update is "not kept".
type failer struct {
	*holder
	mu   sync.Mutex
	fail map[int64]bool
}

func (f *failer) Submit(u *gotgbot.Update, done func(error)) error {
	f.mu.Lock()
	failNow := f.fail[u.UpdateId]
	delete(f.fail, u.UpdateId)
	f.mu.Unlock()
	return f.holder.Deliver(u, func() {
		if failNow {
			done(errors.New("store down"))
			return
		}
		done(nil)
	})
}

// TestNotKeptIsDeliveredAgain: an update the runtime could not keep is not confirmed, and the
// next poll delivers it again; once kept it is confirmed.
func TestNotKeptIsDeliveredAgain(t *testing.T) {
	emu, err := emulator.New(emulator.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	first, _ := emu.SendText(1, "a")
	f := &failer{holder: newHolder(), fail: map[int64]bool{first.UpdateID: true}}
	p := intake.NewPoller(botapi.New(emu.URL(), &http.Client{}).For(token), f, intake.PollerConfig{Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	f.await(t, first.UpdateID)
	f.finish(first.UpdateID) // not kept
	f.await(t, first.UpdateID)
	if c := emu.Confirmed(); c >= first.UpdateID {
		t.Fatalf("confirmed up to %d, past update %d, which was not kept", c, first.UpdateID)
	}
	f.finish(first.UpdateID) // kept this time
	wait(t, emu, first.UpdateID)
	if st := p.Stats(); st.NotKept != 1 || st.InFlight != 0 {
		t.Errorf("stats %+v, want 1 not kept, none in flight", st)
	}
	f.holder.mu.Lock()
	n := f.seen[first.UpdateID]
	f.holder.mu.Unlock()
	if n != 2 {
		t.Errorf("delivered %d times, want 2", n)
	}
}
