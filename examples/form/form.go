// Package form is a conversation on Troupe: "log a workout", a form of three steps run by
// bot/flow inside a bot/router bot. /log asks for the kind of workout with buttons, then
// the minutes as text (re-asking until they make sense), then Yes or No; Yes logs the
// entry and answers with a chart of every entry so far, over time. /cancel ends the form
// at any step; /chart draws the chart alone.
//
// The user's State holds both the log and where they are in the form (a flow.State), so
// the edge commits the form's progress after every answer, as it commits the log: a crash
// of the user's actor mid-form loses nothing they had answered.
//
//	b, err := bot.New(bot.Config{Token: token}, form.New())
package form

import (
	"fmt"
	"strconv"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/flow"
	"github.com/troupebot/troupe/bot/router"
	"github.com/troupebot/troupe/render"
)

// State is one user's: their log, and where they are in the form.
type State struct {
	Form flow.State
	Log  []Entry
}

// Entry is one logged workout.
type Entry struct {
	At      time.Time
	Kind    string
	Minutes int
}

// MaxMinutes is the longest workout the form accepts.
const MaxMinutes = 600

// New returns the form App.
func New() bot.App[State] {
	m, err := flow.NewManager(
		func(s State) flow.State { return s.Form },
		func(s State, f flow.State) State { s.Form = f; return s },
		flow.Config{}, workout)
	if err != nil {
		panic(err) // the flow is fixed code: an error here is a bug in it
	}
	r := router.New[State]()
	r.Command("log", func(s State, u *bot.Update) (State, []bot.Action) { return m.Start(s, u, "workout") })
	r.Command("chart", func(s State, _ *bot.Update) (State, []bot.Action) { return s, []bot.Action{chart(s.Log)} })
	r.Fallback(func(s State, _ *bot.Update) (State, []bot.Action) {
		return s, []bot.Action{bot.Reply("/log a workout, /chart to see them all.")}
	})
	return bot.App[State]{Name: "form", Logic: m.Wrap(r)}
}

var workout = flow.Flow[State]{Name: "workout", Version: 1, Steps: []flow.Step[State]{
	{Name: "kind", Ask: askKind, Handle: pickKind},
	{Name: "minutes", Ask: ask("How many minutes?"), Handle: readMinutes, Timeout: time.Hour},
	{Name: "confirm", Ask: askConfirm, Handle: confirm},
}}

func ask(q string) func(State, *flow.Turn, *bot.Update) []bot.Action {
	return func(State, *flow.Turn, *bot.Update) []bot.Action { return []bot.Action{bot.Reply(q)} }
}

func askKind(_ State, t *flow.Turn, _ *bot.Update) []bot.Action {
	row := bot.Row(t.Button("Run", "run"), t.Button("Swim", "swim"), t.Button("Ride", "ride"))
	return []bot.Action{bot.Reply("What did you do?").WithButtons(row)}
}

func pickKind(s State, t *flow.Turn, _ *bot.Update) (State, flow.Next, []bot.Action) {
	kind, ok := t.Pressed()
	if !ok {
		return s, flow.Again(), []bot.Action{bot.Reply("Pick one of the buttons, please.")}
	}
	t.Set("kind", kind)
	return s, flow.Goto("minutes"), []bot.Action{bot.Edit("Workout: " + kind)}
}

func readMinutes(s State, t *flow.Turn, _ *bot.Update) (State, flow.Next, []bot.Action) {
	if n, err := strconv.Atoi(t.Text()); err != nil || n < 1 || n > MaxMinutes {
		return s, flow.Again(), []bot.Action{bot.Reply(fmt.Sprintf("A whole number from 1 to %d, please.", MaxMinutes))}
	}
	t.Set("minutes", t.Text())
	return s, flow.Goto("confirm"), nil
}

func askConfirm(_ State, t *flow.Turn, _ *bot.Update) []bot.Action {
	q := fmt.Sprintf("Log %s minutes of %s?", t.Get("minutes"), t.Get("kind"))
	return []bot.Action{bot.Reply(q).WithButtons(bot.Row(t.Button("Yes", "yes"), t.Button("No", "no")))}
}

func confirm(s State, t *flow.Turn, u *bot.Update) (State, flow.Next, []bot.Action) {
	switch answer, _ := t.Pressed(); answer {
	case "no":
		return s, flow.Done(), []bot.Action{bot.Edit("Not logged.")}
	case "yes":
		n, _ := strconv.Atoi(t.Get("minutes"))
		// A full slice expression makes append copy: the committed state shares no array.
		s.Log = append(s.Log[:len(s.Log):len(s.Log)], Entry{At: u.Now, Kind: t.Get("kind"), Minutes: n})
		return s, flow.Done(), []bot.Action{bot.Edit("Logged."), chart(s.Log)}
	}
	return s, flow.Again(), []bot.Action{bot.Reply("Yes or No, please.")}
}

func chart(log []Entry) bot.Action {
	if len(log) == 0 {
		return bot.Reply("Nothing logged yet: /log a workout.")
	}
	var s render.Series
	total := 0
	for _, e := range log {
		s.Values, s.Times, total = append(s.Values, float64(e.Minutes)), append(s.Times, e.At), total+e.Minutes
	}
	opt := render.Options{Title: "Workouts", YLabel: "minutes"}
	return bot.ChartOf(s, opt, fmt.Sprintf("Minutes per workout: %d in all.", total))
}
