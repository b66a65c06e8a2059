package flow

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/troupebot/troupe/bot"
)

// State is where a user is in a flow, as the application's state stores it: small, plain
// data (it encodes as JSON), and empty when the user is in no flow. The application keeps
// it in its own state S and hands it to the [Manager] through the get and set functions.
type State struct {
	// Flow is the flow's name; "" means the user is in no flow.
	Flow string `json:"flow,omitempty"`
	// Step is the name of the step the user is at.
	Step string `json:"step,omitempty"`
	// Chat is the chat the flow runs in (0 when it started from an update without one):
	// what the user says in other chats is not an answer to it.
	Chat int64 `json:"chat,omitempty"`
	// Version is the flow's Version when the state was written; an older one is migrated.
	Version int `json:"v,omitempty"`
	// Data is what the steps remember (the answers so far). The steps own its keys. It is
	// shared with earlier states: never write to it in place (a [Turn] copies it first).
	Data map[string]string `json:"data,omitempty"`
	// Since is when the step's prompt was last shown (the update's Now): its timeout runs
	// from here.
	Since time.Time `json:"since,omitzero"`
	// Nonce tells this showing of the step from every other one: the step's buttons carry
	// it, and a press that carries another is refused.
	Nonce uint32 `json:"nonce,omitempty"`
}

// Active reports whether the user is in a flow.
func (st State) Active() bool { return st.Flow != "" }

// Get returns the value the steps stored under key, "" when there is none.
func (st State) Get(key string) string { return st.Data[key] }

// Turn is one update's hold on the flow the user is in: a step reads and writes the
// flow's data through it and builds its buttons with it. It lives for one call of the
// Manager and must not be kept.
type Turn struct {
	st      State
	owned   bool // st.Data is this turn's own copy, safe to write
	owner   int64
	codec   codec
	text    string
	press   string
	pressed bool
	err     error
}

// Flow is the name of the flow the user is in.
func (t *Turn) Flow() string { return t.st.Flow }

// Step is the name of the step the user is at.
func (t *Turn) Step() string { return t.st.Step }

// Since is when the current step's prompt was shown.
func (t *Turn) Since() time.Time { return t.st.Since }

// Get returns the flow's value under key, "" when there is none.
func (t *Turn) Get(key string) string { return t.st.Data[key] }

// Set stores value under key in the flow's data. The data the update arrived with is
// shared with the state the runtime committed, so the first write copies it.
func (t *Turn) Set(key, value string) {
	t.own()
	t.st.Data[key] = value
}

// Delete removes key from the flow's data.
func (t *Turn) Delete(key string) {
	if _, ok := t.st.Data[key]; !ok {
		return
	}
	t.own()
	delete(t.st.Data, key)
}

func (t *Turn) own() {
	if t.owned {
		return
	}
	t.st.Data = maps.Clone(t.st.Data)
	if t.st.Data == nil {
		t.st.Data = make(map[string]string)
	}
	t.owned = true
}

// Text is the update's message text, trimmed; "" when the update is no text message.
func (t *Turn) Text() string { return t.text }

// Pressed returns the payload of the step's button the user pressed, when the update is
// such a press. A press of an older step's button never reaches a step.
func (t *Turn) Pressed() (payload string, ok bool) { return t.press, t.pressed }

// Button returns an inline button that sends payload back to this showing of the step:
// its callback data carries the user and the step's nonce beside payload. Build buttons
// in Ask (or in a Handle that returns [Stay]): moving on or asking again gives the step a
// new nonce, and older buttons expire.
//
// A payload longer than the Manager's MaxPayload would make callback data over Telegram's
// 64 bytes: Button refuses it, [Turn.Err] says why, and the Manager ends the flow with
// its Failed text instead of sending the step's actions.
func (t *Turn) Button(text, payload string) bot.Button {
	data, err := t.codec.seal(t.owner, t.st.Nonce, payload)
	if err != nil {
		if t.err == nil {
			t.err = err
		}
		return bot.Button{Text: text}
	}
	return bot.Data(text, data)
}

// Err is the first error a Button call met, nil when there was none.
func (t *Turn) Err() error { return t.err }

// ErrDataTooLong is the error for a button payload that would not fit in Telegram's 64
// bytes of callback data.
var ErrDataTooLong = errors.New("flow: callback data too long")

// maxData is Telegram's limit on an inline button's callback data, in bytes.
const maxData = 64

// codec writes and reads the callback data of a step's buttons:
// "<prefix>:<owner base 36>:<nonce base 36>:<payload>". The owner is the user key whose
// step showed the button: in a group anybody can press it, and the press reaches the
// presser's own state, which must not act on it.
type codec struct {
	prefix string
	max    int // longest payload for any owner and nonce
}

// overhead is the most bytes the data adds to a payload, besides the prefix: three
// colons, an int64 in base 36 with its sign (14) and a uint32 in base 36 (7).
const overhead = 3 + 14 + 7

func newCodec(prefix string) (codec, error) {
	if prefix == "" || strings.ContainsRune(prefix, ':') || len(prefix)+overhead >= maxData {
		return codec{}, fmt.Errorf("flow: callback prefix %q: want 1 to %d bytes without ':'", prefix, maxData-overhead-1)
	}
	return codec{prefix: prefix, max: maxData - overhead - len(prefix)}, nil
}

// seal refuses a payload by its length alone, never by the owner's or nonce's: a step
// whose payload fits for one user fits for all, so a test of the step proves it.
func (c codec) seal(owner int64, nonce uint32, payload string) (string, error) {
	if len(payload) > c.max {
		return "", fmt.Errorf("button payload %q is %d bytes, at most %d fit: %w", payload, len(payload), c.max, ErrDataTooLong)
	}
	return c.prefix + ":" + strconv.FormatInt(owner, 36) + ":" + strconv.FormatUint(uint64(nonce), 36) + ":" + payload, nil
}

// open reads data written by seal; ok is false for any other data (the application's own
// buttons).
func (c codec) open(data string) (owner int64, nonce uint32, payload string, ok bool) {
	rest, ok := strings.CutPrefix(data, c.prefix+":")
	if !ok {
		return 0, 0, "", false
	}
	o, rest, ok1 := strings.Cut(rest, ":")
	n, payload, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return 0, 0, "", false
	}
	owner, err1 := strconv.ParseInt(o, 36, 64)
	n64, err2 := strconv.ParseUint(n, 36, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, "", false
	}
	return owner, uint32(n64), payload, true
}
