package form_test

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/bottest"
	"github.com/troupebot/troupe/bot/router"
	"github.com/troupebot/troupe/examples/form"
)

// clock is the edge's injected clock: the test moves it, never sleeps.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// crashOn makes the user's actor panic on text, around the form's whole Logic.
func crashOn(text string) router.Middleware[form.State] {
	return func(next bot.Logic[form.State]) bot.Logic[form.State] {
		return bot.LogicFunc[form.State](func(s form.State, u *bot.Update) (form.State, []bot.Action) {
			if u.Message != nil && u.Message.Text == text {
				panic("test: crash on " + text)
			}
			return next.Handle(s, u)
		})
	}
}

// chat is one user's side of the conversation, checking each turn's transcript.
type chat struct {
	t *testing.T
	*bottest.Chat
}

func newChat(t *testing.T, h *bottest.Harness, user int64) *chat {
	return &chat{t: t, Chat: h.Chat(io.Discard, user)}
}

func (c *chat) check(what string, turn bottest.Turn, want string) bottest.Turn {
	c.t.Helper()
	if got := turn.String(); got != want {
		c.t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
	return turn
}

func (c *chat) send(text, want string) bottest.Turn {
	c.t.Helper()
	return c.check("user sends "+text, c.Say(text), want)
}

func (c *chat) tap(label, want string) bottest.Turn {
	c.t.Helper()
	return c.check("user taps "+label, c.Tap(label), want)
}

// The prompts the tests see again and again.
const (
	whatKind   = "bot: What did you do? [Run] [Swim] [Ride]\n"
	howLong    = "bot: How many minutes?\n"
	wrongCount = "bot: A whole number from 1 to 600, please.\n" + howLong
	help       = "bot: /log a workout, /chart to see them all.\n"
)

// start runs the form for user on an edge whose clock the test moves.
func start(t *testing.T, user int64) (*chat, *clock) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)}
	return newChat(t, bottest.Start(t, form.New(), bottest.WithConfig(bot.Config{Now: clk.Now})), user), clk
}

func TestLogWorkouts(t *testing.T) {
	c, clk := start(t, 3)

	c.send("/chart", "bot: Nothing logged yet: /log a workout.\n")
	c.send("/log", whatKind)
	c.send("run", "bot: Pick one of the buttons, please.\n"+whatKind)
	c.tap("Run", "bot (edited): Workout: run\n"+howLong)
	c.send("a lot", wrongCount)
	c.send("601", wrongCount)
	c.send("30", "bot: Log 30 minutes of run? [Yes] [No]\n")
	first := c.tap("Yes", "bot (edited): Logged.\nbot: [photo 800×500] Minutes per workout: 30 in all.\n")

	clk.Add(24 * time.Hour)
	c.send("/log", whatKind)
	c.tap("Swim", "bot (edited): Workout: swim\n"+howLong)
	c.send("45", "bot: Log 45 minutes of swim? [Yes] [No]\n")
	c.tap("No", "bot (edited): Not logged.\n")
	c.tap("Yes", "bot (notice): This button has expired.\n")

	c.send("/log", whatKind)
	c.tap("Ride", "bot (edited): Workout: ride\n"+howLong)
	c.send("90", "bot: Log 90 minutes of ride? [Yes] [No]\n")
	second := c.tap("Yes", "bot (edited): Logged.\nbot: [photo 800×500] Minutes per workout: 120 in all.\n")
	if a, b := first.Photos()[0].Photo, second.Photos()[0].Photo; string(a) == string(b) {
		t.Error("the chart of two workouts is the chart of one")
	}
}

func TestCancelAndTimeout(t *testing.T) {
	c, clk := start(t, 4)

	c.send("/log", whatKind)
	c.tap("Run", "bot (edited): Workout: run\n"+howLong)
	c.send("/cancel", "bot: Cancelled.\n")
	c.send("30", help)

	c.send("/log", whatKind)
	c.tap("Run", "bot (edited): Workout: run\n"+howLong)
	clk.Add(2 * time.Hour) // the minutes step waits an hour
	c.send("30", "bot: That took a while, so I stopped waiting. Start again whenever you like.\n"+help)
	c.send("/chart", "bot: Nothing logged yet: /log a workout.\n")
}

// TestFormSurvivesACrash crashes the user's actor mid-form: what the user had answered is
// committed state, so the form goes on where it was.
func TestFormSurvivesACrash(t *testing.T) {
	app := form.New()
	app.Logic = router.With(app.Logic, crashOn("boom"))
	c := newChat(t, bottest.Start(t, app), 5)

	c.send("/log", whatKind)
	c.tap("Swim", "bot (edited): Workout: swim\n"+howLong)
	crash := c.Say("boom")
	if len(crash.Sent) != 1 || !strings.HasPrefix(crash.Sent[0].Text, "Sorry") {
		t.Fatalf("crash answered %q, want the edge's apology", crash.Texts())
	}
	c.send("20", "bot: Log 20 minutes of swim? [Yes] [No]\n")
	c.tap("Yes", "bot (edited): Logged.\nbot: [photo 800×500] Minutes per workout: 20 in all.\n")
}
