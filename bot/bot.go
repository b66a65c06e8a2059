package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot/botapi"
	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/bot/outbound"
	"github.com/troupebot/troupe/bot/redact"
	"github.com/troupebot/troupe/internal/backoff"
)

// Config is what the edge needs to run an App; cmd/bot fills it from flags and the
// environment. What the application itself needs (its admins, its options) is the App's.
type Config struct {
	Token  string
	APIURL string // Bot API base URL; empty means https://api.telegram.org
	// Webhook switches from long polling to webhook mode: updates arrive at
	// WebhookHandler, which the caller serves. WebhookURL, if set, is registered with
	// setWebhook on start, with WebhookSecret as its secret token.
	Webhook       bool
	WebhookURL    string
	WebhookSecret string
	// Journal, with a durable store, makes intake confirm an update to Telegram once it is
	// journaled (not once it is finished): the webhook answers 200 then, the poller moves
	// its offset past the batch; a journal that cannot take an update is backpressure (503,
	// no fetching). The journal's unfinished updates go to the runtime before new ones.
	// cmd/bot adapts redisstore's journal. Nil confirms an update once it is finished
	// (polling) or in the runtime (webhook).
	Journal intake.Journal
	// Lease, with a Journal in polling mode, is the polling lease: the bot polls only while
	// it holds it and stands by, ready, while another process does (a redeploy's overlap, a
	// cluster's other members); its journal appends are fenced by the lease's token.
	// cmd/bot adapts redisstore's. Nil polls always.
	Lease intake.Lease
	// JournalSweep is how often the journal is swept for updates another process took and
	// left unfinished after this one started (a redeploy's old process, stopped or killed
	// during the overlap); 0 means 15s.
	JournalSweep time.Duration
	// Cluster, with a Journal, makes this process a member of a cluster of bot processes:
	// what it journals goes to the member hosting the update's user, what is forwarded here
	// comes in through Accept. Nil is a process on its own.
	Cluster Cluster
	// Workers is how many Bot API requests may be in flight at once; 0 means 64.
	Workers int
	// MaxUnsentPerChat and MaxUnsent bound the replies queued and not yet sent, for one
	// chat and for the bot, that the memory store lets Telegram count delivered: an update
	// is confirmed once its replies are queued while its chat and the bot are within them,
	// else only once they are sent. A crash loses those replies as it loses the contexts.
	// (A durable store confirms at the journal and keeps replies in its outbox.) 0 means
	// 1,000 and 20,000; a negative MaxUnsentPerChat confirms every update only once its
	// replies are sent, holding the 100-update polling window meanwhile.
	MaxUnsentPerChat, MaxUnsent int
	// PollTimeout is the getUpdates long-poll timeout; 0 means 30s.
	PollTimeout time.Duration
	// DrainTimeout bounds the graceful stop: finishing in-flight updates and their
	// replies. 0 means 25s, under the 30s Render and Kubernetes give by default.
	DrainTimeout time.Duration
	// Restart is the supervision policy of user actors; zero fields take
	// actors.DefaultRestartPolicy's.
	Restart actors.RestartPolicy
	// IdleTimeout passivates a user actor idle this long; 0 never does.
	IdleTimeout time.Duration
	// MaxResident caps the user actors in memory, least recently used passivated first;
	// 0 means no cap.
	MaxResident int
	// MaxContextBytes refuses to commit a user's context larger than this; 0 means no
	// bound. ContextExpiry forgets a context untouched this long; 0 keeps it.
	MaxContextBytes int
	ContextExpiry   time.Duration
	// Limits are the outbound rates kept (outbound.TelegramLimits for Telegram); the zero
	// value keeps none.
	Limits outbound.Limits
	// Flood bounds how fast one user's messages are handled; past it they are skipped and
	// the user told once. The zero value bounds nothing.
	Flood actors.FloodLimit
	// ChartWorkers is the number of chart renderers; 0 means GOMAXPROCS. ChartQueue bounds
	// the charts waiting or drawing, past which users are told to try again; 0 means 8 per
	// worker.
	ChartWorkers int
	ChartQueue   int
	Version      string
	// Logger receives every log line of the bot, with the token redacted; nil means
	// slog.Default().
	Logger *slog.Logger
	// OnEvent, if set, receives the runtime's lifecycle events as they happen: *Crashed,
	// *Restarted, *Passivated and *CooledDown. It is called on the runtime's own goroutines,
	// so it must return quickly and must not call back into the Bot; hand the event to a
	// channel or a counter.
	OnEvent func(Event)
	// Now is the runtime's clock (Update.Now, idle timeouts, cool-downs); nil means
	// time.Now. Tests inject one.
	Now func() time.Time
}

// DefaultDrainTimeout bounds a graceful stop unless Config.DrainTimeout says otherwise:
// under the 30 s Render and Kubernetes give a process between SIGTERM and SIGKILL.
const DefaultDrainTimeout = 25 * time.Second

// Bot is the edge running one App: intake (long polling, or in webhook mode the handler
// WebhookHandler returns), the actor runtime running the App's Logic, the chart pool and
// the outbound sender. It is not generic: what is typed by the App's state stays inside New.
type Bot struct {
	cfg       Config
	app       string // App.Name
	log       *slog.Logger
	api       *gotgbot.Bot
	endpoint  botapi.Endpoint // the same client, for requests sent without gotgbot
	transport *http.Transport
	runtime   engine
	custom    map[string]CustomFunc
	me        atomic.Pointer[gotgbot.User] // getMe's answer; an empty User until then
	allowed   []string                     // the update types asked of Telegram
	sender    *outbound.Sender
	poller    *intake.Poller  // polling mode
	webhook   *intake.Webhook // webhook mode
	charts    *actors.Pool[*Chart, []byte]
	meter     *meter
	started   time.Time
	ready     atomic.Bool
	store     storeHealth
	journal   *watchedJournal // cfg.Journal as intake uses it; nil without

	chartLatency prometheus.Histogram // the chart pool observes into it; Snapshot reads it
}

// engine is the runtime as the Bot uses it, whatever the App's state type.
type engine interface {
	intake.Deliverer
	intake.Submitter
	Stats() actors.Stats
	StoreErrAt() (time.Time, error)
	Close(ctx context.Context) error
}

var (
	_ engine                    = (*actors.Runtime[int, Action])(nil)
	_ intake.JournaledSubmitter = (*actors.Runtime[int, Action])(nil)
)

// New builds a Bot running app on the memory store and starts its runtime and sender; it
// contacts Telegram only in Run. A Bot that was built must be Run (which also stops it).
func New[S any](cfg Config, app App[S]) (*Bot, error) { return NewDurable(cfg, app, nil) }

// NewDurable is New on store, a durable store opened with app.Codec (cmd/bot opens
// redisstore): every update's replies are committed with its state (an outbox) and sent
// again after a restart if they were not finished; an update the store cannot take is left
// unconfirmed for Telegram to send again, and /readyz says the store is down. A nil store is
// the memory store. A store with a Ping(ctx) error method is pinged by readiness.
func NewDurable[S any](cfg Config, app App[S], store actors.Store[S]) (*Bot, error) {
	if cfg.Token == "" {
		return nil, errors.New("bot: token is empty")
	}
	if app.Logic == nil {
		return nil, fmt.Errorf("bot: app %q has no Logic", app.Name)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Everything the bot runs logs through this logger (the runtime, protoactor, the sender,
	// the intake, the chart pool), so no line of theirs can show the token, whatever put it
	// in: an error, a panic value, a third party's message.
	cfg.Logger = slog.New(redact.Token(cfg.Token).Handler(cfg.Logger.Handler()))
	if cfg.Cluster != nil && cfg.Journal == nil {
		return nil, errors.New("bot: a cluster member needs a durable store and its journal")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.MaxUnsentPerChat == 0 {
		cfg.MaxUnsentPerChat = 1000
	}
	if cfg.MaxUnsent <= 0 {
		cfg.MaxUnsent = 20_000
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	transport := botapi.NewTransport(cfg.Workers + 2)
	hc := &http.Client{Transport: transport}
	client := botapi.New(cfg.APIURL, hc)
	api, err := gotgbot.NewBot(cfg.Token, &gotgbot.BotOpts{
		BotClient:         client,
		DisableTokenCheck: true, // Run checks it, with retries
	})
	if err != nil {
		return nil, fmt.Errorf("bot: create API client: %w", err)
	}
	b := &Bot{
		cfg:       cfg,
		app:       app.Name,
		log:       cfg.Logger.With(slog.String("app", app.Name)),
		api:       api,
		endpoint:  client.For(cfg.Token),
		transport: transport,
		custom:    app.Custom,
		allowed:   app.AllowedUpdates,
		started:   time.Now(),
	}
	if b.allowed == nil {
		b.allowed = AllUpdates
	}
	b.me.Store(&gotgbot.User{})
	var codec actors.ActionCodec[Action]
	b.store.kind, b.store.now = "memory", cfg.Now
	if store == nil {
		store = actors.NewMemoryStore(actors.MemoryConfig[S]{MaxSize: cfg.MaxContextBytes, Size: app.Size, ExpireAfter: cfg.ContextExpiry})
	} else {
		codec, b.store.kind = actionCodec{}, "durable"
		b.store.ping, _ = store.(pinger)
	}
	b.sender = outbound.New(outbound.Config{Workers: cfg.Workers, Limits: cfg.Limits, Logger: b.log})
	rt := actors.NewDurable(context.Background(), actors.Config{
		Restart: cfg.Restart, IdleTimeout: cfg.IdleTimeout, MaxResident: cfg.MaxResident, Flood: cfg.Flood, Logger: b.log, Now: cfg.Now,
	}, actors.Logic[S, Action](newAdapter(app.Logic, &b.me, cfg.Now)), actors.PerformFunc[Action](b.perform), store, codec)
	b.runtime = rt
	if cfg.OnEvent != nil {
		subscribe(rt.System(), cfg.OnEvent)
	}
	b.chartLatency = newChartLatency()
	b.charts = actors.NewPool(rt.System(), actors.PoolConfig{Workers: cfg.ChartWorkers, Queue: cfg.ChartQueue, Logger: b.log, Latency: b.chartLatency}, drawChart)
	var journal intake.Journal
	if cfg.Journal != nil {
		b.journal = &watchedJournal{Journal: cfg.Journal, now: cfg.Now}
		journal = b.journal
	}
	switch {
	case cfg.Webhook && cfg.Journal != nil:
		wc := intake.WebhookConfig{Secret: cfg.WebhookSecret, Logger: b.log, JournalSweep: cfg.JournalSweep}
		if cfg.Cluster != nil {
			wc.Forward, wc.Leave = cfg.Cluster, cfg.Cluster.Leave
		}
		b.webhook = intake.NewJournaledWebhook(b.runtime, journal, wc)
	case cfg.Webhook:
		b.webhook = intake.NewWebhook(b.runtime, intake.WebhookConfig{Secret: cfg.WebhookSecret, Logger: b.log})
	case cfg.Journal != nil:
		b.poller = intake.NewJournaledPoller(b.endpoint, b.runtime, journal, b.pollerConfig())
	default:
		b.poller = intake.NewPoller(b.endpoint, b.runtime, b.pollerConfig())
	}
	b.meter = newMeter(b.counts)
	return b, nil
}

func (b *Bot) pollerConfig() intake.PollerConfig {
	pc := intake.PollerConfig{Timeout: b.cfg.PollTimeout, AllowedUpdates: b.allowed, Logger: b.log, JournalSweep: b.cfg.JournalSweep}
	if b.journal != nil && b.cfg.Lease != nil {
		pc.Lease = watchedLease{Lease: b.cfg.Lease, journal: b.journal}
	}
	if b.cfg.Cluster != nil {
		pc.Forward, pc.Leave = b.cfg.Cluster, b.cfg.Cluster.Leave
	}
	return pc
}

// WebhookHandler serves the webhook in webhook mode (nil in polling mode), for the caller
// to mount at the path of WebhookURL.
func (b *Bot) WebhookHandler() http.Handler {
	if b.webhook == nil {
		return nil
	}
	return b.webhook
}

// Ready reports whether the bot is taking updates: false before intake starts, while
// draining, while a durable store does not answer, and while the journal cannot take the
// batch polled.
func (b *Bot) Ready() bool {
	return b.ready.Load() && b.StoreErr() == nil && (b.poller == nil || !b.poller.Stats().Blocked)
}

// Run serves until ctx is done, then stops gracefully: it stops fetching, waits (up to
// DrainTimeout) for the updates in flight and their replies, confirms them to Telegram and
// returns. It returns an error only when the bot cannot run at all (the token is refused).
func (b *Bot) Run(ctx context.Context) error {
	defer b.meter.stop()
	runErr := b.serve(ctx)
	b.ready.Store(false)

	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.DrainTimeout)
	defer cancel()
	var errs []error
	if b.webhook != nil {
		// From now on Telegram is answered 503 and keeps the updates for the next process.
		if err := b.webhook.Drain(dctx); err != nil {
			errs = append(errs, err)
		}
	} else if err := b.poller.Drain(dctx); err != nil {
		errs = append(errs, err)
	}
	if err := b.sender.Close(dctx); err != nil {
		errs = append(errs, err)
	}
	if err := b.charts.Close(dctx); err != nil {
		errs = append(errs, err)
	}
	if err := b.runtime.Close(dctx); err != nil {
		errs = append(errs, err)
	}
	b.transport.CloseIdleConnections()
	b.drained(errors.Join(errs...))
	return runErr
}

// drained says in one line what the drain could not finish, with counts: nothing is logged
// per update or per reply on the way (the sender counts what it abandons). With a durable
// store all of it stays in the journal and the outbox for the next process. The memory
// store loses the replies not sent, and in webhook mode the unfinished updates too, as
// Telegram took them for delivered; a poller leaves those unconfirmed for Telegram to send
// again (to a process that has lost their contexts).
func (b *Bot) drained(err error) {
	unfinished, unsent := b.intakeStats().InFlight, b.sender.Stats().Abandoned
	if err == nil && unfinished == 0 && unsent == 0 {
		b.log.Info("bot stopped cleanly")
		return
	}
	var fate string
	switch {
	case b.store.kind == "durable":
		fate = "kept for the next process"
	case b.webhook != nil:
		fate = "lost: the memory store keeps no journal, and Telegram took the updates for delivered"
	default:
		fate = "replies lost; unfinished updates left unconfirmed, for Telegram to send again"
	}
	b.log.Warn("stopped with work unfinished", slog.String("store", b.store.kind), slog.String("intake", b.intakeStats().Mode),
		slog.Int("updates_unfinished", unfinished), slog.Int64("replies_unsent", unsent), slog.String("fate", fate), slog.Any("err", err))
}

func (b *Bot) serve(ctx context.Context) error {
	me, err := b.getMe(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before it started: nothing went wrong
		}
		return err
	}
	b.me.Store(me)
	b.log.Info("bot starting", slog.String("username", me.Username), slog.Int64("id", me.Id),
		slog.String("version", b.cfg.Version), slog.Bool("webhook", b.webhook != nil))
	if b.webhook != nil {
		return b.serveWebhook(ctx)
	}
	if _, err := b.api.DeleteWebhookWithContext(ctx, nil); err != nil {
		// A webhook left set makes getUpdates fail; the poller will report that.
		b.log.Warn("deleteWebhook failed", slog.Any("err", err))
	}
	b.ready.Store(true)
	return b.poller.Run(ctx)
}

// serveWebhook registers the webhook, if a URL is given, and takes updates until ctx ends.
// The webhook stays registered when the bot stops: Telegram keeps the updates (answered 503
// meanwhile) for the next process.
func (b *Bot) serveWebhook(ctx context.Context) error {
	// The journal is replayed before the webhook takes an update, so it runs before
	// Telegram is told where to send them; it stops with ctx, before the runtime closes.
	replayed := make(chan struct{})
	go func() {
		defer close(replayed)
		_ = b.webhook.Run(ctx)
	}()
	defer func() { <-replayed }()
	if b.cfg.WebhookURL != "" {
		opts := &gotgbot.SetWebhookOpts{SecretToken: b.cfg.WebhookSecret, AllowedUpdates: b.allowed, MaxConnections: 40}
		for attempt := 1; ; attempt++ {
			_, err := b.api.SetWebhookWithContext(ctx, b.cfg.WebhookURL, opts)
			if err == nil {
				break
			}
			var te *gotgbot.TelegramError
			if errors.As(err, &te) && te.Code < 500 && te.Code != http.StatusTooManyRequests {
				return fmt.Errorf("bot: setWebhook %s: %w", redactURL(b.cfg.WebhookURL), err)
			}
			delay := startRetry.Delay(attempt, 0)
			b.log.Warn("setWebhook failed", slog.Any("err", err), slog.Int("attempt", attempt), slog.String("retry_in", delay.String()))
			if backoff.Sleep(ctx, delay) != nil {
				return nil
			}
		}
		b.log.Info("webhook registered", slog.String("url", redactURL(b.cfg.WebhookURL)))
	}
	b.ready.Store(true)
	<-ctx.Done()
	return nil
}

// redactURL keeps a webhook URL's scheme and host for logs: its path may hold a secret.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// startRetry spaces the tries of getMe and setWebhook while the Bot API cannot be reached at
// start: 1 s, 2 s, 3 s … up to 30 s. No jitter: one process retries, not a crowd.
var startRetry = backoff.Policy{Initial: time.Second, Max: 30 * time.Second, Linear: true}

// getMe learns the bot's username, retrying while the Bot API is unreachable: a bot that
// starts before its network must not exit at once. A refused token is final.
func (b *Bot) getMe(ctx context.Context) (*gotgbot.User, error) {
	for attempt := 1; ; attempt++ {
		me, err := b.api.GetMeWithContext(ctx, nil)
		if err == nil {
			return me, nil
		}
		var te *gotgbot.TelegramError
		if errors.As(err, &te) && te.Code == http.StatusUnauthorized {
			return nil, fmt.Errorf("bot: getMe: %w", intake.ErrUnauthorized)
		}
		delay := startRetry.Delay(attempt, 0)
		b.log.Warn("getMe failed", slog.Any("err", err), slog.Int("attempt", attempt), slog.String("retry_in", delay.String()))
		if err := backoff.Sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("bot: getMe: %w", err)
		}
	}
}
