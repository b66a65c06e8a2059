package form_test

import (
	"fmt"

	"github.com/troupebot/troupe/bot/bottest"
	"github.com/troupebot/troupe/examples/form"
)

// Example logs a workout on the real edge, against the Bot API emulator: buttons, a wrong
// answer asked again, a confirmation, and the chart.
func Example() {
	h, stop := bottest.Script(form.New())
	defer stop()
	const user = 1
	var keyboard bottest.Turn
	say := func(text string) {
		fmt.Println("user:", text)
		turn := h.Send(user, text)
		fmt.Print(turn)
		keyboard = turn
	}
	tap := func(label string) {
		fmt.Printf("user taps [%s]\n", label)
		fmt.Print(h.Tap(user, keyboard.Keyboard(), label))
	}
	say("/log")
	tap("Run")
	say("half an hour")
	say("30")
	tap("Yes")
	// Output:
	// user: /log
	// bot: What did you do? [Run] [Swim] [Ride]
	// user taps [Run]
	// bot (edited): Workout: run
	// bot: How many minutes?
	// user: half an hour
	// bot: A whole number from 1 to 600, please.
	// bot: How many minutes?
	// user: 30
	// bot: Log 30 minutes of run? [Yes] [No]
	// user taps [Yes]
	// bot (edited): Logged.
	// bot: [photo 800×500] Minutes per workout: 30 in all.
}
