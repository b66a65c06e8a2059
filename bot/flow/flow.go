package flow

import (
	"time"

	"github.com/troupebot/troupe/bot"
)

// Flow is a named conversation of steps. Its definition is code; where a user is in it
// is a [State] in the user's context.
type Flow[S any] struct {
	// Name identifies the flow in the stored state and in [Manager.Start].
	Name string
	// Version is the definition's version. Raise it when a change would misread the
	// states users are parked in (a step renamed or removed, data keys changed), and say
	// in Migrate how to read the older ones.
	Version int
	// Steps are the flow's steps; Start enters the first.
	Steps []Step[S]
	// Migrate turns a state stored by an older version (from) into one of this Version.
	// It receives a copy it may change (Data is never nil). A state from a newer version, or one Migrate
	// refuses, or one left at a step that no longer exists, ends the flow with the
	// Manager's Ended text: a change to a flow never wedges a user. Nil refuses every older
	// state.
	Migrate func(from int, st State) (State, error)
}

// Step is one question of a flow: Ask shows it, Handle reads the answer.
type Step[S any] struct {
	// Name identifies the step in the stored state and in [Goto].
	Name string
	// Ask returns the prompt shown when the flow arrives at the step, and again when
	// Handle answers [Again]. Build its buttons with t.Button. Nil shows nothing.
	Ask func(s S, t *Turn, u *bot.Update) []bot.Action
	// Handle answers the user's update at this step: the state to keep, where the flow
	// goes next, and the actions to send first (before the next step's prompt). It may
	// read and write the flow's data through t. Required.
	Handle func(s S, t *Turn, u *bot.Update) (S, Next, []bot.Action)
	// Timeout, when positive, ends the flow if the step's next update comes more than
	// this long after its prompt was shown (by the updates' Now). It is checked on that
	// update, not by a timer: a user who never returns stays parked until they do.
	Timeout time.Duration
}

// Next is where a flow goes after a step's Handle. The zero Next is [Stay].
type Next struct {
	kind nextKind
	step string
}

type nextKind uint8

const (
	stay nextKind = iota
	again
	jump
	done
)

// Stay keeps the user at the step without showing its prompt again (the step's buttons
// keep working).
func Stay() Next { return Next{kind: stay} }

// Again asks the step's question again after Handle's actions (say what was wrong with
// the answer there): the prompt is shown anew, its timeout starts over, and the buttons
// of the previous showing expire.
func Again() Next { return Next{kind: again} }

// Goto moves the user to the flow's step named step and shows its prompt. A name the flow
// has no step for ends the flow with the Manager's Failed text.
func Goto(step string) Next { return Next{kind: jump, step: step} }

// Done ends the flow: its state is cleared, and Handle's actions are the last it sends.
func Done() Next { return Next{kind: done} }
