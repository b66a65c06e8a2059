package counter_test

import (
	"fmt"
	"os"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/bottest"
	"github.com/troupebot/troupe/examples/counter"
)

// Example chats with the counter on the real edge, against the Bot API emulator.
func Example() {
	h, stop := bottest.Script(counter.New())
	defer stop()
	c := h.Chat(os.Stdout, 1)
	c.Say("hello")
	c.Say("/boom")
	c.Say("hello again")
	c.Say("/reset")
	c.Tap("Yes")
	c.Say("hi")
	// Output:
	// user: hello
	// bot: 1 so far.
	// user: /boom
	// bot: Oops, I crashed. That message was not counted.
	// user: hello again
	// bot: 2 so far.
	// user: /reset
	// bot: Reset your count of 2? [Yes] [No]
	// user taps [Yes]
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
