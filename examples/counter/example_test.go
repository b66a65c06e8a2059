package counter_test

import (
	"fmt"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/bottest"
	"github.com/troupebot/troupe/examples/counter"
)

// Example chats with the counter on the real edge, against the Bot API emulator.
func Example() {
	h, stop := bottest.Script(counter.New())
	defer stop()
	say := func(text string) bottest.Turn {
		fmt.Println("user:", text)
		turn := h.Send(1, text)
		fmt.Print(turn)
		return turn
	}
	say("hello")
	say("/boom")
	say("hello again")
	confirm := say("/reset").Keyboard()
	fmt.Println("user presses [Yes]")
	fmt.Print(h.Tap(1, confirm, "Yes"))
	say("hi")
	// Output:
	// user: hello
	// bot: 1 so far.
	// user: /boom
	// bot: Oops, I crashed. That message was not counted.
	// user: hello again
	// bot: 2 so far.
	// user: /reset
	// bot: Reset your count of 2? [Yes] [No]
	// user presses [Yes]
	// bot (notice): Reset
	// bot (edited): Count reset to 0.
	// user: hi
	// bot: 1 so far.
}

// Example_handle calls the counter's Logic directly: a pure function of the count and the
// update, with no edge and no network.
func Example_handle() {
	logic := counter.New().Logic
	n := 41
	n, acts := logic.Handle(n, &bot.Update{Update: &gotgbot.Update{Message: &gotgbot.Message{Text: "hello"}}})
	fmt.Println(n, acts[0].Text)
	// Output:
	// 42 42 so far.
}
