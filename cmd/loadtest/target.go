package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/troupebot/troupe/bot"
	echoapp "github.com/troupebot/troupe/examples/echo"
	"github.com/troupebot/troupe/redisstore"
	"github.com/troupebot/troupe/redisstore/actorstore"
)

// botEnv is what a bot under test is given.
type botEnv struct {
	apiURL, token string
	chaos         bool
	store         string    // a redis:// URL, or "" for the memory store
	log           io.Writer // the bot's logs or output; nil discards them
	// Webhook mode: where the bot listens, and the webhook it registers.
	listen, webhookURL, webhookSecret string
	// extra is more of a spawned bot's environment (a cluster member's settings).
	extra []string
}

// target is a bot to load-test.
type target interface {
	name() string
	start(env botEnv) (running, error)
}

// running is a started bot.
type running interface {
	inProcess() bool
	usage() (usage, error)
	exited() <-chan struct{} // closed when the bot has stopped
	// stop asks the bot to stop and waits up to grace; a spawned bot is then killed.
	stop(grace time.Duration) error
}

// inProcess is a bot run by a function in this process.
type inProcess struct {
	label string
	run   func(ctx context.Context, env botEnv) error
}

func (p inProcess) name() string { return p.label }

func (p inProcess) start(env botEnv) (running, error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &inProcessRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = p.run(ctx, env)
		close(r.done)
	}()
	return r, nil
}

type inProcessRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (r *inProcessRun) inProcess() bool         { return true }
func (r *inProcessRun) usage() (usage, error)   { return selfUsage() }
func (r *inProcessRun) exited() <-chan struct{} { return r.done }
func (r *inProcessRun) stop(grace time.Duration) error {
	r.cancel()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-r.done:
		return r.err
	case <-t.C:
		return fmt.Errorf("the in-process bot did not stop within %v", grace)
	}
}

// troupe is the project's edge running the echo App (the contract the audit checks),
// in-process.
var troupe = inProcess{label: "troupe -app echo (in-process)", run: func(ctx context.Context, env botEnv) error {
	log := slog.New(slog.DiscardHandler)
	if env.log != nil {
		log = slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	b, closeStore, err := newTroupe(bot.Config{
		Token: env.token, APIURL: env.apiURL, Logger: log, Version: "loadtest",
		DrainTimeout: 10 * time.Second,
		Webhook:      env.webhookURL != "", WebhookURL: env.webhookURL, WebhookSecret: env.webhookSecret,
	}, echoapp.New(echoapp.Options{Chaos: env.chaos}), env.store)
	if err != nil {
		return err
	}
	defer closeStore()
	if h := b.WebhookHandler(); h != nil {
		ln, err := net.Listen("tcp", env.listen)
		if err != nil {
			return fmt.Errorf("listen for the webhook on %s: %w", env.listen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/webhook", h)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	return b.Run(ctx)
}}

// newTroupe builds the edge on the memory store, or on Redis at storeURL with its intake
// journal, as cmd/bot does for -store.
func newTroupe[S any](bc bot.Config, app bot.App[S], storeURL string) (*bot.Bot, func(), error) {
	if storeURL == "" {
		b, err := bot.New(bc, app)
		return b, func() {}, err
	}
	rs, err := redisstore.New(redisstore.Config[S]{URL: storeURL, Codec: app.Codec})
	if err != nil {
		return nil, nil, fmt.Errorf("-store %s: %w", redactURL(storeURL), err)
	}
	redisstore.LogTo(bc.Logger) // go-redis's own lines, with the bot's
	bc.Journal = actorstore.NewJournal(rs.Journal(redisstore.JournalConfig{}))
	b, err := bot.NewDurable(bc, app, actorstore.New(rs))
	if err != nil {
		rs.Close()
		return nil, nil, err
	}
	return b, func() { rs.Close() }, nil
}

// command is a bot spawned as `sh -c 'exec LINE'`, in a process group of its own so that
// its usage and its stop cover whatever it starts.
type command struct{ line string }

func (c command) name() string { return c.line }

func (c command) start(env botEnv) (running, error) {
	cmd := exec.Command("sh", "-c", "exec "+c.line)
	// BOT_APP=echo makes the project's binary serve the echo contract (other bots ignore
	// it); one set in the harness's own environment, or -app in CMD, wins.
	cmd.Env = append([]string{"BOT_APP=echo"}, os.Environ()...)
	cmd.Env = append(cmd.Env, "TELEGRAM_API_URL="+env.apiURL, "TELEGRAM_BOT_TOKEN="+env.token)
	// BOT_STORE is always set, so that a REDIS_URL in the harness's environment cannot
	// turn -store memory into Redis.
	cmd.Env = append(cmd.Env, "BOT_STORE="+cmp.Or(env.store, "memory"))
	if env.chaos {
		cmd.Env = append(cmd.Env, "BOT_CHAOS=true")
	}
	if env.webhookURL != "" {
		_, port, _ := net.SplitHostPort(env.listen)
		cmd.Env = append(cmd.Env, "BOT_MODE=webhook", "WEBHOOK_URL="+env.webhookURL, "WEBHOOK_SECRET="+env.webhookSecret, "PORT="+port)
	}
	cmd.Env = append(cmd.Env, env.extra...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r := &commandRun{line: c.line, done: make(chan struct{})}
	out := io.Writer(&r.tail)
	if env.log != nil {
		out = io.MultiWriter(env.log, &r.tail)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start bot %q: %w", c.line, err)
	}
	r.pid = cmd.Process.Pid
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	return r, nil
}

type commandRun struct {
	line string
	pid  int
	done chan struct{}
	err  error
	tail tail
}

func (r *commandRun) inProcess() bool         { return false }
func (r *commandRun) usage() (usage, error)   { return groupUsage(r.pid) }
func (r *commandRun) exited() <-chan struct{} { return r.done }

func (r *commandRun) stop(grace time.Duration) error {
	select {
	case <-r.done:
		return r.exitError()
	default:
	}
	syscall.Kill(-r.pid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-r.done:
		// A bot stopped by SIGTERM may exit non-zero; that is no failure of the run.
		syscall.Kill(-r.pid, syscall.SIGKILL) // children it left behind
		return nil
	case <-t.C:
		syscall.Kill(-r.pid, syscall.SIGKILL)
		<-r.done
		return fmt.Errorf("bot %q did not stop within %v of SIGTERM; killed", r.line, grace)
	}
}

// exitError describes how the bot ended, with the end of its output.
func (r *commandRun) exitError() error {
	return fmt.Errorf("bot %q exited (%v); its last output:\n%s", r.line, r.err, r.tail.String())
}

// tail keeps the end of a bot's output, for the error when it exits early.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4096

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// errNoBot ends a run whose bot stopped by itself.
var errNoBot = errors.New("loadtest: the bot under test stopped")

// exitReason explains a bot that stopped during the run.
func exitReason(r running) error {
	if c, ok := r.(*commandRun); ok {
		return c.exitError()
	}
	if p, ok := r.(*inProcessRun); ok && p.err != nil {
		return fmt.Errorf("the in-process bot stopped: %w", p.err)
	}
	return errors.New("the in-process bot stopped")
}
