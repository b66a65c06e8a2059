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

// The first byte of an encoded action says its format. Encode writes the newest; Decode
// reads every one, so that what an older build left in the outbox is still sent after a
// redeploy. A later encoding takes the next number.
const (
	// actionJSON is storedAction as JSON: the Action with every field, named in full,
	// about 250 bytes for a short reply.
	actionJSON = 1
	// actionCompact is compactStored as JSON: short names, and zero fields left out, so
	// that a short reply and its outbox entry's 12-byte id stay within the 64 bytes Redis
	// keeps in a sorted set's compact encoding (zset-max-listpack-value) rather than a
	// skip list and a hash table.
	actionCompact = 2
)

// actionCodec encodes an Action for the outbox with where it goes: the place its update
// answers, because after a restart the action is performed without that update.
type actionCodec struct{}

var _ actors.ActionCodec[Action] = actionCodec{}

// storedPlace is an action's place (see target) as both formats store it; embedded, its
// fields are written as the stored object's own.
type storedPlace struct {
	Chat     int64      `json:"c,omitempty"`
	Message  int64      `json:"m,omitempty"`
	Business string     `json:"b,omitempty"`
	Query    string     `json:"q,omitempty"`
	Answers  ActionKind `json:"k,omitempty"`
}

func (p place) stored() storedPlace {
	return storedPlace{Chat: p.chat, Message: p.message, Business: p.business, Query: p.query, Answers: p.answers}
}

// storedAction is an action and its place, as JSON after the format byte (actionJSON):
// every Action field is plain data, and JSON keeps older entries readable when fields are
// added.
type storedAction struct {
	storedPlace
	Action Action `json:"a"`
}

// compactStored is storedAction in the compact format.
type compactStored struct {
	storedPlace
	Action compactAction `json:"a"`
}

// compactAction is Action with short names and zero fields left out. It has Action's
// fields in Action's order, so that each converts to the other (and a field added to one
// but not the other does not compile).
type compactAction struct {
	Kind           ActionKind `json:"k,omitempty"`
	Chat           int64      `json:"c,omitempty"`
	Text           string     `json:"t,omitempty"`
	ParseMode      string     `json:"p,omitempty"`
	Buttons        [][]Button `json:"b,omitempty"`
	Keyboard       [][]string `json:"kb,omitempty"`
	RemoveKeyboard bool       `json:"rk,omitempty"`
	NoReply        bool       `json:"nr,omitempty"`
	EditID         int64      `json:"e,omitempty"`
	Alert          bool       `json:"al,omitempty"`
	OK             bool       `json:"ok,omitempty"`
	File           *File      `json:"f,omitempty"`
	Chart          *Chart     `json:"ch,omitempty"`
	ChatAction     string     `json:"ca,omitempty"`
	Name           string     `json:"n,omitempty"`
	Payload        []byte     `json:"pl,omitempty"`
	Answers        bool       `json:"an,omitempty"`
}

func (actionCodec) Encode(u *gotgbot.Update, a Action) ([]byte, error) {
	p := target(u)
	// Encoded straight after the format byte: json.Marshal and then a copy behind the
	// byte was a tenth of what a durable commit allocated.
	var buf bytes.Buffer
	buf.Grow(96)
	buf.WriteByte(actionCompact)
	if err := json.NewEncoder(&buf).Encode(compactStored{storedPlace: p.stored(), Action: compactAction(a)}); err != nil {
		return nil, fmt.Errorf("encode action %d for update %d: %w", a.Kind, u.UpdateId, err)
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // Encode ends with a newline that Marshal does not write
}

func (actionCodec) Decode(data []byte) (*gotgbot.Update, Action, error) {
	if len(data) == 0 {
		return nil, Action{}, errors.New("decode action: empty")
	}
	switch data[0] {
	case actionJSON:
		var s storedAction
		if err := json.Unmarshal(data[1:], &s); err != nil {
			return nil, Action{}, fmt.Errorf("decode action: %w", err)
		}
		return s.update(), s.Action, nil
	case actionCompact:
		var c compactStored
		if err := json.Unmarshal(data[1:], &c); err != nil {
			return nil, Action{}, fmt.Errorf("decode action: %w", err)
		}
		return c.update(), Action(c.Action), nil
	}
	return nil, Action{}, fmt.Errorf("decode action: format %d unknown", data[0])
}

// update builds an update whose place (see target) is the stored one.
func (s storedPlace) update() *gotgbot.Update {
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
