package intake

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// ErrNoUpdateID is returned for a JSON object without an update_id: it cannot be confirmed
// or told from a re-sent one.
var ErrNoUpdateID = errors.New("intake: update has no update_id")

// UndecodableError is a well-formed update, with its update_id, that gotgbot's types
// refuse: most likely one carrying something newer than this version of gotgbot. Both
// intakes skip it and confirm past it, since refusing it would have Telegram send it again
// and again, and hold up every update behind it.
type UndecodableError struct {
	ID  int64
	Err error
}

func (e *UndecodableError) Error() string {
	return fmt.Sprintf("intake: decode update %d: %v", e.ID, e.Err)
}

func (e *UndecodableError) Unwrap() error { return e.Err }

// DecodeUpdate decodes one update as the Bot API sends it, in polling and webhook mode
// alike. It never panics, whatever raw holds: a decoder panic becomes an error. Malformed
// JSON, or JSON without an update_id (ErrNoUpdateID), is an error; a well-formed update
// gotgbot cannot decode is an *UndecodableError.
func DecodeUpdate(raw []byte) (u *gotgbot.Update, err error) {
	var head struct {
		UpdateID *int64 `json:"update_id"`
	}
	// json.Unmarshal checks the syntax of the whole input before decoding, so past this
	// point raw is well-formed JSON.
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("intake: decode update: %w", err)
	}
	if head.UpdateID == nil {
		return nil, ErrNoUpdateID
	}
	id := *head.UpdateID
	defer func() {
		if r := recover(); r != nil {
			u, err = nil, &UndecodableError{ID: id, Err: fmt.Errorf("decoder panicked: %v", r)}
		}
	}()
	var full gotgbot.Update
	if err := json.Unmarshal(raw, &full); err != nil {
		return nil, &UndecodableError{ID: id, Err: err}
	}
	return &full, nil
}
