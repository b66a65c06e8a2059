package bottest_test

import (
	"fmt"
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
	for _, text := range []string{"hello", "louder"} {
		fmt.Println("user:", text)
		fmt.Print(h.Send(1, text))
	}
	// Output:
	// user: hello
	// bot: HELLO!
	// user: louder
	// bot: LOUDER!
}
