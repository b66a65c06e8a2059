package echobot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/troupebot/troupe/internal/backoff"
)

// Config sets up a Bot. APIURL and Token are required.
type Config struct {
	APIURL string // Bot API base URL, e.g. the emulator's
	Token  string
	// Chaos makes the text "panic" fail: the bot answers with an apology and does not count
	// it, as a crashed actor of the project's bot does.
	Chaos bool
	// Workers is how many chats are answered at once; 0 means 32.
	Workers int
	// PollTimeout is the getUpdates long-poll timeout; 0 means 25s.
	PollTimeout time.Duration
	// Tamper, if set, sees the replies to each update before they are sent and returns the
	// ones to send instead. Tests use it to make a deliberately wrong bot. It is called
	// concurrently for different chats, and in update order for one chat.
	Tamper func(u Update, replies []Reply) []Reply
	// Logger receives failed requests; nil means slog.Default().
	Logger *slog.Logger
}

// Update is what the bot reads of one Telegram update.
type Update struct {
	ID        int64
	ChatID    int64
	MessageID int64 // the user's message, or the message whose button was pressed
	Text      string
	// CallbackID and Data are set for a button press.
	CallbackID string
	Data       string
}

// Reply is one Bot API call answering an update.
type Reply struct {
	Method     string // "sendMessage", "sendPhoto" or "answerCallbackQuery"
	ChatID     int64
	ReplyTo    int64 // the message replied to (reply_parameters.message_id)
	Text       string
	Buttons    []Button // one row of inline buttons
	Photo      []byte   // sendPhoto's file
	CallbackID string   // answerCallbackQuery's query
}

// Button is an inline keyboard button.
type Button struct{ Text, Data string }

// ErrUnauthorized means the Bot API refused the token.
var ErrUnauthorized = errors.New("echobot: bot token refused (401 Unauthorized)")

// Bot is a running echo bot.
type Bot struct {
	cfg      Config
	log      *slog.Logger
	api      *client
	counters counters
}

// New builds a Bot; it contacts nothing until Run.
func New(cfg Config) (*Bot, error) {
	if cfg.APIURL == "" || cfg.Token == "" {
		return nil, errors.New("echobot: APIURL and Token are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 32
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 25 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := &Bot{cfg: cfg, log: cfg.Logger, api: newClient(cfg.APIURL, cfg.Token, cfg.Workers+2)}
	b.counters.init()
	return b, nil
}

// pollRetry spaces the polls after getUpdates failed: 100 ms, 200 ms … up to 2 s.
var pollRetry = backoff.Policy{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Linear: true}

// queueLen is how many updates a worker may have waiting before the poller waits for it.
const queueLen = 1024

// Run polls and answers until ctx is done, then answers what it fetched, confirms it and
// returns nil; it returns ErrUnauthorized if the token is refused.
func (b *Bot) Run(ctx context.Context) error {
	// Each chat belongs to one worker, which answers its updates in order; the poller
	// fetches the next batch at once, confirming the previous one (as gotgbot's updater
	// does), so the bot is never idle waiting for a slow chat.
	queues := make([]chan Update, b.cfg.Workers)
	var workers sync.WaitGroup
	// Replies go out even when ctx ends meanwhile: an update fetched is answered.
	sendCtx := context.WithoutCancel(ctx)
	for i := range queues {
		queues[i] = make(chan Update, queueLen)
		workers.Go(func() {
			for u := range queues[i] {
				b.answerUpdate(sendCtx, u)
			}
		})
	}
	defer b.api.http.CloseIdleConnections()

	var offset int64
	failures := 0
	for ctx.Err() == nil {
		ups, err := b.api.getUpdates(ctx, offset, b.cfg.PollTimeout)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, ErrUnauthorized) {
				for _, q := range queues {
					close(q)
				}
				workers.Wait()
				return err
			}
			failures++
			b.log.Warn("getUpdates failed", slog.Any("err", err), slog.Int("failures", failures))
			if backoff.Sleep(ctx, pollRetry.Delay(failures, 0)) != nil {
				break
			}
			continue
		}
		failures = 0
		for _, u := range ups {
			queues[uint64(u.ChatID)%uint64(len(queues))] <- u
			offset = u.ID + 1
		}
	}
	for _, q := range queues {
		close(q)
	}
	workers.Wait()
	// Confirm the last batch: limit 1 and timeout 0, the call is only for its offset.
	cctx, cancel := context.WithTimeout(sendCtx, 5*time.Second)
	defer cancel()
	if _, err := b.api.getUpdatesLimit(cctx, offset, 0, 1); err != nil {
		return fmt.Errorf("echobot: confirm offset %d: %w", offset, err)
	}
	return nil
}

// answerUpdate sends the replies to one update, in order.
func (b *Bot) answerUpdate(ctx context.Context, u Update) {
	replies := b.answer(u)
	if b.cfg.Tamper != nil {
		replies = b.cfg.Tamper(u, replies)
	}
	for _, r := range replies {
		if err := b.api.send(ctx, r); err != nil {
			b.log.Error("reply failed", slog.Int64("update", u.ID), slog.String("method", r.Method), slog.Any("err", err))
		}
	}
}

// answer applies the echo contract to one update.
func (b *Bot) answer(u Update) []Reply {
	if u.CallbackID != "" {
		return []Reply{{Method: "answerCallbackQuery", CallbackID: u.CallbackID, Text: "Cancelled"}}
	}
	text := strings.TrimSpace(u.Text)
	reply := func(s string) []Reply {
		return []Reply{{Method: "sendMessage", ChatID: u.ChatID, ReplyTo: u.MessageID, Text: s}}
	}
	command, _, _ := strings.Cut(strings.TrimPrefix(text, "/"), " ")
	command, _, _ = strings.Cut(command, "@")
	switch {
	case b.cfg.Chaos && text == "panic":
		return reply("Sorry, something went wrong with that message; nothing was recorded.")
	case !strings.HasPrefix(text, "/"):
		n := b.counters.next(u.ChatID)
		return reply(fmt.Sprintf("#%d %q", n, text))
	case command == "reset":
		r := reply("Delete all values?")
		r[0].Buttons = []Button{{Text: "Cancel", Data: fmt.Sprintf("reset:no:%d", u.MessageID)}}
		return r
	case command == "chart":
		return []Reply{{Method: "sendPhoto", ChatID: u.ChatID, ReplyTo: u.MessageID, Photo: chartPNG}}
	}
	return reply("/" + command + " noted.")
}

// counters are the users' message counters, sharded to keep lock contention low.
type counters struct {
	shards [64]struct {
		mu sync.Mutex
		n  map[int64]int64
	}
}

func (c *counters) init() {
	for i := range c.shards {
		c.shards[i].n = make(map[int64]int64)
	}
}

func (c *counters) next(chat int64) int64 {
	sh := &c.shards[uint64(chat)%uint64(len(c.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.n[chat]++
	return sh.n[chat]
}
