package actors_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupebot/troupe/actors"
)

// counter is the smallest conversation with the echo contract's shape: every text message
// increments n, and "panic" panics instead.
type counter struct{}

type count struct{ n int64 }

type reply struct {
	update int64
	n      int64 // 0 for an apology
	paused bool  // the apology says the user is paused
}

func (counter) Handle(s count, u *gotgbot.Update) (count, []reply) {
	if u.Message.Text == "panic" {
		panic("asked to panic")
	}
	s.n++
	return s, []reply{{update: u.UpdateId, n: s.n}}
}

func (counter) Apology(u *gotgbot.Update, _ *actors.Crash, pause time.Duration) []reply {
	return []reply{{update: u.UpdateId, paused: pause > 0}}
}

func (counter) Throttled(u *gotgbot.Update) []reply {
	return []reply{{update: u.UpdateId, n: -2}}
}

// recorder is a Performer that keeps every reply per key, in the order performed.
type recorder struct {
	mu      sync.Mutex
	replies map[int64][]reply
}

func newRecorder() *recorder { return &recorder{replies: make(map[int64][]reply)} }

func (r *recorder) Perform(_ context.Context, u *gotgbot.Update, actions []reply, report actors.Report) {
	key, _ := actors.KeyOf(u)
	r.mu.Lock()
	r.replies[key] = append(r.replies[key], actions...)
	r.mu.Unlock()
	for i := range actions {
		report(i, nil)
	}
	report(actors.Finished, nil)
}

func (r *recorder) of(key int64) []reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]reply(nil), r.replies[key]...)
}

func textUpdate(id, user int64, text string) *gotgbot.Update {
	return &gotgbot.Update{UpdateId: id, Message: &gotgbot.Message{
		MessageId: id, From: &gotgbot.User{Id: user}, Chat: gotgbot.Chat{Id: user, Type: "private"}, Text: text,
	}}
}

// deliverAll delivers every update and waits, with a deadline, until all are done.
func deliverAll(tb testing.TB, rt *actors.Runtime[count, reply], updates [][]*gotgbot.Update) {
	tb.Helper()
	var wg sync.WaitGroup
	var pending sync.WaitGroup
	for _, us := range updates {
		pending.Add(len(us))
	}
	for _, us := range updates {
		wg.Go(func() {
			for _, u := range us {
				if err := rt.Deliver(u, pending.Done); err != nil {
					tb.Errorf("deliver update %d: %v", u.UpdateId, err)
					pending.Done()
				}
			}
		})
	}
	wg.Wait()
	waitDone(tb, &pending, 30*time.Second)
}

func waitDone(tb testing.TB, wg *sync.WaitGroup, d time.Duration) {
	tb.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		tb.Fatalf("updates not done within %v", d)
	}
}

// fastRestarts keeps tests quick: backoff in milliseconds, and no cool-down unless a test
// asks for one.
var fastRestarts = actors.RestartPolicy{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRestarts: 1 << 20}

func newRuntime(tb testing.TB, rec *recorder, cfg ...actors.Config) *actors.Runtime[count, reply] {
	tb.Helper()
	c := actors.Config{Restart: fastRestarts}
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.Logger = slog.New(slog.DiscardHandler)
	rt := actors.New(context.Background(), c, actors.Logic[count, reply](counter{}), actors.Performer[reply](rec), actors.NewMemoryStore(actors.MemoryConfig[count]{}))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Close(ctx); err != nil {
			tb.Errorf("close runtime: %v", err)
		}
	})
	return rt
}

func TestManyUsersInOrder(t *testing.T) {
	const users, perUser = 1000, 20
	rec := newRecorder()
	rt := newRuntime(t, rec)

	// One sender per user, all at once: each user's updates are sent in order, users race.
	var id atomic.Int64
	updates := make([][]*gotgbot.Update, users)
	for u := range updates {
		for range perUser {
			updates[u] = append(updates[u], textUpdate(id.Add(1), int64(u+1), "hi"))
		}
	}
	deliverAll(t, rt, updates)

	for u := range users {
		got := rec.of(int64(u + 1))
		if len(got) != perUser {
			t.Fatalf("user %d: %d replies, want %d", u+1, len(got), perUser)
		}
		for i, r := range got {
			if want := updates[u][i].UpdateId; r.update != want {
				t.Fatalf("user %d reply %d answers update %d, want %d", u+1, i, r.update, want)
			}
			if r.n != int64(i+1) {
				t.Fatalf("user %d reply %d has n=%d, want %d", u+1, i, r.n, i+1)
			}
		}
	}
	if st := rt.Stats(); st.Spawned != users || st.Handled != users*perUser || st.Crashes != 0 {
		t.Errorf("stats = %+v, want %d spawned, %d handled, no crashes", st, users, users*perUser)
	}
}

func TestCrashKeepsCommittedContext(t *testing.T) {
	const users, perUser = 200, 30
	rec := newRecorder()
	rt := newRuntime(t, rec)

	var restarts atomic.Int64
	sub := rt.System().EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*actor.SupervisorEvent); ok && e.Directive == actor.RestartDirective {
			restarts.Add(1)
		}
	})
	defer rt.System().EventStream.Unsubscribe(sub)

	// Every third message of every user panics.
	var id atomic.Int64
	updates := make([][]*gotgbot.Update, users)
	for u := range updates {
		for i := range perUser {
			text := "hi"
			if i%3 == 2 {
				text = "panic"
			}
			updates[u] = append(updates[u], textUpdate(id.Add(1), int64(u+1), text))
		}
	}
	deliverAll(t, rt, updates)

	wantPanics := int64(users * (perUser / 3))
	for u := range users {
		got := rec.of(int64(u + 1))
		if len(got) != perUser {
			t.Fatalf("user %d: %d replies, want %d (one per message)", u+1, len(got), perUser)
		}
		var n int64
		for i, r := range got {
			if want := updates[u][i].UpdateId; r.update != want {
				t.Fatalf("user %d reply %d answers update %d, want %d", u+1, i, r.update, want)
			}
			if updates[u][i].Message.Text == "panic" {
				if r.n != 0 {
					t.Fatalf("user %d: panic message %d got n=%d, want an apology", u+1, r.update, r.n)
				}
				continue
			}
			n++
			if r.n != n {
				t.Fatalf("user %d reply %d has n=%d, want %d: a crash lost or replayed context", u+1, i, r.n, n)
			}
		}
	}
	if got := restarts.Load(); got != wantPanics {
		t.Errorf("saw %d restart events, want %d", got, wantPanics)
	}
	if st := rt.Stats(); st.Crashes != wantPanics {
		t.Errorf("stats.Crashes = %d, want %d", st.Crashes, wantPanics)
	}
}

func TestKeyOf(t *testing.T) {
	user := &gotgbot.User{Id: 7}
	tests := []struct {
		name string
		u    *gotgbot.Update
		key  int64
		ok   bool
	}{
		{"message from a user", &gotgbot.Update{Message: &gotgbot.Message{From: user, Chat: gotgbot.Chat{Id: -100}}}, 7, true},
		{"channel post", &gotgbot.Update{ChannelPost: &gotgbot.Message{Chat: gotgbot.Chat{Id: -100}}}, -100, true},
		{"edited message", &gotgbot.Update{EditedMessage: &gotgbot.Message{From: user}}, 7, true},
		{"callback query", &gotgbot.Update{CallbackQuery: &gotgbot.CallbackQuery{From: *user}}, 7, true},
		{"poll: the bot-wide key", &gotgbot.Update{Poll: &gotgbot.Poll{}}, 0, true},
		{"inline query", &gotgbot.Update{InlineQuery: &gotgbot.InlineQuery{From: *user}}, 7, true},
		{"pre-checkout query", &gotgbot.Update{PreCheckoutQuery: &gotgbot.PreCheckoutQuery{From: *user}}, 7, true},
		{"reaction count", &gotgbot.Update{MessageReactionCount: &gotgbot.MessageReactionCountUpdated{Chat: gotgbot.Chat{Id: -100}}}, -100, true},
		{"anonymous vote", &gotgbot.Update{PollAnswer: &gotgbot.PollAnswer{VoterChat: &gotgbot.Chat{Id: -100}}}, -100, true},
		{"giveaway boost without a user", &gotgbot.Update{ChatBoost: &gotgbot.ChatBoostUpdated{Chat: gotgbot.Chat{Id: -100}}}, -100, true},
		{"no type set", &gotgbot.Update{UpdateId: 1}, 0, false},
		{"nil", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, ok := actors.KeyOf(tt.u)
			if key != tt.key || ok != tt.ok {
				t.Errorf("KeyOf = %d, %v; want %d, %v", key, ok, tt.key, tt.ok)
			}
		})
	}
}

func TestDeliverAfterClose(t *testing.T) {
	rt := actors.New(context.Background(), actors.Config{Logger: slog.New(slog.DiscardHandler)}, actors.Logic[count, reply](counter{}), actors.Performer[reply](newRecorder()), actors.NewMemoryStore(actors.MemoryConfig[count]{}))
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := rt.Deliver(textUpdate(1, 1, "hi"), func() {})
	if !errors.Is(err, actors.ErrClosed) {
		t.Fatalf("Deliver after Close = %v, want ErrClosed", err)
	}
}

func ExampleKeyOf() {
	u := &gotgbot.Update{Message: &gotgbot.Message{From: &gotgbot.User{Id: 42}, Chat: gotgbot.Chat{Id: -1001}}}
	key, _ := actors.KeyOf(u)
	fmt.Println(key)
	// Output: 42
}
