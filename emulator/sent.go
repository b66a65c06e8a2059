package emulator

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Sent is one bot request the server accepted that a user would see.
type Sent struct {
	Seq int64 // accept order, from 1
	// Method is "sendMessage", "editMessageText", "deleteMessage", "sendPhoto",
	// "sendDocument", "sendChatAction", or an answer: "answerCallbackQuery",
	// "answerPreCheckoutQuery", "answerShippingQuery", "answerInlineQuery".
	Method    string
	ChatID    int64
	MessageID int64  // the message sent or edited
	ReplyTo   int64  // reply_parameters.message_id, or the legacy reply_to_message_id
	Text      string // message text, caption, callback answer text, or a refusal's error_message
	Buttons   [][]Button
	// Photo is the uploaded photo file, with its pixel size.
	Photo         []byte
	Width, Height int
	// Document is the file sendDocument uploaded, and its name.
	Document []byte
	FileName string
	// Action is the chat action of sendChatAction.
	Action string
	// CallbackQueryID is the query an answer method answered (whatever its kind).
	CallbackQueryID string
	// OK is a pre-checkout or shipping answer's ok; Results counts an inline answer's.
	OK      bool
	Results int
	At      time.Time
}

// outbox keeps what the bot sent, in accept order.
type outbox struct {
	mu      sync.Mutex
	seq     int64
	sent    []Sent
	discard bool
	changed signal
	subs    map[int]func(Sent) // Subscribe's, by subscription number
	subNext int
}

func (o *outbox) init(discard bool) { o.discard = discard }

// record numbers s and hands it to onSend. Both happen under the lock so OnSend sees
// sends in Seq order.
func (o *outbox) record(s Sent, onSend func(Sent)) {
	o.mu.Lock()
	o.seq++
	s.Seq = o.seq
	s.At = time.Now()
	if !o.discard {
		o.sent = append(o.sent, s)
	}
	if onSend != nil {
		onSend(s)
	}
	for _, fn := range o.subs {
		fn(s)
	}
	o.mu.Unlock()
	o.changed.notify()
}

// Subscribe calls fn for every bot request the server accepts from now on, as it calls
// Config.OnSend: in accept order, before the response is written, so fn must not block
// for long and must not call Subscribe or the returned cancel itself. Subscribers see what
// DiscardSent keeps out of Sent; several may watch one server (a web page, a load run).
// cancel ends the subscription; once it returns, fn is not called again.
func (s *Server) Subscribe(fn func(Sent)) (cancel func()) {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.subs == nil {
		o.subs = make(map[int]func(Sent))
	}
	o.subNext++
	id := o.subNext
	o.subs[id] = fn
	return func() {
		o.mu.Lock()
		delete(o.subs, id)
		o.mu.Unlock()
	}
}

// Keyboard returns the inline keyboard of the bot's message messageID in chatID, as it is
// now (after edits), and whether the emulator remembers that message: it remembers a
// chat's newest bot messages only, as editMessageText does. A button press a page offers
// can be checked against it, so that a forged callback_data never reaches the bot.
func (s *Server) Keyboard(chatID, messageID int64) ([][]Button, bool) {
	msg, ok := s.chats.findBot(chatID, messageID)
	if !ok {
		return nil, false
	}
	return msg.ReplyMarkup.buttons(), true
}

// Sent returns everything the bot sent so far, in accept order (nothing if
// Config.DiscardSent).
func (s *Server) Sent() []Sent {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return append([]Sent(nil), s.out.sent...)
}

// WaitSent waits until the bot has sent at least n things, and returns all it sent.
func (s *Server) WaitSent(ctx context.Context, n int) ([]Sent, error) {
	var sent []Sent
	err := s.out.changed.until(ctx, &s.out.mu, func() bool {
		if len(s.out.sent) < n {
			return false
		}
		sent = append([]Sent(nil), s.out.sent...)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("emulator: wait for %d sends (have %d): %w", n, len(s.Sent()), err)
	}
	return sent, nil
}
