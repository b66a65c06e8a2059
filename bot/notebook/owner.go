package notebook

import (
	"strconv"
	"strings"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// Buttons belong to the user who asked for them. In a group every member sees them, and a
// press is routed by the presser's user id to the presser's actor, whose context knows
// nothing of the owner's: so the owner's id travels in the callback data, and a press by
// anyone else is refused before it is read.

// owned returns callback data carrying payload for owner only: "<payload>@<owner>". With
// a payload of at most 44 bytes it stays within Telegram's 64 (a user id is at most 19
// digits).
func owned(owner int64, payload string) string {
	return payload + "@" + strconv.FormatInt(owner, 10)
}

// ownerOf splits a press's callback data into its payload and its owner. Data without an
// owner (sent before buttons carried one) belongs to the presser when it was pressed in the
// presser's private chat, where nobody else can press it; elsewhere its owner is unknown.
func ownerOf(q *gotgbot.CallbackQuery) (payload string, owner int64, known bool) {
	if i := strings.LastIndexByte(q.Data, '@'); i >= 0 {
		owner, err := strconv.ParseInt(q.Data[i+1:], 10, 64)
		if err != nil || owner <= 0 {
			return q.Data, 0, false
		}
		return q.Data[:i], owner, true
	}
	if q.Message != nil {
		if chat := q.Message.GetChat(); chat.Type == "private" && chat.Id == q.From.Id {
			return q.Data, q.From.Id, true
		}
	}
	return q.Data, 0, false
}

// askedBy is the user a reply to m is for: its sender, or in a chat without one (a channel
// post, an anonymous group admin) the chat.
func askedBy(m *gotgbot.Message) int64 {
	if m.From != nil {
		return m.From.Id
	}
	return m.Chat.Id
}
