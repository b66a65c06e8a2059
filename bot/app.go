package bot

import (
	"context"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// Logic is an application's conversation: a pure function of one user's committed state
// and one update, returning the state to commit and the actions that answer the update. It
// must not modify s (return a changed copy; share unchanged parts) and must not perform
// I/O: the runtime commits the state, then performs the actions.
//
// A Logic may also implement [Apologizer] and [Throttler]; without them the runtime answers
// crashes and floods with its own short replies.
type Logic[S any] interface {
	Handle(s S, u *Update) (next S, actions []Action)
}

// LogicFunc adapts a function to a Logic, as http.HandlerFunc does a Handler.
type LogicFunc[S any] func(s S, u *Update) (S, []Action)

// Handle calls f.
func (f LogicFunc[S]) Handle(s S, u *Update) (S, []Action) { return f(s, u) }

// Apologizer answers an update whose handling failed: err is the crash (a *Crash for a
// panic). Nothing of the update was committed. When pause > 0 the user failed once too
// often and their updates are paused for that long; this answer is where they learn it.
type Apologizer interface {
	Apology(u *Update, err error, pause time.Duration) []Action
}

// Throttler answers the first update of a user who sends faster than Config.Flood allows;
// that update and the rest of the flood are not handled.
type Throttler interface {
	Throttled(u *Update) []Action
}

// Crash is the error an Apologizer receives when Logic panicked.
type Crash struct {
	Value any    // what Logic panicked with
	Stack []byte // the panicking goroutine's stack
}

func (c *Crash) Error() string { return "panic: " + panicText(c.Value) }

// Update is one Telegram update as Logic sees it, with what the runtime knows beside it.
type Update struct {
	*gotgbot.Update
	// Me is the bot itself, as getMe answered: Me.Username tells "/help@thisbot" from
	// "/help@otherbot" in groups. Never nil: an empty User for an update a webhook took
	// before Run's getMe answered.
	Me *gotgbot.User
	// Key is whose actor handles the update: the sender's user id, else the chat's id
	// (see actors.KeyOf); 0, the bot-wide actor, for a poll's new state.
	Key int64
	// Sender and Chat are the update's effective user and chat, nil when it has none (a
	// poll's new state has neither).
	Sender *gotgbot.User
	Chat   *gotgbot.Chat
	// Now is when the runtime handed the update to Logic. Logic reads the time here, never
	// from the clock, so that it stays a function of its inputs (and testable).
	Now time.Time
}

// App is an application the edge runs: its Logic over a per-user state S, and what the
// runtime needs to know about S.
type App[S any] struct {
	// Name identifies the application in logs and /status.
	Name string
	// Logic answers every update; required.
	Logic Logic[S]
	// Size reports how many bytes a state holds, for Config.MaxContextBytes; nil leaves
	// states unbounded.
	Size func(S) int
	// AllowedUpdates are the update types Telegram is asked for (getUpdates'
	// allowed_updates, setWebhook's); nil asks for every type.
	AllowedUpdates []string
	// Codec encodes a state for a durable store (cmd/bot opens the store with it); nil keeps
	// the App on the memory store.
	Codec Codec[S]
	// Custom performs the application's own actions ([CustomAction]) by name. A custom
	// action is a name and bytes, not a closure, so that an outbox can store it.
	Custom map[string]CustomFunc
}

// CustomFunc performs a custom action for the update's chat. api is the Bot API client;
// the call should honour ctx. Returning an error fails the action (retried as a reply is,
// when it is a *gotgbot.TelegramError with retry_after or a 5xx).
type CustomFunc func(ctx context.Context, api *gotgbot.Bot, chat int64, payload []byte) error
