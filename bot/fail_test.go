package bot_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
)

// crashy panics on "boom" and counts everything else.
func crashy(n int, u *bot.Update) (int, []bot.Action) {
	if u.Message != nil && u.Message.Text == "boom" {
		panic("the secret reason")
	}
	return n + 1, []bot.Action{bot.Reply(fmt.Sprint("ok ", n+1))}
}

// polite is crashy with its own apology and flood notice.
type polite struct{ got chan error }

func (polite) Handle(n int, u *bot.Update) (int, []bot.Action) { return crashy(n, u) }

func (p polite) Apology(_ *bot.Update, err error, _ time.Duration) []bot.Action {
	p.got <- err
	return []bot.Action{bot.Reply("my apology")}
}

func (polite) Throttled(*bot.Update) []bot.Action { return []bot.Action{bot.Reply("my slow down")} }

// TestApologyAndThrottleDefaults crashes an App and floods it, with and without its own
// Apology and Throttled: without, the edge answers with its short defaults, which never
// name the crash; with, the App's answers go out, and the apology gets the panic as a
// *bot.Crash.
func TestApologyAndThrottleDefaults(t *testing.T) {
	errs := make(chan error, 1)
	for _, tc := range []struct {
		name              string
		logic             bot.Logic[int]
		apology, slowDown string
	}{
		{"defaults", bot.LogicFunc[int](crashy), bot.ApologyText, bot.ThrottledText},
		{"the app's own", polite{got: errs}, "my apology", "my slow down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := startBot(t, bot.Config{Flood: actors.FloodLimit{Rate: 0.001, Burst: 3}}, bot.App[int]{Name: tc.name, Logic: tc.logic})
			const user = 21
			for _, text := range []string{"one", "boom", "two", "three"} {
				send(t, emu, user, text)
			}
			var got []string
			for _, s := range emu.Sent() {
				got = append(got, s.Text)
			}
			want := []string{"ok 1", tc.apology, "ok 2", tc.slowDown}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("replies %q, want %q", got, want)
			}
			if strings.Contains(strings.Join(got, ""), "secret") {
				t.Errorf("a reply names the crash: %q", got)
			}
			// A press in the flood is not handled, but still answered: its client spins
			// until it is.
			p, err := emu.PressButton(user, user, 1, "x")
			if err != nil {
				t.Fatal(err)
			}
			waitConfirmed(t, emu, p.UpdateID)
			if last := emu.Sent()[len(emu.Sent())-1]; last.Method != "answerCallbackQuery" || last.CallbackQueryID != p.CallbackQueryID {
				t.Errorf("a press in the flood: the edge last sent %+v, want its answer", last)
			}
		})
	}
	var crash *bot.Crash
	if err := <-errs; !errors.As(err, &crash) || crash.Value != "the secret reason" || len(crash.Stack) == 0 {
		t.Errorf("the apology got %v, want a *bot.Crash with the panic and its stack", err)
	}
}

// TestOnEvent: a crash, the restart after it and a passivation reach Config.OnEvent as
// typed values.
func TestOnEvent(t *testing.T) {
	events := make(chan bot.Event, 16)
	emu := startBot(t, bot.Config{IdleTimeout: 20 * time.Millisecond, OnEvent: func(e bot.Event) { events <- e }},
		bot.App[int]{Name: "crashy", Logic: bot.LogicFunc[int](crashy)})
	const user = 31
	send(t, emu, user, "boom")
	var crashed, restarted, passivated bool
	deadline := time.After(30 * time.Second)
	for !crashed || !restarted || !passivated {
		select {
		case e := <-events:
			switch e := e.(type) {
			case *bot.Crashed:
				var c *bot.Crash
				crashed = e.Key == user && errors.As(e.Err, &c) && c.Value == "the secret reason"
			case *bot.Restarted:
				restarted = e.Key == user
			case *bot.Passivated:
				passivated = e.Key == user
			}
			if e.LogValue().Kind() == 0 {
				t.Errorf("%T has no log value", e)
			}
		case <-deadline:
			t.Fatalf("events: crashed %v, restarted %v, passivated %v; want all", crashed, restarted, passivated)
		}
	}
}
