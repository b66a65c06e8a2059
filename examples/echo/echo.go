package echo

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/redisstore"
	"github.com/troupebot/troupe/render"
)

// Options configure the echo App.
type Options struct {
	// Chaos makes the text "panic" panic inside Handle, to exercise supervision.
	Chaos bool
}

// ChaosPanic is what Handle panics with under Options.Chaos.
const ChaosPanic = "chaos: the user asked this actor to panic"

// Help is the answer to a command other than /chart.
const Help = "Send me text and I'll echo it, numbered. /chart draws how many I counted."

// maxEcho is the longest text echoed, in bytes: with "#n " it stays within Telegram's
// 4096 characters.
const maxEcho = 4000

// New returns the echo App. Its state is n, the user's counted messages.
func New(opt Options) bot.App[int64] {
	return bot.App[int64]{
		Name:           "echo",
		Logic:          bot.LogicFunc[int64](func(n int64, u *bot.Update) (int64, []bot.Action) { return handle(opt, n, u) }),
		AllowedUpdates: []string{"message"},
		Codec:          redisstore.Int64Codec{},
	}
}

func handle(opt Options, n int64, u *bot.Update) (int64, []bot.Action) {
	if u.Message == nil || u.Message.Text == "" {
		return n, nil
	}
	text := u.Message.Text
	if strings.HasPrefix(text, "/") {
		name, _, _ := strings.Cut(strings.Fields(text)[0], "@")
		if name == "/chart" {
			return n, []bot.Action{chart(n)}
		}
		return n, []bot.Action{bot.Reply(Help)}
	}
	if opt.Chaos && text == "panic" {
		panic(ChaosPanic)
	}
	n++
	return n, []bot.Action{bot.Reply("#" + strconv.FormatInt(n, 10) + " " + cut(text, maxEcho))}
}

// chart draws the count from none to n: a line, the cheapest chart to draw.
func chart(n int64) bot.Action {
	s := render.Series{Values: []float64{0, float64(n)}}
	opt := render.Options{Kind: render.Line, Title: "Messages I counted", YLabel: "messages"}
	return bot.ChartOf(s, opt, "I counted "+strconv.FormatInt(n, 10)+" of your messages.")
}

// cut shortens s to at most max bytes, on a rune boundary.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "…"
}
