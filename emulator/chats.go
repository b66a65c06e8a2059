package emulator

import (
	"strconv"
	"sync"
)

// botMemory is how many of its newest messages per chat the emulator remembers for
// editMessageText and for callback queries; older ones count as not found. A bounded number
// keeps a load test with many users from growing without bound.
const botMemory = 32

const chatShards = 64

// chatTable numbers the messages of every chat and remembers the bot's newest ones.
type chatTable struct {
	shards [chatShards]struct {
		mu sync.Mutex
		m  map[int64]*chatState
	}
	// queries are the queries not yet answered, each with its kind (the method that
	// answers it).
	queriesMu sync.Mutex
	queries   map[string]string
	queryID   int64
}

type chatState struct {
	chat   wireChat
	lastID int64
	// bot holds the bot's newest messages: it grows to botMemory, then is a ring whose
	// oldest entry is at botNext. Growing on demand keeps a chat the bot answered once at
	// a few hundred bytes, not 6 KB: a load test has 100,000 of them.
	bot     []wireMessage
	botNext int
}

func (t *chatTable) init() {
	for i := range t.shards {
		t.shards[i].m = make(map[int64]*chatState)
	}
	t.queries = make(map[string]string)
}

func (t *chatTable) lock(chatID int64) (*sync.Mutex, map[int64]*chatState) {
	sh := &t.shards[uint64(chatID)%chatShards]
	sh.mu.Lock()
	return &sh.mu, sh.m
}

// userMessage gives the next message id of chat, creating the chat on first use.
func (t *chatTable) userMessage(chat wireChat) int64 {
	mu, m := t.lock(chat.ID)
	defer mu.Unlock()
	st := m[chat.ID]
	if st == nil {
		st = &chatState{chat: chat}
		m[chat.ID] = st
	}
	st.lastID++
	return st.lastID
}

// botMessage stores a message from the bot in a known chat, giving it the next id; fill
// sets its content. A chat that never wrote to the bot is not found, as on Telegram.
func (t *chatTable) botMessage(chatID int64, fill func(*wireMessage)) (msg wireMessage, err *apiError) {
	mu, m := t.lock(chatID)
	defer mu.Unlock()
	st := m[chatID]
	if st == nil {
		return wireMessage{}, badRequest("chat not found")
	}
	st.lastID++
	msg = wireMessage{MessageID: st.lastID, Chat: st.chat}
	fill(&msg)
	if len(st.bot) < botMemory {
		st.bot = append(st.bot, msg)
	} else {
		st.bot[st.botNext] = msg
		st.botNext = (st.botNext + 1) % botMemory
	}
	return msg, nil
}

// exists reports whether chat is known and has a message id.
func (t *chatTable) exists(chatID, messageID int64) bool {
	mu, m := t.lock(chatID)
	defer mu.Unlock()
	st := m[chatID]
	return st != nil && messageID >= 1 && messageID <= st.lastID
}

// known reports whether the chat ever wrote to the bot.
func (t *chatTable) known(chatID int64) bool {
	mu, m := t.lock(chatID)
	defer mu.Unlock()
	return m[chatID] != nil
}

// editBot applies edit to a remembered bot message.
func (t *chatTable) editBot(chatID, messageID int64, edit func(*wireMessage) *apiError) (wireMessage, *apiError) {
	mu, m := t.lock(chatID)
	defer mu.Unlock()
	st := m[chatID]
	if st == nil {
		return wireMessage{}, badRequest("chat not found")
	}
	for i := range st.bot {
		if st.bot[i].MessageID == messageID && messageID != 0 {
			if err := edit(&st.bot[i]); err != nil {
				return wireMessage{}, err
			}
			return st.bot[i], nil
		}
	}
	return wireMessage{}, badRequest("message to edit not found")
}

// findBot returns a remembered bot message.
func (t *chatTable) findBot(chatID, messageID int64) (wireMessage, bool) {
	mu, m := t.lock(chatID)
	defer mu.Unlock()
	if st := m[chatID]; st != nil {
		for _, msg := range st.bot {
			if msg.MessageID == messageID && messageID != 0 {
				return msg, true
			}
		}
	}
	return wireMessage{}, false
}

func (t *chatTable) chat(chatID int64) (wireChat, bool) {
	mu, m := t.lock(chatID)
	defer mu.Unlock()
	if st := m[chatID]; st != nil {
		return st.chat, true
	}
	return wireChat{}, false
}

// Kinds of query, by the method that answers them; the first letters prefix their ids.
const (
	callbackQuery    = "answerCallbackQuery"
	preCheckoutQuery = "answerPreCheckoutQuery"
	shippingQuery    = "answerShippingQuery"
	inlineQuery      = "answerInlineQuery"
)

var queryPrefix = map[string]string{callbackQuery: "cq", preCheckoutQuery: "pq", shippingQuery: "sq", inlineQuery: "iq"}

// openQuery registers a new query of kind and returns its id.
func (t *chatTable) openQuery(kind string) string {
	t.queriesMu.Lock()
	defer t.queriesMu.Unlock()
	t.queryID++
	id := queryPrefix[kind] + strconv.FormatInt(t.queryID, 10)
	t.queries[id] = kind
	return id
}

// answerQuery closes an open query of kind; false if no such query was open.
func (t *chatTable) answerQuery(id, kind string) bool {
	t.queriesMu.Lock()
	defer t.queriesMu.Unlock()
	if t.queries[id] != kind {
		return false
	}
	delete(t.queries, id)
	return true
}
