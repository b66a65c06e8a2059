package flow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"strings"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/router"
)

// Config is how a Manager talks to users besides its flows' own steps. Every field may
// be left zero for its default.
type Config struct {
	// Cancel is the command that ends whichever flow the user is in ("cancel" for
	// /cancel, also as /cancel@thisbot); IsCancel, when set, decides instead.
	Cancel   string
	IsCancel func(u *bot.Update) bool
	// Answers decides which updates in the flow's chat a step gets; by default messages
	// and callback queries. Every other update (an edited message, a reaction, the user
	// blocking the bot) goes to the rest of the bot and leaves the flow as it was, so it
	// neither counts as an answer nor triggers a re-ask.
	Answers func(u *bot.Update) bool
	// Prefix starts the callback data of every step's button, so that the Manager knows
	// its own buttons from the application's; default "fl". Keep it short: each byte of it
	// is one byte less for payloads.
	Prefix string
	// The texts users see: when they cancel, when a step timed out, when they press a
	// button of a step they are no longer at, when they press another user's button, when
	// the flow changed under them beyond what Migrate could mend, and when a step failed
	// (a payload too long, a Goto to no step).
	Canceled, TimedOut, Expired, NotYours, Ended, Failed string
	// OnError, when set, learns why a flow ended with Ended or Failed (for the log); the
	// user only sees the text.
	OnError func(error)
}

func (c Config) withDefaults() Config {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&c.Cancel, "cancel")
	def(&c.Prefix, "fl")
	def(&c.Canceled, "Cancelled.")
	def(&c.TimedOut, "That took a while, so I stopped waiting. Start again whenever you like.")
	def(&c.Expired, "This button has expired.")
	def(&c.NotYours, "This button is not for you.")
	def(&c.Ended, "This conversation changed since you started it, so it has ended. Please start again.")
	def(&c.Failed, "Sorry, something went wrong, so this conversation has ended.")
	return c
}

// Errors a flow ends with; OnError receives them wrapped with the flow and step.
var (
	ErrNoFlow        = errors.New("flow: no such flow")
	ErrNoStep        = errors.New("flow: no such step")
	ErrNewerVersion  = errors.New("flow: state from a newer version")
	ErrCannotMigrate = errors.New("flow: no migration from the state's version")
)

// Manager runs a set of flows over an application's state S, which stores the user's
// flow [State] and gives it up through get and set. A Manager is immutable once built and
// safe for concurrent use.
type Manager[S any] struct {
	get   func(S) State
	set   func(S, State) S
	flows map[string]*Flow[S]
	cfg   Config
	codec codec
}

// NewManager checks the flows (names, steps) and returns their Manager. set must return
// a changed copy of S, never write into the S it was given: the runtime keeps that one as
// the committed state until the update is done.
func NewManager[S any](get func(S) State, set func(S, State) S, cfg Config, flows ...Flow[S]) (*Manager[S], error) {
	if get == nil || set == nil {
		return nil, errors.New("flow: NewManager needs get and set")
	}
	cfg = cfg.withDefaults()
	c, err := newCodec(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	m := &Manager[S]{get: get, set: set, flows: make(map[string]*Flow[S], len(flows)), cfg: cfg, codec: c}
	for i := range flows {
		f := flows[i]
		if err := check(&f); err != nil {
			return nil, err
		}
		if _, dup := m.flows[f.Name]; dup {
			return nil, fmt.Errorf("flow %q: defined twice", f.Name)
		}
		m.flows[f.Name] = &f
	}
	return m, nil
}

func check[S any](f *Flow[S]) error {
	if f.Name == "" {
		return errors.New("flow: a flow without a name")
	}
	if len(f.Steps) == 0 {
		return fmt.Errorf("flow %q: no steps", f.Name)
	}
	seen := make(map[string]bool, len(f.Steps))
	for _, st := range f.Steps {
		switch {
		case st.Name == "":
			return fmt.Errorf("flow %q: a step without a name", f.Name)
		case seen[st.Name]:
			return fmt.Errorf("flow %q: step %q defined twice", f.Name, st.Name)
		case st.Handle == nil:
			return fmt.Errorf("flow %q: step %q has no Handle", f.Name, st.Name)
		}
		seen[st.Name] = true
	}
	f.Steps = append([]Step[S](nil), f.Steps...) // the caller's slice may change later
	return nil
}

// MaxPayload is the longest payload a step's [Turn.Button] accepts.
func (m *Manager[S]) MaxPayload() int { return m.codec.max }

// Wrap returns the Logic that runs the user's flow when they are in one and next
// otherwise (next may be nil). In a flow every update goes to the current step, except
// the cancel command and presses of buttons the step did not show, which the Manager
// answers itself. A flow that ends for its timeout or a change of its definition says so
// and hands the same update on as if no flow had been running, so a user returning after
// a day with "/help" gets help.
func (m *Manager[S]) Wrap(next bot.Logic[S]) bot.Logic[S] {
	return bot.LogicFunc[S](func(s S, u *bot.Update) (S, []bot.Action) { return m.handle(s, u, next) })
}

// Start puts the user into the flow named name at its first step and returns the state
// and the step's prompt; whatever flow the user was in is dropped. Call it from any
// handler of the rest of the bot (a command, a button), not from a step. The flows are fixed when the Manager is built, so an
// unknown name is a programming error: Start panics.
func (m *Manager[S]) Start(s S, u *bot.Update, name string) (S, []bot.Action) {
	f, ok := m.flows[name]
	if !ok {
		panic(fmt.Sprintf("flow: Start(%q): %v", name, ErrNoFlow))
	}
	t := m.turn(u, State{Flow: f.Name, Chat: chatOf(u), Version: f.Version}, "", false)
	acts := m.enter(s, t, u, &f.Steps[0])
	if t.err != nil {
		return m.fail(s, t.st, t.err)
	}
	return m.set(s, t.st), acts
}

func (m *Manager[S]) handle(s S, u *bot.Update, next bot.Logic[S]) (S, []bot.Action) {
	owner, nonce, payload, ours := m.pressed(u)
	if ours && owner != u.Key {
		return s, []bot.Action{bot.Answer(m.cfg.NotYours)}
	}
	var out []bot.Action
	if st := m.get(s); st.Active() && (ours || m.answers(u, st)) {
		f, step, st, err := m.resolve(st)
		switch {
		case err != nil:
			m.report(err)
			s, out = m.set(s, State{}), []bot.Action{bot.Reply(m.cfg.Ended)}
		case ours && nonce != st.Nonce:
			return s, []bot.Action{bot.Answer(m.cfg.Expired)}
		case step.Timeout > 0 && !st.Since.IsZero() && u.Now.Sub(st.Since) > step.Timeout:
			s, out = m.set(s, State{}), []bot.Action{bot.Reply(m.cfg.TimedOut)}
		case m.isCancel(u):
			return m.set(s, State{}), []bot.Action{bot.Reply(m.cfg.Canceled)}
		default:
			return m.run(s, u, f, step, m.turn(u, st, payload, ours))
		}
	}
	if ours {
		return s, append(out, bot.Answer(m.cfg.Expired))
	}
	if next == nil {
		return s, out
	}
	s, acts := next.Handle(s, u)
	return s, append(out, acts...)
}

// resolve finds the flow and step st names, migrating st to the flow's version first.
func (m *Manager[S]) resolve(st State) (*Flow[S], *Step[S], State, error) {
	f, ok := m.flows[st.Flow]
	if !ok {
		return nil, nil, st, fmt.Errorf("flow %q: %w", st.Flow, ErrNoFlow)
	}
	if st.Version != f.Version {
		from := st.Version
		switch {
		case from > f.Version:
			return nil, nil, st, fmt.Errorf("flow %q: version %d, defined %d: %w", f.Name, from, f.Version, ErrNewerVersion)
		case f.Migrate == nil:
			return nil, nil, st, fmt.Errorf("flow %q: version %d to %d: %w", f.Name, from, f.Version, ErrCannotMigrate)
		}
		var err error
		st.Data = maps.Clone(st.Data) // Migrate may write it; the original belongs to s
		if st.Data == nil {
			st.Data = map[string]string{}
		}
		if st, err = f.Migrate(from, st); err != nil {
			return nil, nil, st, fmt.Errorf("flow %q: migrate from version %d: %w", f.Name, from, err)
		}
		st.Flow, st.Version = f.Name, f.Version
	}
	step := f.step(st.Step)
	if step == nil {
		return nil, nil, st, fmt.Errorf("flow %q version %d: step %q: %w", f.Name, f.Version, st.Step, ErrNoStep)
	}
	return f, step, st, nil
}

func (f *Flow[S]) step(name string) *Step[S] {
	for i := range f.Steps {
		if f.Steps[i].Name == name {
			return &f.Steps[i]
		}
	}
	return nil
}

// run hands the update to the step and follows the Next it answers.
func (m *Manager[S]) run(s S, u *bot.Update, f *Flow[S], step *Step[S], t *Turn) (S, []bot.Action) {
	s2, next, acts := step.Handle(s, t, u)
	if t.err == nil {
		switch next.kind {
		case done:
			return m.set(s2, State{}), answered(u, acts)
		case again:
			acts = append(acts, m.enter(s2, t, u, step)...)
		case jump:
			to := f.step(next.step)
			if to == nil {
				return m.fail(s, t.st, fmt.Errorf("flow %q step %q: Goto(%q): %w", f.Name, step.Name, next.step, ErrNoStep))
			}
			acts = append(acts, m.enter(s2, t, u, to)...)
		}
	}
	if t.err != nil {
		return m.fail(s, t.st, t.err)
	}
	return m.set(s2, t.st), answered(u, acts)
}

// enter shows step: a new nonce expires the buttons of every earlier showing.
func (m *Manager[S]) enter(s S, t *Turn, u *bot.Update, step *Step[S]) []bot.Action {
	t.st.Step, t.st.Since = step.Name, u.Now
	t.st.Nonce = nonceFor(u, t.st)
	if step.Ask == nil {
		return nil
	}
	return step.Ask(s, t, u)
}

// fail ends the flow for a step's error, dropping what the step changed.
func (m *Manager[S]) fail(s S, st State, err error) (S, []bot.Action) {
	m.report(fmt.Errorf("flow %q step %q: %w", st.Flow, st.Step, err))
	return m.set(s, State{}), []bot.Action{bot.Reply(m.cfg.Failed)}
}

func (m *Manager[S]) report(err error) {
	if m.cfg.OnError != nil {
		m.cfg.OnError(err)
	}
}

func (m *Manager[S]) turn(u *bot.Update, st State, payload string, pressed bool) *Turn {
	t := &Turn{st: st, owner: u.Key, codec: m.codec, press: payload, pressed: pressed}
	if u.Update != nil && u.Message != nil {
		t.text = strings.TrimSpace(u.Message.Text)
	}
	return t
}

// pressed reads the update's callback data when it is one of the Manager's buttons.
func (m *Manager[S]) pressed(u *bot.Update) (owner int64, nonce uint32, payload string, ok bool) {
	if u.Update == nil || u.CallbackQuery == nil {
		return 0, 0, "", false
	}
	return m.codec.open(u.CallbackQuery.Data)
}

// answers reports whether u is for the step the user is at, st.
func (m *Manager[S]) answers(u *bot.Update, st State) bool {
	if st.Chat != 0 && chatOf(u) != st.Chat {
		return false
	}
	if m.cfg.Answers != nil {
		return m.cfg.Answers(u)
	}
	return u.Update != nil && (u.Message != nil || u.CallbackQuery != nil)
}

func chatOf(u *bot.Update) int64 {
	if u.Chat == nil {
		return 0
	}
	return u.Chat.Id
}

func (m *Manager[S]) isCancel(u *bot.Update) bool {
	if m.cfg.IsCancel != nil {
		return m.cfg.IsCancel(u)
	}
	return isCommand(u, m.cfg.Cancel)
}

// isCommand reports whether the update's message is the command /name, addressed to no
// bot or to this one, as the router reads commands ("/cancel@otherbot" is not ours).
func isCommand(u *bot.Update, name string) bool {
	if u.Update == nil || u.Message == nil {
		return false
	}
	cmd, _, ok := router.CommandOf(u)
	return ok && strings.EqualFold(cmd, name)
}

// answered adds an empty answer to a callback query the step did not answer, so the
// user's client stops spinning.
func answered(u *bot.Update, acts []bot.Action) []bot.Action {
	if u.Update == nil || u.CallbackQuery == nil {
		return acts
	}
	for _, a := range acts {
		if a.Kind == bot.AnswerCallback {
			return acts
		}
	}
	return append([]bot.Action{bot.Answer("")}, acts...)
}

// nonceFor derives the nonce of a step's showing from the update that shows it, so Logic
// stays a function of its inputs: the update id and time differ between showings, and the
// previous nonce keeps two showings in one update apart. A collision needs two showings
// to hash alike (one in 2^32).
func nonceFor(u *bot.Update, st State) uint32 {
	h := fnv.New32a()
	var b [8]byte
	put := func(v uint64) { binary.LittleEndian.PutUint64(b[:], v); h.Write(b[:]) }
	put(uint64(u.Key))
	if u.Update != nil {
		put(uint64(u.UpdateId))
	}
	put(uint64(u.Now.UnixNano()))
	put(uint64(st.Nonce))
	h.Write([]byte(st.Flow + "\x00" + st.Step))
	n := h.Sum32()
	if n == st.Nonce {
		n++
	}
	if n == 0 {
		n = 1 // 0 is no showing at all
	}
	return n
}
