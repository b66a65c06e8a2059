package webchat

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/troupebot/troupe/emulator"
)

// Bounds on what the hub keeps, so a long session does not grow without end.
const (
	historyPerChat = 200 // items a chat's transcript keeps; older ones leave the page too
	photosKept     = 32  // photos whose bytes are kept for the page, newest
	streamBuffer   = 256 // events a stream may lag behind before it is dropped
)

// Item is one message in a chat as the page shows it.
type Item struct {
	Seq       int64      `json:"seq"`  // the hub's order over every chat
	Kind      string     `json:"kind"` // "user" or "bot"
	Chat      int64      `json:"chat"`
	From      int64      `json:"from,omitempty"` // the user who wrote a "user" item
	MessageID int64      `json:"message_id"`
	ReplyTo   int64      `json:"reply_to,omitempty"`
	Text      string     `json:"text,omitempty"`
	Buttons   [][]button `json:"buttons,omitempty"`
	Photo     string     `json:"photo,omitempty"` // the URL of the photo's PNG bytes
	Width     int        `json:"width,omitempty"`
	Height    int        `json:"height,omitempty"`
	Edited    bool       `json:"edited,omitempty"`
}

type button struct {
	Text string `json:"text"`
	Data string `json:"data,omitempty"`
	URL  string `json:"url,omitempty"`
}

func buttonsOf(rows [][]emulator.Button) [][]button {
	if len(rows) == 0 {
		return nil
	}
	out := make([][]button, len(rows))
	for i, row := range rows {
		out[i] = make([]button, len(row))
		for j, b := range row {
			out[i][j] = button{Text: b.Text, Data: b.Data, URL: b.URL}
		}
	}
	return out
}

type photoKey struct{ chat, message int64 }

// hub keeps the page's chats and fans events out to the open streams. Every event is
// published under mu, so all streams see one order, and a stream's first event (hello,
// with the history) is taken under mu too, so nothing falls between it and what follows.
//
// Lock order: the emulator's outbox lock (onSent runs under it), then mu. push holds mu
// while it pushes an update to the emulator, which takes neither the outbox lock nor
// calls back: a reply therefore never reaches a transcript before the message it answers.
type hub struct {
	mu         sync.Mutex
	seq        int64
	chats      map[int64]*transcript
	queries    map[string]int64 // callback queries pressed on the page → their chat
	photos     map[photoKey][]byte
	photoOrder []photoKey
	streams    map[*stream]struct{}
	maxStreams int
	streamsCh  chan struct{} // closed and replaced when the set of streams changes
}

type transcript struct {
	items []*Item
	byMsg map[int64]*Item
}

// stream is one open event stream: a page.
type stream struct {
	ch   chan []byte
	gone chan struct{} // closed when the hub dropped it (lagging, or the server closing)
}

func newHub(chatIDs []int64, maxStreams int) *hub {
	h := &hub{
		chats:      make(map[int64]*transcript, len(chatIDs)),
		queries:    make(map[string]int64),
		photos:     make(map[photoKey][]byte),
		streams:    make(map[*stream]struct{}),
		maxStreams: maxStreams,
		streamsCh:  make(chan struct{}),
	}
	for _, id := range chatIDs {
		h.chats[id] = &transcript{byMsg: make(map[int64]*Item)}
	}
	return h
}

// event encodes one server-sent event.
func event(name string, data any) []byte {
	b, err := json.Marshal(data)
	if err != nil {
		// Only the package's own types are published; they always encode.
		panic(fmt.Sprintf("webchat: encode %s event: %v", name, err))
	}
	return []byte("event: " + name + "\ndata: " + string(b) + "\n\n")
}

// publishLocked sends ev to every stream; a stream too far behind is dropped (its page
// reconnects and starts again from hello) rather than holding the bot's sends up.
func (h *hub) publishLocked(ev []byte) {
	for st := range h.streams {
		select {
		case st.ch <- ev:
		default:
			h.dropLocked(st)
		}
	}
}

func (h *hub) publish(name string, data any) {
	ev := event(name, data)
	h.mu.Lock()
	h.publishLocked(ev)
	h.mu.Unlock()
}

func (h *hub) dropLocked(st *stream) {
	if _, ok := h.streams[st]; !ok {
		return
	}
	delete(h.streams, st)
	close(st.gone)
	close(h.streamsCh)
	h.streamsCh = make(chan struct{})
}

// errTooManyStreams refuses a page past the bound on open streams.
var errTooManyStreams = fmt.Errorf("webchat: too many open pages")

// open adds a stream whose first event is hello(history), or refuses when maxStreams are
// open.
func (h *hub) open(hello func(items []Item) []byte) (*stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.streams) >= h.maxStreams {
		return nil, fmt.Errorf("%w: %d are open, the most this sandbox serves", errTooManyStreams, len(h.streams))
	}
	st := &stream{ch: make(chan []byte, streamBuffer), gone: make(chan struct{})}
	st.ch <- hello(h.historyLocked(0))
	h.streams[st] = struct{}{}
	close(h.streamsCh)
	h.streamsCh = make(chan struct{})
	return st, nil
}

func (h *hub) close(st *stream) {
	h.mu.Lock()
	h.dropLocked(st)
	h.mu.Unlock()
}

// closeAll drops every stream: the server is closing.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for st := range h.streams {
		h.dropLocked(st)
	}
}

// waitStreams waits until n streams are open, or ctx is done.
func (h *hub) waitStreams(ctx context.Context, n int) error {
	for {
		h.mu.Lock()
		have, changed := len(h.streams), h.streamsCh
		h.mu.Unlock()
		if have == n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("webchat: wait for %d open streams (have %d): %w", n, have, ctx.Err())
		}
	}
}

// historyLocked returns the items of chat (every chat for 0), oldest first.
func (h *hub) historyLocked(chat int64) []Item {
	var out []Item
	for id, t := range h.chats {
		if chat != 0 && id != chat {
			continue
		}
		for _, it := range t.items {
			out = append(out, *it)
		}
	}
	slices.SortFunc(out, func(a, b Item) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

func (h *hub) history(chat int64) []Item {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.historyLocked(chat)
}

// addLocked appends it to its chat's transcript and publishes it.
func (h *hub) addLocked(it Item) {
	t := h.chats[it.Chat]
	h.seq++
	it.Seq = h.seq
	p := &it
	t.items = append(t.items, p)
	if it.Kind == "bot" {
		t.byMsg[it.MessageID] = p
	}
	if len(t.items) > historyPerChat {
		old := t.items[0]
		t.items[0] = nil
		t.items = t.items[1:]
		delete(t.byMsg, old.MessageID)
	}
	h.publishLocked(event("item", it))
}

// push runs send (which pushes the user's update to the emulator) and records what the
// user wrote, under mu, so that the bot's reply is recorded after it.
func (h *hub) push(chat, from int64, text string, send func() (emulator.Pushed, error)) (emulator.Pushed, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, err := send()
	if err != nil {
		return p, err
	}
	h.addLocked(Item{Kind: "user", Chat: chat, From: from, MessageID: p.MessageID, Text: text})
	return p, nil
}

// press runs send (a button press) and remembers its callback query, so its answer is
// shown in the chat it came from.
func (h *hub) press(chat int64, send func() (emulator.Pushed, error)) (emulator.Pushed, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, err := send()
	if err == nil {
		h.queries[p.CallbackQueryID] = chat
	}
	return p, err
}

// forgetQuery drops a press the bot never answered (its update was not confirmed).
func (h *hub) forgetQuery(id string) {
	h.mu.Lock()
	delete(h.queries, id)
	h.mu.Unlock()
}

// onSent records what the bot sent to one of the page's chats; sends to other chats (a
// load run's users) are not the page's.
func (h *hub) onSent(m emulator.Sent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch m.Method {
	case "answerCallbackQuery":
		chat, ok := h.queries[m.CallbackQueryID]
		if !ok {
			return
		}
		delete(h.queries, m.CallbackQueryID)
		if m.Text != "" {
			h.publishLocked(event("toast", map[string]any{"chat": chat, "text": m.Text}))
		}
		return
	}
	t := h.chats[m.ChatID]
	if t == nil {
		return
	}
	switch m.Method {
	case "sendMessage":
		h.addLocked(Item{Kind: "bot", Chat: m.ChatID, MessageID: m.MessageID, ReplyTo: m.ReplyTo, Text: m.Text, Buttons: buttonsOf(m.Buttons)})
	case "sendPhoto":
		key := photoKey{m.ChatID, m.MessageID}
		h.photos[key] = m.Photo
		h.photoOrder = append(h.photoOrder, key)
		if len(h.photoOrder) > photosKept {
			delete(h.photos, h.photoOrder[0])
			h.photoOrder = h.photoOrder[1:]
		}
		url := "/api/photo?chat=" + strconv.FormatInt(m.ChatID, 10) + "&message=" + strconv.FormatInt(m.MessageID, 10)
		h.addLocked(Item{Kind: "bot", Chat: m.ChatID, MessageID: m.MessageID, ReplyTo: m.ReplyTo, Text: m.Text,
			Buttons: buttonsOf(m.Buttons), Photo: url, Width: m.Width, Height: m.Height})
	case "sendDocument":
		text := fmt.Sprintf("[document %s, %d bytes]", m.FileName, len(m.Document))
		if m.Text != "" {
			text += " " + m.Text
		}
		h.addLocked(Item{Kind: "bot", Chat: m.ChatID, MessageID: m.MessageID, ReplyTo: m.ReplyTo, Text: text, Buttons: buttonsOf(m.Buttons)})
	case "editMessageText":
		it := t.byMsg[m.MessageID]
		if it == nil {
			return // older than the transcript keeps
		}
		it.Text, it.Buttons, it.Edited = m.Text, buttonsOf(m.Buttons), true
		h.publishLocked(event("edit", *it))
	}
}

func (h *hub) photo(chat, message int64) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.photos[photoKey{chat, message}]
	return b, ok
}
