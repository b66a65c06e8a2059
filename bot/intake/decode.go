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
	id, ok := peekUpdateID(raw)
	if !ok {
		// Not Telegram's usual shape: find the update_id the slow way. json.Unmarshal
		// checks the syntax of the whole input first, so past this raw is well-formed.
		var head struct {
			UpdateID *int64 `json:"update_id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("intake: decode update: %w", err)
		}
		if head.UpdateID == nil {
			return nil, ErrNoUpdateID
		}
		id = *head.UpdateID
	}
	defer func() {
		if r := recover(); r != nil {
			u, err = nil, &UndecodableError{ID: id, Err: fmt.Errorf("decoder panicked: %v", r)}
		}
	}()
	if q, ok := quickUpdate(raw); ok {
		return q, nil
	}
	var full gotgbot.Update
	if err := json.Unmarshal(raw, &full); err != nil {
		if !json.Valid(raw) {
			// Only the prefix looked like an update: the rest is not JSON.
			return nil, fmt.Errorf("intake: decode update: %w", err)
		}
		return nil, &UndecodableError{ID: id, Err: err}
	}
	return &full, nil
}

// peekUpdateID reads the update_id of an update that starts with it, as Telegram's do
// (`{"update_id":123,`), without decoding the rest; ok is false for any other shape, which
// then takes the full decoder.
func peekUpdateID(raw []byte) (id int64, ok bool) {
	const prefix = `{"update_id":`
	if len(raw) <= len(prefix) || string(raw[:len(prefix)]) != prefix {
		return 0, false
	}
	digits := raw[len(prefix):]
	n := 0
	for n < len(digits) && n < 18 && digits[n] >= '0' && digits[n] <= '9' {
		id = id*10 + int64(digits[n]-'0')
		n++
	}
	if n == 0 || n == len(digits) || (digits[n] != ',' && digits[n] != '}') {
		return 0, false
	}
	return id, true
}
