package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot/outbound"
	"github.com/troupebot/troupe/emulator"
)

// The sandbox user: the person at the terminal, an admin so /status works.
const sandboxUser = 1

// sandboxToken is the token the in-process emulator accepts. It looks like a real one so
// the bot's token handling is exercised.
const sandboxToken = "100000001:SANDBOX-not-a-real-token"

// replyWait bounds how long the sandbox waits for the bot to finish one message.
const replyWait = 30 * time.Second

// sandbox runs the bot against an in-process Bot API emulator and chats on the terminal:
// each input line is a message from the sandbox user, each reply is printed. It handles one
// line at a time, waiting until the bot has finished it (confirmed the update, which the
// bot does only after its replies were accepted), so the transcript reads in order.
type sandbox struct {
	cfg         config
	in          io.Reader
	out         io.Writer
	log         *slog.Logger
	interactive bool

	mu       sync.Mutex
	keyboard []emulator.Button // buttons of the newest message that had some, in order
	kbMsg    int64
}

func (s *sandbox) run(ctx context.Context) error {
	if s.cfg.web {
		// The page's crash control sends "panic": the supervisor is the thing to see.
		s.cfg.chaos = true
	}
	ecfg := emulator.Config{Token: sandboxToken, OnSend: s.print, Logger: s.log}
	if s.cfg.web {
		// The page shows the chats; the terminal keeps to the URL and to what goes wrong,
		// not a line for each of a load run's 500 replies.
		ecfg.OnSend = nil
	}
	if s.cfg.store != "memory" {
		// The store remembers this user's update ids from earlier sessions.
		ecfg.FirstUpdateID = emulator.UpdateIDFromClock()
	}
	emu, err := emulator.New(ecfg)
	if err != nil {
		return err
	}
	defer emu.Close()
	bc := botConfig(s.cfg, sandboxToken, emu.URL(), s.log)
	// Each line is answered once its update is confirmed: only once its replies are sent.
	bc.MaxUnsentPerChat = -1
	bc.Webhook = false // the sandbox's emulator is polled
	// The emulator answers at once; a short long-poll keeps shutdown quick. Nothing is in
	// flight at the end of input (chat waits for each line), only when Ctrl-C gives up on
	// a message the bot is stuck on, so the drain is short too. Its one user is served
	// without Telegram's pacing or flood control, so a piped session of any length runs at
	// full speed.
	bc.PollTimeout, bc.DrainTimeout = 5*time.Second, time.Second
	bc.Limits, bc.Flood = outbound.Limits{}, actors.FloodLimit{}
	// Its one user's lines go one at a time, each confirmed once answered; with a durable
	// store a line cut short stays unconfirmed and the next session's emulator starts
	// afresh, so the journal would only confirm lines before their replies.
	s.cfg.noJournal = true
	b, closeStore, err := newBot(s.cfg, bc, append([]int64{sandboxUser}, s.cfg.admins...))
	if err != nil {
		return err
	}
	defer closeStore()
	if s.cfg.web {
		return s.serveWeb(ctx, emu, b)
	}
	// The operator's endpoints work here too; a busy port must not spoil a tryout.
	if ln, err := net.Listen("tcp", s.cfg.listen); err != nil {
		s.log.Warn("not serving /healthz, /readyz, /metrics", slog.String("addr", s.cfg.listen), slog.Any("err", err))
	} else {
		var private []net.Listener
		if s.cfg.opsListen != "" {
			if pln, err := net.Listen("tcp", s.cfg.opsListen); err != nil {
				s.log.Warn("not serving the ops address", slog.String("addr", s.cfg.opsListen), slog.Any("err", err))
			} else {
				private = append(private, pln)
			}
		}
		defer shutdown(serveOps(ln, b, s.cfg.webhookPath(), s.log, private...))
	}
	botCtx, stopBot := context.WithCancel(ctx)
	defer stopBot()
	botDone := make(chan error, 1)
	go func() { botDone <- b.Run(botCtx) }()

	if s.interactive {
		fmt.Fprintf(s.out, "Troupe sandbox %s: you are user %d, chatting with the bot in this terminal.\n", version, sandboxUser)
		fmt.Fprintln(s.out, "Type a message and press Enter; \":tap N\" presses button N of the last keyboard; Ctrl-D or Ctrl-C quits.")
	}
	err = s.chat(ctx, emu)
	stopBot()
	if berr := <-botDone; berr != nil && err == nil {
		err = berr
	}
	return err
}

// chat sends each input line to the bot and waits until the bot has finished it. Ctrl-C or
// SIGTERM (ctx ending) ends the chat at once, whether it waits for the person or for the
// bot, saying which. An interrupted sandbox still exits 0, like the bot server on the same
// signals (docs/operations.md): ending a tryout with Ctrl-C is the ordinary way to leave,
// not a failure, and the line printed says what was left undone.
func (s *sandbox) chat(ctx context.Context, emu *emulator.Server) error {
	lines, readErr := readLines(ctx, s.in)
	for {
		var line string
		select {
		case <-ctx.Done():
			s.interrupted("your input")
			return nil
		case l, ok := <-lines:
			if !ok {
				if err := <-readErr; err != nil {
					return fmt.Errorf("sandbox: read input: %w", err)
				}
				return nil
			}
			line = strings.TrimRight(l, "\r")
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !s.interactive {
			fmt.Fprintf(s.out, "you: %s\n", line)
		}
		pushed, err := s.push(emu, line)
		if err != nil {
			fmt.Fprintf(s.out, "sandbox: %v\n", err)
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, replyWait)
		err = emu.WaitConfirmed(wctx, pushed.UpdateID)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				s.interrupted(fmt.Sprintf("the bot to answer %q", line))
				return nil
			}
			return fmt.Errorf("sandbox: the bot did not finish %q within %v: %w", line, replyWait, err)
		}
	}
}

// interrupted says what the sandbox was waiting for when Ctrl-C or SIGTERM came.
func (s *sandbox) interrupted(waitingFor string) {
	if s.interactive {
		fmt.Fprintln(s.out) // the terminal's cursor is still after the ^C it echoed
	}
	fmt.Fprintf(s.out, "sandbox: interrupted while waiting for %s\n", waitingFor)
}

// readLines feeds in's lines to the returned channel, closed at the end of input after any
// read error is sent on the other. A Read blocked on a terminal or a pipe cannot be called
// off, so chat selects on the channel and ctx instead of calling Scan itself; the goroutine
// stays blocked in that Read until the process exits.
func readLines(ctx context.Context, in io.Reader) (<-chan string, <-chan error) {
	lines, errc := make(chan string), make(chan error, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
	}()
	return lines, errc
}

// push sends line as the sandbox user: a message, or a button press for ":tap N".
func (s *sandbox) push(emu *emulator.Server, line string) (emulator.Pushed, error) {
	arg, isTap := strings.CutPrefix(strings.TrimSpace(line), ":tap")
	if !isTap {
		return emu.SendText(sandboxUser, line)
	}
	s.mu.Lock()
	buttons, msg := s.keyboard, s.kbMsg
	s.mu.Unlock()
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	switch {
	case len(buttons) == 0:
		return emulator.Pushed{}, errors.New("no keyboard to tap yet")
	case err != nil || n < 1 || n > len(buttons):
		return emulator.Pushed{}, fmt.Errorf(":tap takes a button number from 1 to %d", len(buttons))
	}
	return emu.PressButton(sandboxUser, sandboxUser, msg, buttons[n-1].Data)
}

// print shows one thing the bot sent, on one line per line of its text.
func (s *sandbox) print(m emulator.Sent) {
	var text string
	switch m.Method {
	case "sendMessage":
		text = "bot: " + m.Text
	case "editMessageText":
		text = "bot (edited its message): " + m.Text
	case "answerCallbackQuery":
		if m.Text == "" {
			return
		}
		text = "bot (notification): " + m.Text
	case "sendPhoto":
		text = fmt.Sprintf("bot: [photo %d×%d PNG, %d bytes]", m.Width, m.Height, len(m.Photo))
		if m.Text != "" {
			text += " " + m.Text
		}
	default:
		return // chat actions ("uploading a photo…") are not replies
	}
	text = strings.ReplaceAll(text, "\n", "\n     ")
	var kb []emulator.Button
	for _, row := range m.Buttons {
		kb = append(kb, row...)
	}
	if m.Method == "editMessageText" && len(kb) == 0 {
		s.mu.Lock()
		if s.kbMsg == m.MessageID {
			s.keyboard = nil
		}
		s.mu.Unlock()
	}
	if len(kb) > 0 {
		labels := make([]string, len(kb))
		for i, b := range kb {
			labels[i] = fmt.Sprintf("[%d: %s]", i+1, b.Text)
		}
		text += "\n     " + strings.Join(labels, " ") + "   (:tap N)"
		s.mu.Lock()
		s.keyboard, s.kbMsg = kb, m.MessageID
		s.mu.Unlock()
	}
	fmt.Fprintln(s.out, text)
}
