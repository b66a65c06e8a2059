package intake

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// ErrNoUpdateID is returned for an update without an update_id: it cannot be confirmed or
// told from a re-sent one.
var ErrNoUpdateID = errors.New("intake: update has no update_id")

// DecodeUpdate decodes one update as the Bot API sends it, in polling and webhook mode
// alike. It never panics, whatever raw holds: a decoder panic becomes an error. When the
// update does not decode but its update_id does, id is still set, so the caller can
// confirm past it.
func DecodeUpdate(raw []byte) (u *gotgbot.Update, id int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			u, err = nil, fmt.Errorf("decode update: decoder panicked: %v", r)
		}
	}()
	var head struct {
		UpdateID *int64 `json:"update_id"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, 0, fmt.Errorf("decode update: %w", err)
	}
	if head.UpdateID == nil {
		return nil, 0, ErrNoUpdateID
	}
	id = *head.UpdateID
	var full gotgbot.Update
	if err := json.Unmarshal(raw, &full); err != nil {
		return nil, id, fmt.Errorf("decode update %d: %w", id, err)
	}
	return &full, id, nil
}
