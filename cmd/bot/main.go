// Command bot is the Troupe bot server. With a token it serves Telegram over long polling;
// without one it starts the sandbox: the bot against an in-process Bot API emulator,
// chatting on the terminal, or with -web on a chat page in the browser. In both, -listen serves /healthz, /readyz and /metrics (with a
// token and -ops-listen set, /metrics moves to that private address).
// `bot healthcheck` asks /healthz of a running bot and exits 0 or 1, for container health
// checks. See docs/configuration.md for every flag and variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/term"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/bot/ops"
	"github.com/troupebot/troupe/bot/outbound"
	"github.com/troupebot/troupe/bot/redact"
	"github.com/troupebot/troupe/examples/counter"
	"github.com/troupebot/troupe/examples/echo"
	"github.com/troupebot/troupe/examples/form"
	"github.com/troupebot/troupe/redisstore"
	"github.com/troupebot/troupe/redisstore/actorstore"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run is main with its dependencies passed in, so tests run the real command in-process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bot: %v\n", err)
		return 2
	}
	if cfg.version {
		fmt.Fprintln(stdout, version)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if healthcheck {
		if err := ops.Healthcheck(ctx, cfg.listen); err != nil {
			fmt.Fprintf(stderr, "bot: %v\n", err)
			return 1
		}
		return 0
	}

	if cfg.token == "" {
		if isNullDevice(stdin) && !cfg.web {
			// A deployment that forgot its token, not a person trying the sandbox.
			fmt.Fprintln(stderr, "bot: TELEGRAM_BOT_TOKEN (-token) is not set, and there is no terminal for the sandbox; set the token to serve Telegram")
			return 2
		}
		sb := &sandbox{
			cfg:         cfg,
			in:          stdin,
			out:         stdout,
			log:         slog.New(redact.Token(sandboxToken).Handler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
			interactive: isTerminal(stdin),
		}
		if err := sb.run(ctx); err != nil {
			fmt.Fprintf(stderr, "bot: %v\n", err)
			return 1
		}
		return 0
	}

	log := slog.New(redact.Token(cfg.token).Handler(slog.NewJSONHandler(stderr, nil)))
	bc := botConfig(cfg, cfg.token, cfg.apiURL, log)
	var mb *member
	if cfg.cluster != "" {
		if mb, err = newMember(cfg, log); err != nil {
			log.Error("cannot start", slog.Any("err", err))
			return 1
		}
		bc.Cluster = mb
	}
	b, closeStore, err := newBot(cfg, bc, cfg.admins)
	if err != nil {
		log.Error("cannot start", slog.Any("err", err))
		return 1
	}
	defer closeStore()
	if mb != nil {
		// A member joins before the bot runs: the bot's first act is to replay the journal,
		// forwarding each update to its user's member.
		if err := mb.start(ctx, b); err != nil {
			log.Error("cannot join the cluster", slog.Any("err", err))
			return 1
		}
		defer mb.Leave()
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		log.Error("cannot listen", slog.String("addr", cfg.listen), slog.Any("err", err))
		return 1
	}
	var private []net.Listener
	if cfg.opsListen != "" {
		pln, err := net.Listen("tcp", cfg.opsListen)
		if err != nil {
			log.Error("cannot listen", slog.String("addr", cfg.opsListen), slog.Any("err", err))
			return 1
		}
		private = append(private, pln)
	}
	srv := serveOps(ln, b, cfg.webhookPath(), log, private...)
	defer shutdown(srv)
	if err := b.Run(ctx); err != nil {
		log.Error("stopped", slog.Any("err", err))
		return 1
	}
	return 0
}

// apps are the applications -app picks from: each builds the edge running it on the store
// -store names, with admins (the sandbox adds its user) allowed what operators are.
var apps = map[string]func(cfg config, bc bot.Config, admins []int64) (*bot.Bot, func(), error){
	"notebook": func(cfg config, bc bot.Config, admins []int64) (*bot.Bot, func(), error) {
		return withStore(cfg, bc, notebook.New(notebook.Options{Admins: admins, Chaos: cfg.chaos}))
	},
	"echo": func(cfg config, bc bot.Config, _ []int64) (*bot.Bot, func(), error) {
		return withStore(cfg, bc, echo.New(echo.Options{Chaos: cfg.chaos}))
	},
	"counter": func(cfg config, bc bot.Config, _ []int64) (*bot.Bot, func(), error) {
		return withStore(cfg, bc, counter.New())
	},
	"form": func(cfg config, bc bot.Config, _ []int64) (*bot.Bot, func(), error) {
		return withStore(cfg, bc, form.New())
	},
}

// newBot builds the edge running the application -app names (parseConfig checked it), and
// the function that closes its store once the bot stopped.
func newBot(cfg config, bc bot.Config, admins []int64) (*bot.Bot, func(), error) {
	return apps[cfg.app](cfg, bc, admins)
}

// withStore builds the edge running app on -store: the memory store, or Redis opened with
// the App's codec. A server away at start does not stop the bot: it starts not ready, and
// takes updates once the server answers.
func withStore[S any](cfg config, bc bot.Config, app bot.App[S]) (*bot.Bot, func(), error) {
	if cfg.store == "memory" {
		b, err := bot.New(bc, app)
		return b, func() {}, err
	}
	if app.Codec == nil {
		return nil, nil, fmt.Errorf("-store: the %s app has no codec for its state, so it runs on the memory store only", app.Name)
	}
	rs, err := redisstore.New(redisstore.Config[S]{URL: cfg.store, Codec: app.Codec})
	if err != nil {
		return nil, nil, fmt.Errorf("-store: %w", err)
	}
	if bc.Logger != nil {
		redisstore.LogTo(bc.Logger) // go-redis's dial failures as structured, rate-limited lines
	}
	// The journal shares the store's connections; in webhook mode the webhook answers
	// Telegram once an update is in it. In polling mode the processes on one store poll one
	// at a time, under the polling lease: a redeploy's overlap, or a cluster's members.
	if !cfg.noJournal {
		j := rs.Journal(redisstore.JournalConfig{})
		bc.Journal = actorstore.NewJournal(j)
		if !bc.Webhook {
			bc.Lease = actorstore.NewLease(j, j.Lease(0), cfg.leaseHolder)
		}
	}
	b, err := bot.NewDurable(bc, app, actorstore.New(rs))
	if err != nil {
		_ = rs.Close()
		return nil, nil, err
	}
	return b, func() { _ = rs.Close() }, nil
}

// botConfig carries the command's configuration into the bot's.
func botConfig(cfg config, token, apiURL string, log *slog.Logger) bot.Config {
	return bot.Config{
		Token:           token,
		APIURL:          apiURL,
		Webhook:         cfg.mode == "webhook",
		WebhookURL:      cfg.webhookURL,
		WebhookSecret:   cfg.webhookSecret,
		Restart:         cfg.restart,
		IdleTimeout:     cfg.idleTimeout,
		MaxResident:     cfg.maxResident,
		MaxContextBytes: cfg.maxContextBytes,
		ContextExpiry:   cfg.contextExpiry,
		Limits: outbound.Limits{
			Global: cfg.rateGlobal, GlobalBurst: max(int(cfg.rateGlobal), 1),
			Chat: cfg.rateChat, ChatBurst: 3,
			Group: cfg.rateGroup / 60, GroupBurst: 3,
		},
		Flood:        actors.FloodLimit{Rate: cfg.floodRate, Burst: cfg.floodBurst},
		ChartWorkers: cfg.chartWorkers,
		ChartQueue:   cfg.chartQueue,
		Version:      version,
		Logger:       log,
	}
}

// serveOps serves the bot's HTTP endpoints on hardened servers (ops.Server: deadlines,
// small headers, a connection cap that still answers health checks) until shutdown. On
// public: /healthz, /readyz, the webhook at webhookPath in webhook mode, and /metrics unless
// a private listener is given. On private (at most one; -ops-listen): /healthz, /readyz and
// /metrics, which then counts both servers' connections (label "listener").
func serveOps(public net.Listener, b *bot.Bot, webhookPath string, log *slog.Logger, private ...net.Listener) []*ops.Server {
	reg := b.Registry()
	pubReg := reg
	if len(private) > 0 {
		pubReg = nil
	}
	mux := ops.Handler(b, pubReg)
	if h := b.WebhookHandler(); h != nil {
		mux.Handle(webhookPath, h)
	}
	srvs := []*ops.Server{serve(public, mux, "public", reg, log)}
	for _, ln := range private {
		srvs = append(srvs, serve(ln, ops.Handler(b, reg), "ops", reg, log))
	}
	return srvs
}

// serve runs an ops.Server for h on ln, its connection counts in reg under listener=name.
func serve(ln net.Listener, h http.Handler, name string, reg *prometheus.Registry, log *slog.Logger) *ops.Server {
	srv := ops.NewServer(h, ops.ServerConfig{Logger: log.With(slog.String("listener", name))})
	prometheus.WrapRegistererWith(prometheus.Labels{"listener": name}, reg).MustRegister(srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", slog.String("addr", ln.Addr().String()), slog.Any("err", err))
		}
	}()
	return srv
}

// shutdownTimeout bounds the HTTP servers' stop, after the bot has drained.
const shutdownTimeout = 2 * time.Second

func shutdown(srvs []*ops.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, srv := range srvs {
		srv.Shutdown(ctx)
	}
}

// isTerminal reports whether r is an interactive terminal, not a pipe, a file or
// /dev/null.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// isNullDevice reports whether r is a character device that is not a terminal: /dev/null,
// what a container or a service manager gives a process with no one at its input.
func isNullDevice(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && !term.IsTerminal(int(f.Fd()))
}
