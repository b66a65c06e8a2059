package bot

import (
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
)

// AllUpdates names every update type gotgbot's Update has, as allowed_updates spells them:
// what the edge asks Telegram for when App.AllowedUpdates is nil. (Telegram's own default
// leaves out chat_member, message_reaction and message_reaction_count.)
var AllUpdates = updateTypes()

func updateTypes() []string {
	t := reflect.TypeFor[gotgbot.Update]()
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() != reflect.Pointer {
			continue // update_id
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

// adapter runs an App's Logic as the runtime's: it dresses each update as an *Update and
// answers failures and floods with the App's Apologizer and Throttler, or the edge's own
// short replies where the App has none.
type adapter[S any] struct {
	logic     Logic[S]
	apologize Apologizer
	throttle  Throttler
	me        *atomic.Pointer[gotgbot.User]
	now       func() time.Time
}

var _ actors.Logic[int, Action] = (*adapter[int])(nil)

func newAdapter[S any](logic Logic[S], me *atomic.Pointer[gotgbot.User], now func() time.Time) *adapter[S] {
	a := &adapter[S]{logic: logic, me: me, now: now}
	a.apologize, _ = logic.(Apologizer)
	a.throttle, _ = logic.(Throttler)
	return a
}

func (a *adapter[S]) update(u *gotgbot.Update) *Update {
	key, _ := actors.KeyOf(u)
	sender, chat := actors.Origin(u)
	return &Update{Update: u, Me: a.me.Load(), Key: key, Sender: sender, Chat: chat, Now: a.now()}
}

func (a *adapter[S]) Handle(s S, u *gotgbot.Update) (S, []Action) {
	return a.logic.Handle(s, a.update(u))
}

func (a *adapter[S]) Apology(u *gotgbot.Update, c *actors.Crash, pause time.Duration) []Action {
	err := crashError(c)
	if a.apologize != nil {
		return a.apologize.Apology(a.update(u), err, pause)
	}
	return defaultApology(u, err, pause)
}

func (a *adapter[S]) Throttled(u *gotgbot.Update) []Action {
	if a.throttle != nil {
		return a.throttle.Throttled(a.update(u))
	}
	return answerOrReply(u, ThrottledAnswer, ThrottledText)
}

// crashError is what an Apologizer is told: a *Crash for a panic, else the store's error.
func crashError(c *actors.Crash) error {
	if c.Panic {
		return &Crash{Value: c.Reason, Stack: c.Stack}
	}
	if err, ok := c.Reason.(error); ok {
		return err
	}
	return c
}

// The edge's own answers for an App without an Apologizer or a Throttler. They name no
// error: what went wrong is in the log, never in the chat.
const (
	ApologyText     = "Sorry, something went wrong with that, and nothing of it was kept. Please try again."
	TooLargeText    = "Sorry, that would store more than I keep for one person, so it was not kept."
	PausedText      = "Sorry, that failed again. After repeated errors I'm pausing for a while: what you send meanwhile is ignored."
	ThrottledText   = "You're sending messages faster than I can read them, so I'm skipping some. Slow down and I'll catch up."
	ThrottledAnswer = "Too fast: slow down a little."
)

func defaultApology(u *gotgbot.Update, err error, pause time.Duration) []Action {
	text := ApologyText
	switch {
	case pause > 0:
		text = PausedText
	case errors.Is(err, actors.ErrStateTooLarge):
		text = TooLargeText
	}
	return answerOrReply(u, text, text)
}

// answerOrReply answers a button press with a notification and anything in a chat with a
// reply. Queries from no chat (inline, shipping, pre-checkout) get nothing here: the edge
// answers every query left unanswered (see perform).
func answerOrReply(u *gotgbot.Update, answer, reply string) []Action {
	if u.CallbackQuery != nil {
		return []Action{Answer(shorten(answer, 200))}
	}
	if _, chat := actors.Origin(u); chat != nil {
		return []Action{Reply(reply)}
	}
	return nil
}

// shorten cuts s to at most n runes.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
