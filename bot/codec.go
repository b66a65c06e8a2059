package bot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
)

// Codec turns an App's state into bytes and back, for a durable store (redisstore.Codec has
// this shape). Snapshot encodes a whole state; Delta what changed from prev to next, or
// ok == false when a snapshot should be written instead; Restore rebuilds a state from a
// snapshot and the deltas after it, oldest first. Encodings should begin with a format byte,
// so that a later build still reads what an older one wrote.
type Codec[S any] interface {
	Snapshot(s S) ([]byte, error)
	Delta(prev, next S) (delta []byte, ok bool, err error)
	Restore(snapshot []byte, deltas [][]byte) (S, error)
}

// actionFormat is the first byte of an encoded action; a later encoding takes the next
// number, and Decode keeps reading this one.
const actionFormat = 1

// actionCodec encodes an Action for the outbox with where it goes: the place its update
// answers, because after a restart the action is performed without that update.
type actionCodec struct{}

var _ actors.ActionCodec[Action] = actionCodec{}

// storedAction is an action and its place, as JSON after the format byte: every Action
// field is plain data, and JSON keeps older entries readable when fields are added.
type storedAction struct {
	Chat     int64      `json:"c,omitempty"`
	Message  int64      `json:"m,omitempty"`
	Business string     `json:"b,omitempty"`
	Query    string     `json:"q,omitempty"`
	Answers  ActionKind `json:"k,omitempty"`
	Action   Action     `json:"a"`
}

func (actionCodec) Encode(u *gotgbot.Update, a Action) ([]byte, error) {
	p := target(u)
	// Encoded straight after the format byte: json.Marshal and then a copy behind the
	// byte was a tenth of what a durable commit allocated.
	var buf bytes.Buffer
	buf.Grow(128)
	buf.WriteByte(actionFormat)
	if err := json.NewEncoder(&buf).Encode(storedAction{Chat: p.chat, Message: p.message, Business: p.business, Query: p.query, Answers: p.answers, Action: a}); err != nil {
		return nil, fmt.Errorf("encode action %d for update %d: %w", a.Kind, u.UpdateId, err)
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // Encode ends with a newline that Marshal does not write
}

func (actionCodec) Decode(data []byte) (*gotgbot.Update, Action, error) {
	if len(data) == 0 {
		return nil, Action{}, errors.New("decode action: empty")
	}
	if data[0] != actionFormat {
		return nil, Action{}, fmt.Errorf("decode action: format %d unknown", data[0])
	}
	var s storedAction
	if err := json.Unmarshal(data[1:], &s); err != nil {
		return nil, Action{}, fmt.Errorf("decode action: %w", err)
	}
	return s.update(), s.Action, nil
}

// update builds an update whose place (see target) is the stored one.
func (s storedAction) update() *gotgbot.Update {
	from := gotgbot.User{Id: s.Chat}
	switch s.Answers {
	case AnswerCallback:
		q := &gotgbot.CallbackQuery{Id: s.Query, From: from}
		if s.Message != 0 {
			q.Message = gotgbot.InaccessibleMessage{Chat: gotgbot.Chat{Id: s.Chat}, MessageId: s.Message}
		}
		return &gotgbot.Update{CallbackQuery: q}
	case AnswerPreCheckout:
		return &gotgbot.Update{PreCheckoutQuery: &gotgbot.PreCheckoutQuery{Id: s.Query, From: from}}
	case AnswerShipping:
		return &gotgbot.Update{ShippingQuery: &gotgbot.ShippingQuery{Id: s.Query, From: from}}
	case AnswerInline:
		return &gotgbot.Update{InlineQuery: &gotgbot.InlineQuery{Id: s.Query, From: from}}
	}
	return &gotgbot.Update{Message: &gotgbot.Message{MessageId: s.Message, Chat: gotgbot.Chat{Id: s.Chat}, BusinessConnectionId: s.Business}}
}
