// Package counter is the smallest bot on Troupe's router: it counts each user's messages,
// resets the count after an inline confirmation, and crashes on /boom to show supervision.
//
// Its state is one int per user. The edge commits it after each message; a crash (/boom)
// commits nothing, so the count goes on from the last committed value, and the user gets
// the counter's own Apology.
//
//	b, err := bot.New(bot.Config{Token: token}, counter.New())
package counter

import (
	"fmt"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/router"
)

// New returns the counter App.
func New() bot.App[int] {
	r := router.New[int]()
	r.Command("start", help)
	r.Command("reset", askReset)
	r.Callback("reset:", reset)
	r.Command("boom", func(int, *bot.Update) (int, []bot.Action) { panic("boom: the user asked for a crash") })
	r.On(router.Message, count)
	return bot.App[int]{Name: "counter", Logic: logic{r}}
}

// logic is the router with an apology: embedding promotes the router's Handle.
type logic struct{ *router.Router[int] }

// Apology answers a crash; nothing of the crashed message was counted.
func (logic) Apology(_ *bot.Update, _ error, pause time.Duration) []bot.Action {
	if pause > 0 {
		return []bot.Action{bot.Reply(fmt.Sprintf("I keep crashing; back in %v.", pause.Round(time.Second)))}
	}
	return []bot.Action{bot.Reply("Oops, I crashed. That message was not counted.")}
}

func help(n int, _ *bot.Update) (int, []bot.Action) {
	return n, []bot.Action{bot.Reply("I count your messages. /reset starts over, /boom crashes me.")}
}

func count(n int, _ *bot.Update) (int, []bot.Action) {
	return n + 1, []bot.Action{bot.Reply(fmt.Sprintf("%d so far.", n+1))}
}

func askReset(n int, _ *bot.Update) (int, []bot.Action) {
	ask := bot.Reply(fmt.Sprintf("Reset your count of %d?", n))
	return n, []bot.Action{ask.WithButtons(bot.Row(bot.Data("Yes", "reset:yes"), bot.Data("No", "reset:no")))}
}

func reset(n int, u *bot.Update) (int, []bot.Action) {
	if u.CallbackQuery.Data != "reset:yes" {
		return n, []bot.Action{bot.Answer(""), bot.Edit(fmt.Sprintf("Kept your count of %d.", n))}
	}
	return 0, []bot.Action{bot.Answer("Reset"), bot.Edit("Count reset to 0.")}
}
