package bottest_test

import (
	"os"
	"strings"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/bottest"
)

// Example runs a two-line App on the edge against the emulator and prints the chat.
func Example() {
	shout := bot.App[int]{Name: "shout", Logic: bot.LogicFunc[int](func(n int, u *bot.Update) (int, []bot.Action) {
		if u.Message == nil {
			return n, nil
		}
		return n + 1, []bot.Action{bot.Reply(strings.ToUpper(u.Message.Text) + "!")}
	})}
	h, stop := bottest.Script(shout)
	defer stop()
	c := h.Chat(os.Stdout, 1)
	c.Say("hello")
	c.Say("louder")
	// Output:
	// user: hello
	// bot: HELLO!
	// user: louder
	// bot: LOUDER!
}
