package emulator

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// updateQueue holds the updates not yet confirmed, in update_id order, encoded once when
// pushed.
//
// Polling confirms a prefix of the queue at a time (everything below the offset); a webhook
// confirms single updates out of order (chats are delivered concurrently), so an update
// confirmed by the webhook stays in items, marked done, until every older one is confirmed
// too: then the prefix is dropped. confirmed is therefore always a watermark.
type updateQueue struct {
	mu        sync.Mutex
	next      int64
	items     []queued
	undone    int   // items not done: the pending_update_count
	confirmed int64 // every update_id <= confirmed is confirmed
	// conflict is closed when a getUpdates starts, ending the one waiting before it the way
	// Telegram does: two pollers of one bot are an error. setWebhook closes it too.
	conflict chan struct{}
	// hook delivers the queue to a webhook; nil while none is set. Its dispatch state is
	// guarded by mu, because every push must reach it in update_id order.
	hook *hook
	// reg serializes replacing the hook (setWebhook, deleteWebhook, Close), which waits for
	// the old hook's deliverers. Lock order: reg, then mu.
	reg sync.Mutex

	waiting     int // getUpdates calls long-polling now
	arrived     signal
	confirmSeen signal
	pollWaits   signal
	hookSet     signal // a webhook was registered
}

type queued struct {
	id   int64
	chat int64 // the chat (or, without one, the user) whose order webhook delivery keeps
	raw  json.RawMessage
	done bool // confirmed by the webhook while an older update is not
}

func (q *updateQueue) init(first int64) {
	if first < 1 {
		first = 1
	}
	q.next, q.confirmed = first, first-1
}

// push queues the update that encode builds for the next update_id; chat is the chat it
// belongs to (see chatOf).
func (q *updateQueue) push(chat int64, encode func(id int64) ([]byte, error)) (int64, error) {
	q.mu.Lock()
	id := q.next
	raw, err := encode(id)
	if err != nil {
		q.mu.Unlock()
		return 0, fmt.Errorf("emulator: encode update %d: %w", id, err)
	}
	q.next++
	it := queued{id: id, chat: chat, raw: raw}
	q.items = append(q.items, it)
	q.undone++
	h := q.hook
	wake := h != nil && h.addLocked(it)
	q.mu.Unlock()
	q.arrived.notify()
	if wake {
		h.wakeOne()
	}
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
		keep := uint64(-offset) // uint64: -math.MinInt64 overflows int64
		drop = len(q.items)
		for drop > 0 && keep > 0 {
			drop--
			if !q.items[drop].done {
				keep--
			}
		}
	}
	return q.dropLocked(drop) || changed
}

// dropLocked confirms the oldest n items and forgets them, with the done items that follow
// (then confirmed as well).
func (q *updateQueue) dropLocked(n int) (changed bool) {
	for n < len(q.items) && q.items[n].done {
		n++
	}
	if n == 0 {
		return false
	}
	if last := q.items[n-1].id; last > q.confirmed {
		q.confirmed, changed = last, true
	}
	for i := range q.items[:n] {
		if !q.items[i].done {
			q.undone--
		}
		q.items[i] = queued{} // release the JSON now; the slots go when append next grows
	}
	// Reslicing, not copying: a webhook drops one update at a time, and copying the rest
	// each time would cost O(backlog) per update.
	q.items = q.items[n:]
	return changed
}

// confirmedLocked says whether update id is confirmed: dropped from the queue, or done.
func (q *updateQueue) confirmedLocked(id int64) bool {
	i, found := q.findLocked(id)
	return !found || q.items[i].done
}

func (q *updateQueue) findLocked(id int64) (int, bool) {
	return slices.BinarySearchFunc(q.items, id, func(it queued, id int64) int { return cmp.Compare(it.id, id) })
}

// doneLocked confirms the single update id (a webhook delivered it) and drops the prefix of
// the queue that is now confirmed.
func (q *updateQueue) doneLocked(id int64) (changed bool) {
	i, found := q.findLocked(id)
	if !found || q.items[i].done {
		return false
	}
	q.items[i].done = true
	q.items[i].raw = nil
	q.undone--
	if i > 0 {
		return false
	}
	return q.dropLocked(0)
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
	if q.hook != nil {
		q.mu.Unlock()
		return nil, errWebhookActive
	}
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
		n := min(q.undone, int(limit))
		if n > 0 || deadline == nil {
			batch := make([]byte, 0, 64*n+2)
			batch = append(batch, '[')
			for _, it := range q.items {
				if n == 0 {
					break
				}
				if it.done {
					continue // delivered by a webhook since deleted
				}
				if len(batch) > 1 {
					batch = append(batch, ',')
				}
				batch = append(batch, it.raw...)
				n--
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
			q.mu.Lock()
			if q.hook != nil {
				err = &apiError{code: http.StatusConflict, description: "Conflict: terminated by setWebhook request"}
			}
			q.mu.Unlock()
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
	if err := q.pollWaits.until(ctx, &q.mu, func() bool { return q.waiting > 0 }); err != nil {
		return fmt.Errorf("emulator: wait for a long poll: %w", err)
	}
	return nil
}

// WaitConfirmed waits until the bot has confirmed updateID and every update before it, or
// ctx is done. A polling bot confirms with a getUpdates offset above them; a webhook
// confirms each update by answering its POST with a 2xx status.
func (s *Server) WaitConfirmed(ctx context.Context, updateID int64) error {
	q := &s.updates
	if err := q.confirmSeen.until(ctx, &q.mu, func() bool { return q.confirmed >= updateID }); err != nil {
		return fmt.Errorf("emulator: wait for update %d to be confirmed: %w", updateID, err)
	}
	return nil
}

// Confirmed returns the highest update_id that the bot has confirmed together with every
// update before it.
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
	CallbackQueryID string // for a button press, a pre-checkout, shipping or inline query
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
	id, err := s.updates.push(chat.Id, func(id int64) ([]byte, error) {
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
	cq := &wireCallbackQuery{ID: s.chats.openQuery(callbackQuery), From: from, Data: data, ChatInstance: strconv.FormatInt(chatID, 10)}
	if msg, ok := s.chats.findBot(chatID, messageID); ok {
		cq.Message = &msg
	} else if chat, ok := s.chats.chat(chatID); ok {
		// An inaccessible message: Telegram sends its chat and id with date 0.
		cq.Message = &wireMessage{MessageID: messageID, Chat: chat}
	} else {
		return Pushed{}, fmt.Errorf("emulator: press button in chat %d: chat not found", chatID)
	}
	id, err := s.updates.push(chatID, func(id int64) ([]byte, error) {
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
	raw, err := json.Marshal(u)
	if err != nil {
		return 0, fmt.Errorf("emulator: encode update: %w", err)
	}
	return s.updates.push(chatOf(raw), func(id int64) ([]byte, error) {
		u.UpdateId = id
		return json.Marshal(u)
	})
}

// PushRaw queues the JSON object raw as an update, with "update_id" set to the next id,
// whatever else it holds: for testing how a bot copes with updates it cannot decode.
func (s *Server) PushRaw(raw []byte) (int64, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return 0, fmt.Errorf("emulator: raw update is not a JSON object: %w", err)
	}
	return s.updates.push(chatOf(raw), func(id int64) ([]byte, error) {
		obj["update_id"] = json.RawMessage(strconv.FormatInt(id, 10))
		return json.Marshal(obj)
	})
}
