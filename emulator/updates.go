package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// updateQueue holds the updates not yet confirmed, in update_id order, encoded once when
// pushed.
type updateQueue struct {
	mu        sync.Mutex
	next      int64
	items     []queued
	confirmed int64 // every update_id <= confirmed is confirmed
	// conflict is closed when a getUpdates starts, ending the one waiting before it the way
	// Telegram does: two pollers of one bot are an error.
	conflict chan struct{}

	waiting     int // getUpdates calls long-polling now
	arrived     signal
	confirmSeen signal
	pollWaits   signal
}

type queued struct {
	id  int64
	raw json.RawMessage
}

func (q *updateQueue) init() { q.next = 1 }

// push queues the update that encode builds for the next update_id.
func (q *updateQueue) push(encode func(id int64) ([]byte, error)) (int64, error) {
	q.mu.Lock()
	id := q.next
	raw, err := encode(id)
	if err != nil {
		q.mu.Unlock()
		return 0, fmt.Errorf("emulator: encode update %d: %w", id, err)
	}
	q.next++
	q.items = append(q.items, queued{id: id, raw: raw})
	q.mu.Unlock()
	q.arrived.notify()
	return id, nil
}

// confirmLocked applies getUpdates' offset: a positive offset confirms every update below
// it, a negative one keeps only the newest -offset updates.
func (q *updateQueue) confirmLocked(offset int64) (changed bool) {
	drop := 0
	switch {
	case offset > 0:
		for drop < len(q.items) && q.items[drop].id < offset {
			drop++
		}
		if offset-1 > q.confirmed {
			q.confirmed, changed = offset-1, true
		}
	case offset < 0:
		if keep := int(-offset); keep < len(q.items) {
			drop = len(q.items) - keep
		}
		if drop > 0 && q.items[drop-1].id > q.confirmed {
			q.confirmed, changed = q.items[drop-1].id, true
		}
	}
	if drop > 0 {
		// Reslice rather than copy what is left: a load test keeps thousands of updates
		// queued, and copying them on every poll cost more than the poll. Clearing the
		// dropped entries lets their bytes go; append moves the rest to a new array once
		// the old one's capacity runs out.
		clear(q.items[:drop])
		q.items = q.items[drop:]
	}
	return changed
}

func (q *updateQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *updateQueue) dropAll() {
	q.mu.Lock()
	changed := false
	if n := len(q.items); n > 0 {
		changed = q.confirmLocked(q.items[n-1].id + 1)
	}
	q.mu.Unlock()
	if changed {
		q.confirmSeen.notify()
	}
}

// getUpdates answers getUpdates with Telegram's semantics: confirm below offset, return up
// to limit queued updates, and when there are none wait up to timeout seconds for one.
func (s *Server) getUpdates(ctx context.Context, p params) (any, error) {
	offset, _, err := p.int64("offset")
	if err != nil {
		return nil, err
	}
	limit, ok, err := p.int64("limit")
	if err != nil {
		return nil, err
	}
	if !ok || limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _, err := p.int64("timeout")
	if err != nil {
		return nil, err
	}
	q := &s.updates
	q.mu.Lock()
	changed := q.confirmLocked(offset)
	if q.conflict != nil {
		close(q.conflict)
	}
	conflict := make(chan struct{})
	q.conflict = conflict
	q.mu.Unlock()
	if changed {
		q.confirmSeen.notify()
	}

	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(time.Duration(timeout) * time.Second)
		defer t.Stop()
		deadline = t.C
	}
	for {
		arrived := q.arrived.wait()
		q.mu.Lock()
		n := min(len(q.items), int(limit))
		if n > 0 || deadline == nil {
			batch := make([]byte, 0, 64*n+2)
			batch = append(batch, '[')
			for i, it := range q.items[:n] {
				if i > 0 {
					batch = append(batch, ',')
				}
				batch = append(batch, it.raw...)
			}
			q.mu.Unlock()
			return json.RawMessage(append(batch, ']')), nil
		}
		q.waiting++
		q.mu.Unlock()
		q.pollWaits.notify()
		var err error
		select {
		case <-arrived:
		case <-deadline:
			deadline = nil // one more look, then answer
		case <-conflict:
			err = &apiError{code: http.StatusConflict, description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		case <-ctx.Done():
			err = ctx.Err()
		case <-s.done:
			return json.RawMessage("[]"), nil
		}
		q.mu.Lock()
		q.waiting--
		q.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// WaitPolling waits until a getUpdates call is long-polling: the bot has taken every update
// it was going to take and is waiting for more.
func (s *Server) WaitPolling(ctx context.Context) error {
	q := &s.updates
	for {
		started := q.pollWaits.wait()
		q.mu.Lock()
		waiting := q.waiting > 0
		q.mu.Unlock()
		if waiting {
			return nil
		}
		select {
		case <-started:
		case <-ctx.Done():
			return fmt.Errorf("emulator: wait for a long poll: %w", ctx.Err())
		}
	}
}

// WaitConfirmed waits until the bot has confirmed updateID (called getUpdates with a higher
// offset), or ctx is done.
func (s *Server) WaitConfirmed(ctx context.Context, updateID int64) error {
	q := &s.updates
	for {
		changed := q.confirmSeen.wait()
		q.mu.Lock()
		done := q.confirmed >= updateID
		q.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("emulator: wait for update %d to be confirmed: %w", updateID, ctx.Err())
		}
	}
}

// Confirmed returns the highest update_id the bot has confirmed.
func (s *Server) Confirmed() int64 {
	s.updates.mu.Lock()
	defer s.updates.mu.Unlock()
	return s.updates.confirmed
}

// Pushed identifies an update the test side caused.
type Pushed struct {
	UpdateID        int64
	ChatID          int64
	MessageID       int64  // the user's message, or the message whose button was pressed
	CallbackQueryID string // for a button press
}

// User returns the user the emulator plays for id: the shape SendText uses.
func User(id int64) gotgbot.User {
	return gotgbot.User{Id: id, FirstName: "User", LastName: strconv.FormatInt(id, 10), Username: "user" + strconv.FormatInt(id, 10)}
}

// SendText makes user userID send text to the bot in their private chat.
func (s *Server) SendText(userID int64, text string) (Pushed, error) {
	u := User(userID)
	return s.SendMessage(gotgbot.Chat{Id: userID, Type: "private", FirstName: u.FirstName, Username: u.Username}, u, text)
}

// SendMessage makes from send text to chat (a private chat with the bot, or a group the bot
// is in).
func (s *Server) SendMessage(chat gotgbot.Chat, from gotgbot.User, text string) (Pushed, error) {
	wc := wireChat{ID: chat.Id, Type: chat.Type, Title: chat.Title, Username: chat.Username, FirstName: chat.FirstName}
	if wc.Type == "" {
		wc.Type = "private"
	}
	msgID := s.chats.userMessage(wc)
	sender := wireUser{ID: from.Id, IsBot: from.IsBot, FirstName: from.FirstName, LastName: from.LastName, Username: from.Username}
	msg := &wireMessage{MessageID: msgID, From: &sender, Chat: wc, Date: time.Now().Unix(), Text: text}
	if len(text) > 1 && text[0] == '/' {
		// Telegram marks the command so bots' command filters see it.
		end := 1
		for end < len(text) && text[end] != ' ' && text[end] != '\n' {
			end++
		}
		msg.Entities = json.RawMessage(`[{"type":"bot_command","offset":0,"length":` + strconv.Itoa(utf16Len(text[:end])) + `}]`)
	}
	id, err := s.updates.push(func(id int64) ([]byte, error) {
		return json.Marshal(wireUpdate{UpdateID: id, Message: msg})
	})
	if err != nil {
		return Pushed{}, err
	}
	return Pushed{UpdateID: id, ChatID: chat.Id, MessageID: msgID}, nil
}

// PressButton makes user userID press the inline button with callback data on the bot's
// message messageID in chatID. Telegram only sends data that the button carries; the
// emulator sends what it is given, so tests can also press buttons that no longer exist.
func (s *Server) PressButton(userID, chatID, messageID int64, data string) (Pushed, error) {
	u := User(userID)
	from := wireUser{ID: u.Id, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username}
	cq := &wireCallbackQuery{ID: s.chats.openQuery(), From: from, Data: data, ChatInstance: strconv.FormatInt(chatID, 10)}
	if msg, ok := s.chats.findBot(chatID, messageID); ok {
		cq.Message = &msg
	} else if chat, ok := s.chats.chat(chatID); ok {
		// An inaccessible message: Telegram sends its chat and id with date 0.
		cq.Message = &wireMessage{MessageID: messageID, Chat: chat}
	} else {
		return Pushed{}, fmt.Errorf("emulator: press button in chat %d: chat not found", chatID)
	}
	id, err := s.updates.push(func(id int64) ([]byte, error) {
		return json.Marshal(wireUpdate{UpdateID: id, CallbackQuery: cq})
	})
	if err != nil {
		return Pushed{}, err
	}
	return Pushed{UpdateID: id, ChatID: chatID, MessageID: messageID, CallbackQueryID: cq.ID}, nil
}

// PushUpdate queues any update as it is, with the next update_id, and returns that id.
// Chats it mentions are not registered; the bot can only answer chats that wrote through
// SendText or SendMessage.
func (s *Server) PushUpdate(u gotgbot.Update) (int64, error) {
	return s.updates.push(func(id int64) ([]byte, error) {
		u.UpdateId = id
		return json.Marshal(u)
	})
}

// PushRaw queues the JSON object raw as an update, with "update_id" set to the next id,
// whatever else it holds: for testing how a bot copes with updates it cannot decode.
func (s *Server) PushRaw(raw []byte) (int64, error) {
	return s.updates.push(func(id int64) ([]byte, error) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("raw update is not a JSON object: %w", err)
		}
		obj["update_id"] = json.RawMessage(strconv.FormatInt(id, 10))
		return json.Marshal(obj)
	})
}
