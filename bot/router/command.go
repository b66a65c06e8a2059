package router

import (
	"strings"
	"unicode"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
)

// addressee says whom a message's command is for.
type addressee uint8

const (
	notCommand addressee = iota
	forUs
	forOther // "/start@otherbot": another bot's command in a shared group
)

// CommandOf returns the command a message update starts with, lower-cased, and the
// arguments after it with surrounding space trimmed: "/Note@thisbot  buy milk" gives
// "note", "buy milk". ok is false when the message is not a command, or is a command
// addressed to another bot ("/note@otherbot"); a command addressed to any bot counts as
// ours only when u.Me names us.
//
// A command is the bot_command entity at offset 0 of the text, or of the caption for
// media; a message with no entities at all (one built by hand) is read from its text,
// "/name[@bot]" up to the first space.
func CommandOf(u *bot.Update) (name, args string, ok bool) {
	m := MessageOf(u)
	if m == nil {
		return "", "", false
	}
	name, args, to := parseCommand(m, u.Me)
	if to != forUs {
		return "", "", false
	}
	return strings.ToLower(name), args, true
}

// Args returns the arguments of the command u starts with, or "" when it is not one of
// ours.
func Args(u *bot.Update) string {
	_, args, _ := CommandOf(u)
	return args
}

// parseCommand splits m's command into its name as typed and its arguments, and says
// whom it is for. It does not allocate.
func parseCommand(m *gotgbot.Message, me *gotgbot.User) (name, args string, to addressee) {
	text, entities := m.Text, m.Entities
	if text == "" {
		text, entities = m.Caption, m.CaptionEntities
	}
	if len(text) < 2 || text[0] != '/' {
		return "", "", notCommand
	}
	var head string
	if len(entities) == 0 {
		head = text
		if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
			head = text[:i]
		}
	} else {
		n := -1
		for _, e := range entities {
			if e.Offset == 0 && e.Type == "bot_command" {
				n = utf16Prefix(text, e.Length)
				break
			}
		}
		if n < 2 {
			return "", "", notCommand
		}
		head = text[:n]
	}
	args = strings.TrimSpace(text[len(head):])
	name, target, addressed := strings.Cut(head[1:], "@")
	if !validName(name) {
		return "", "", notCommand
	}
	if addressed && (me == nil || !strings.EqualFold(target, me.Username)) {
		return name, args, forOther
	}
	return name, args, forUs
}

// utf16Prefix returns how many bytes of s the first units UTF-16 code units (an entity's
// length) span.
func utf16Prefix(s string, units int64) int {
	var n int64
	for i, r := range s {
		if n >= units {
			return i
		}
		n++
		if r >= 0x10000 {
			n++
		}
	}
	if n >= units {
		return len(s)
	}
	return -1
}

// validName reports whether s is a command name Telegram would mark: 1 to 32 letters,
// digits and underscores.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
