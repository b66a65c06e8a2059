package router_test

import (
	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/router"
)

// me is the bot the tests run as.
var me = &gotgbot.User{Id: 1, IsBot: true, FirstName: "Troupe", Username: "TroupeBot"}

var (
	alice = &gotgbot.User{Id: 100, FirstName: "Alice"}
	bob   = &gotgbot.User{Id: 200, FirstName: "Bob"}
)

// to returns a handler that records name as the state and replies with it, so a test
// reads which route ran from either.
func to(name string) bot.LogicFunc[string] {
	return func(_ string, _ *bot.Update) (string, []bot.Action) {
		return name, []bot.Action{bot.Reply(name)}
	}
}

// update wraps g as the runtime would, from alice in her private chat.
func update(g *gotgbot.Update) *bot.Update {
	return &bot.Update{Update: g, Me: me, Key: alice.Id, Sender: alice, Chat: &gotgbot.Chat{Id: alice.Id, Type: "private"}}
}

// text is a message update with text and, when Telegram would mark one, its leading
// bot_command entity (as the emulator sends it).
func text(s string) *bot.Update {
	m := &gotgbot.Message{MessageId: 7, From: alice, Chat: gotgbot.Chat{Id: alice.Id, Type: "private"}, Text: s}
	if n := leadingCommand(s); n > 0 {
		m.Entities = []gotgbot.MessageEntity{{Type: "bot_command", Offset: 0, Length: int64(n)}}
	}
	return update(&gotgbot.Update{UpdateId: 42, Message: m})
}

// leadingCommand is the length of the command s starts with, the way Telegram marks it
// (ASCII, so bytes are UTF-16 units).
func leadingCommand(s string) int {
	if len(s) < 2 || s[0] != '/' {
		return 0
	}
	n := 1
	for n < len(s) && s[n] != ' ' && s[n] != '\n' {
		n++
	}
	return n
}

func callback(data string) *bot.Update {
	return update(&gotgbot.Update{UpdateId: 43, CallbackQuery: &gotgbot.CallbackQuery{Id: "q", From: *alice, Data: data}})
}

// route runs r on u and returns the name of the handler that ran ("" for none) and its
// actions.
func route(r *router.Router[string], u *bot.Update) (string, []bot.Action) {
	return r.Handle("", u)
}
