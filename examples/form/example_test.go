package form_test

import (
	"os"

	"github.com/troupebot/troupe/bot/bottest"
	"github.com/troupebot/troupe/examples/form"
)

// Example logs a workout on the real edge, against the Bot API emulator: buttons, a wrong
// answer asked again, a confirmation, and the chart.
func Example() {
	h, stop := bottest.Script(form.New())
	defer stop()
	c := h.Chat(os.Stdout, 1)
	c.Say("/log")
	c.Tap("Run")
	c.Say("half an hour")
	c.Say("30")
	c.Tap("Yes")
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
