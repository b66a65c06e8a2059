package bottest

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/emulator"
)

// Token is the bot token the harness's emulator accepts.
const Token = "100000001:BOTTEST-not-a-real-token"

// DefaultTimeout bounds each wait for the bot, unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// Option changes how Start sets up the bot or the emulator.
type Option func(*options)

type options struct {
	cfg     bot.Config
	emu     emulator.Config
	timeout time.Duration
}

// WithConfig runs the edge with cfg (its restart policy, flood limit, clock, logger...).
// Token and APIURL are the harness's; a zero PollTimeout becomes a short one so the test
// stops quickly, and a nil Logger discards the bot's logs.
func WithConfig(cfg bot.Config) Option { return func(o *options) { o.cfg = cfg } }

// WithEmulator starts the emulator with cfg (faults, the bot's own user, OnSend). Its
// Token is the harness's.
func WithEmulator(cfg emulator.Config) Option { return func(o *options) { o.emu = cfg } }

// WithTimeout bounds each wait for the bot to finish an update; the default is
// DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// T is the part of testing.TB the harness uses: *testing.T and *testing.B are one, and
// so is what Script runs on.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// Harness is an App running on the edge against an emulator, driven from a test.
type Harness struct {
	tb      T
	emu     *emulator.Server
	bot     *bot.Bot
	timeout time.Duration
	mu      sync.Mutex // one update at a time, so each Turn is that update's alone
}

// Start runs app on a new edge against a new emulator until the test ends. It fails the
// test if either cannot start.
func Start[S any](tb T, app bot.App[S], opts ...Option) *Harness {
	tb.Helper()
	o := options{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	quiet := slog.New(slog.DiscardHandler)
	o.emu.Token = Token
	if o.emu.Logger == nil {
		o.emu.Logger = quiet
	}
	emu, err := emulator.New(o.emu)
	if err != nil {
		tb.Fatalf("bottest: start the emulator: %v", err)
	}
	cfg := o.cfg
	cfg.Token, cfg.APIURL = Token, emu.URL()
	if cfg.MaxUnsentPerChat == 0 {
		// A Turn ends when its update is confirmed: only once its replies are sent.
		cfg.MaxUnsentPerChat = -1
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = time.Second
	}
	b, err := bot.New(cfg, app)
	if err != nil {
		emu.Close()
		tb.Fatalf("bottest: build the bot running %q: %v", app.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("bottest: Run: %v", err)
			}
		case <-time.After(o.timeout):
			tb.Errorf("bottest: Run did not return within %v of being stopped", o.timeout)
		}
		emu.Close()
	})
	return &Harness{tb: tb, emu: emu, bot: b, timeout: o.timeout}
}

// Emulator is the Bot API emulator the bot talks to, for what the Harness does not do
// itself (groups, payments, faults, many users at once).
func (h *Harness) Emulator() *emulator.Server { return h.emu }

// Bot is the edge running the App.
func (h *Harness) Bot() *bot.Bot { return h.bot }

// Send has user write text to the bot in their private chat and returns what the bot did
// in answer.
func (h *Harness) Send(user int64, text string) Turn {
	h.tb.Helper()
	return h.turn(fmt.Sprintf("user %d sends %q", user, text), func() (emulator.Pushed, error) {
		return h.emu.SendText(user, text)
	})
}

// Press has user press the inline button carrying data under msg, a message the bot sent,
// and returns what the bot did in answer. The emulator sends data as it is, so a test may
// press buttons that msg no longer has.
func (h *Harness) Press(user int64, msg emulator.Sent, data string) Turn {
	h.tb.Helper()
	return h.turn(fmt.Sprintf("user %d presses %q on message %d", user, data, msg.MessageID), func() (emulator.Pushed, error) {
		return h.emu.PressButton(user, msg.ChatID, msg.MessageID, data)
	})
}

// Tap is Press by the button's label; it fails the test when msg has no such button.
func (h *Harness) Tap(user int64, msg emulator.Sent, label string) Turn {
	h.tb.Helper()
	for _, row := range msg.Buttons {
		for _, b := range row {
			if b.Text == label {
				return h.Press(user, msg, b.Data)
			}
		}
	}
	h.tb.Fatalf("bottest: message %d %q has no button %q (it has %v)", msg.MessageID, msg.Text, label, msg.Buttons)
	return Turn{}
}

// turn pushes one update and collects what the bot sent until it confirmed the update.
func (h *Harness) turn(what string, push func() (emulator.Pushed, error)) Turn {
	h.tb.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	before := len(h.emu.Sent())
	p, err := push()
	if err != nil {
		h.tb.Fatalf("bottest: %s: %v", what, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	if err := h.emu.WaitConfirmed(ctx, p.UpdateID); err != nil {
		h.tb.Fatalf("bottest: %s: the bot did not finish it: %v", what, err)
	}
	t := Turn{Update: p}
	for _, s := range h.emu.Sent()[before:] {
		if s.Method == "sendChatAction" {
			continue // "typing…" is not an answer
		}
		if s.Method == "sendPhoto" {
			img, err := png.Decode(bytes.NewReader(s.Photo))
			if err != nil {
				h.tb.Fatalf("bottest: %s: the bot sent a photo that is not a PNG: %v", what, err)
			}
			s.Width, s.Height = img.Bounds().Dx(), img.Bounds().Dy()
		}
		t.Sent = append(t.Sent, s)
	}
	return t
}

// Turn is what the bot did in answer to one update: what it sent, in the order the
// emulator accepted it, chat actions left out. A photo's Width and Height are those of
// its decoded PNG.
type Turn struct {
	Update emulator.Pushed
	Sent   []emulator.Sent
}

// Texts are the texts of the turn's messages, edits, photo captions and non-empty callback
// answers, in order.
func (t Turn) Texts() []string {
	var out []string
	for _, s := range t.Sent {
		if s.Text != "" || s.Method == "sendMessage" {
			out = append(out, s.Text)
		}
	}
	return out
}

// Photos are the turn's photos, each a PNG that decoded.
func (t Turn) Photos() []emulator.Sent {
	var out []emulator.Sent
	for _, s := range t.Sent {
		if s.Method == "sendPhoto" {
			out = append(out, s)
		}
	}
	return out
}

// Keyboard is the last message of the turn that carries inline buttons (sent or edited),
// the one a user would press next; the zero Sent if there is none.
func (t Turn) Keyboard() emulator.Sent {
	for i := len(t.Sent) - 1; i >= 0; i-- {
		if len(t.Sent[i].Buttons) > 0 {
			return t.Sent[i]
		}
	}
	return emulator.Sent{}
}

// String renders the turn as a chat transcript, one line per thing sent:
//
//	bot: Delete the count? [Yes] [No]
//	bot (edited): Count reset.
//	bot (notice): Done
//	bot: [photo 640×480] Minutes per workout
func (t Turn) String() string {
	var b strings.Builder
	for _, s := range t.Sent {
		switch s.Method {
		case "sendMessage":
			b.WriteString("bot: " + s.Text)
		case "editMessageText":
			b.WriteString("bot (edited): " + s.Text)
		case "answerCallbackQuery":
			if s.Text == "" {
				continue // only stops the client's spinner
			}
			b.WriteString("bot (notice): " + s.Text)
		case "sendPhoto":
			fmt.Fprintf(&b, "bot: [photo %d×%d] %s", s.Width, s.Height, s.Text)
		case "deleteMessage":
			fmt.Fprintf(&b, "bot (deleted message %d)", s.MessageID)
		default:
			fmt.Fprintf(&b, "bot (%s): %s", s.Method, s.Text)
		}
		for _, row := range s.Buttons {
			for _, btn := range row {
				b.WriteString(" [" + btn.Text + "]")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Script starts app as Start does, for an Example function or a program, where there is no
// test: a failure panics, and stop (which the caller must call) stops the bot and the
// emulator.
func Script[S any](app bot.App[S], opts ...Option) (h *Harness, stop func()) {
	s := &script{}
	return Start(s, app, opts...), s.stop
}

// script is the T of Script.
type script struct{ cleanups []func() }

func (*script) Helper()                           {}
func (*script) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (*script) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (s *script) Cleanup(f func())                { s.cleanups = append(s.cleanups, f) }
func (s *script) stop() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	s.cleanups = nil
}

// Chat is one user's side of a conversation that prints as it goes: each message and
// press, then the bot's turn. It remembers the last keyboard the bot showed, so Tap needs
// only a label. Example functions print their transcript with it.
type Chat struct {
	h        *Harness
	w        io.Writer
	user     int64
	keyboard emulator.Sent
}

// Chat starts user's side of a conversation printed to w.
func (h *Harness) Chat(w io.Writer, user int64) *Chat { return &Chat{h: h, w: w, user: user} }

// Say sends text, prints "user: text" and the bot's turn, and returns the turn.
func (c *Chat) Say(text string) Turn {
	c.h.tb.Helper()
	fmt.Fprintf(c.w, "user: %s\n", text)
	return c.show(c.h.Send(c.user, text))
}

// Tap presses the button labelled label on the last keyboard the bot showed, prints
// "user taps [label]" and the bot's turn, and returns the turn.
func (c *Chat) Tap(label string) Turn {
	c.h.tb.Helper()
	fmt.Fprintf(c.w, "user taps [%s]\n", label)
	return c.show(c.h.Tap(c.user, c.keyboard, label))
}

func (c *Chat) show(t Turn) Turn {
	fmt.Fprint(c.w, t)
	if kb := t.Keyboard(); len(kb.Buttons) > 0 {
		c.keyboard = kb
	}
	return t
}
