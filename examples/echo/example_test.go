package echo_test

import (
	"fmt"
	"os"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/bottest"
	"github.com/troupebot/troupe/examples/echo"
)

// Example runs the echo App on the edge against the Bot API emulator, with chaos on: a
// crash is apologised for and not counted.
func Example() {
	h, stop := bottest.Script(echo.New(echo.Options{Chaos: true}))
	defer stop()
	c := h.Chat(os.Stdout, 42)
	for _, text := range []string{"hello", "panic", "again", "/chart"} {
		c.Say(text)
	}
	// Output:
	// user: hello
	// bot: #1 hello
	// user: panic
	// bot: Sorry, something went wrong with that, and nothing of it was kept. Please try again.
	// user: again
	// bot: #2 again
	// user: /chart
	// bot: [photo 800×500] I counted 2 of your messages.
}

// Example_handle calls echo's Logic directly: n is the state, the reply its action.
func Example_handle() {
	logic := echo.New(echo.Options{}).Logic
	n, acts := logic.Handle(6, &bot.Update{Update: &gotgbot.Update{Message: &gotgbot.Message{Text: "hi"}}})
	fmt.Println(n, acts[0].Text)
	// Output:
	// 7 #7 hi
}
