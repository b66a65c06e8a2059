package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/troupebot/troupe/actors"
)

// config is the bot's configuration: each setting is a flag whose default comes from an
// environment variable, so containers configure by environment and people by flags.
type config struct {
	token         string
	apiURL        string
	mode          string
	listen        string
	opsListen     string
	webhookURL    string
	webhookSecret string
	admins        []int64
	chaos         bool
	version       bool

	idleTimeout     time.Duration
	maxResident     int
	restart         actors.RestartPolicy
	maxContextBytes int
	contextExpiry   time.Duration

	rateGlobal, rateChat, rateGroup float64
	floodRate                       float64
	floodBurst                      int
	chartWorkers, chartQueue        int
}

// setting documents one flag and the environment variable that sets its default. The
// table is what `bot -h` prints and what docs/configuration.md is checked against.
type setting struct {
	flag, env, usage string
}

var settings = []setting{
	{"token", "TELEGRAM_BOT_TOKEN", "bot token; when empty the bot starts in sandbox mode"},
	{"api-url", "TELEGRAM_API_URL", "Bot API base URL"},
	{"mode", "BOT_MODE", "how updates arrive: polling or webhook"},
	{"listen", "PORT", "HTTP address for the webhook, /healthz, /readyz and /metrics; PORT=N means :N"},
	{"ops-listen", "BOT_OPS_LISTEN", "private HTTP address for /metrics and /healthz, /readyz; when set, /metrics is no longer served on -listen (keep this address off the public network)"},
	{"webhook-url", "WEBHOOK_URL", "public URL registered with setWebhook in webhook mode; its path is where the webhook is served (default /webhook); on Render it defaults to RENDER_EXTERNAL_URL/webhook"},
	{"webhook-secret", "WEBHOOK_SECRET", "secret Telegram sends in X-Telegram-Bot-Api-Secret-Token; 1-256 of A-Z a-z 0-9 _ -, or any text when the bot registers the webhook (-webhook-url), which then uses its SHA-256 in hex"},
	{"admins", "BOT_ADMINS", "comma-separated user ids allowed to use /status"},
	{"chaos", "BOT_CHAOS", "test only: the text message \"panic\" makes the user actor panic"},
	{"idle-timeout", "BOT_IDLE_TIMEOUT", "a user actor idle this long is passivated (its context stays in the store)"},
	{"max-resident", "BOT_MAX_RESIDENT", "cap on user actors in memory, least recently used passivated first; default sized to memory"},
	{"max-restarts", "BOT_MAX_RESTARTS", "crashes of one user's actor within -restart-window before it is paused for -cooldown"},
	{"restart-window", "BOT_RESTART_WINDOW", "the window -max-restarts counts crashes in"},
	{"restart-backoff", "BOT_RESTART_BACKOFF", "delay before restarting after a repeated crash; doubles with each one"},
	{"restart-backoff-max", "BOT_RESTART_BACKOFF_MAX", "cap on the restart delay"},
	{"restart-jitter", "BOT_RESTART_JITTER", "restart delays vary by up to this fraction, 0 to 1"},
	{"cooldown", "BOT_COOLDOWN", "how long a crash-looping user's messages are paused"},
	{"max-context-bytes", "BOT_MAX_CONTEXT_BYTES", "largest context one user may keep; 0 means no limit"},
	{"context-expiry", "BOT_CONTEXT_EXPIRY", "forget a user's context untouched this long; 0 keeps it"},
	{"rate-global", "BOT_RATE_GLOBAL", "outbound messages per second overall; 0 means no limit"},
	{"rate-chat", "BOT_RATE_CHAT", "outbound messages per second per private chat (a burst of 3 allowed); 0 means no limit"},
	{"rate-group", "BOT_RATE_GROUP", "outbound messages per minute per group chat; 0 means no limit"},
	{"flood-rate", "BOT_FLOOD_RATE", "messages per second one user may send once past -flood-burst; faster ones are skipped (told once); 0 means no limit"},
	{"flood-burst", "BOT_FLOOD_BURST", "messages one user may send at once before -flood-rate applies"},
	{"chart-workers", "BOT_CHART_WORKERS", "chart renderers; 0 means one per CPU"},
	{"chart-queue", "BOT_CHART_QUEUE", "charts waiting or drawing before users are told to try again; 0 means 8 per renderer"},
}

func lookup(flagName string) setting {
	for _, s := range settings {
		if s.flag == flagName {
			return s
		}
	}
	panic("cmd/bot: no setting for flag -" + flagName)
}

// binder registers flags whose defaults come from the environment, collecting the errors
// of environment values that do not parse.
type binder struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

func (b *binder) env(name string) (setting, string) {
	s := lookup(name)
	return s, strings.TrimSpace(b.getenv(s.env))
}

func (b *binder) usage(s setting) string { return s.usage + " (env " + s.env + ")" }

func (b *binder) string(p *string, name, def string) {
	s, v := b.env(name)
	if v == "" {
		v = def
	}
	b.fs.StringVar(p, name, v, b.usage(s))
}

func (b *binder) bool(p *bool, name string) {
	s, v := b.env(name)
	def := false
	if v != "" {
		var err error
		if def, err = strconv.ParseBool(v); err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s=%q: not true or false", s.env, v))
		}
	}
	b.fs.BoolVar(p, name, def, b.usage(s))
}

func (b *binder) duration(p *time.Duration, name string, def time.Duration) {
	s, v := b.env(name)
	if v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			b.errs = append(b.errs, fmt.Errorf("%s=%q: not a duration like 90s or 10m", s.env, v))
		} else {
			def = d
		}
	}
	b.fs.DurationVar(p, name, def, b.usage(s))
}

func (b *binder) int(p *int, name string, def int) {
	s, v := b.env(name)
	if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			b.errs = append(b.errs, fmt.Errorf("%s=%q: not a whole number", s.env, v))
		} else {
			def = n
		}
	}
	b.fs.IntVar(p, name, def, b.usage(s))
}

func (b *binder) float(p *float64, name string, def float64) {
	s, v := b.env(name)
	if v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			b.errs = append(b.errs, fmt.Errorf("%s=%q: not a number", s.env, v))
		} else {
			def = f
		}
	}
	b.fs.Float64Var(p, name, def, b.usage(s))
}

// parseConfig reads args and the environment. Bad values, from either, are errors that
// name the flag or variable and the value.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bot", flag.ContinueOnError)
	fs.SetOutput(out)
	b := &binder{fs: fs, getenv: getenv}
	b.string(&c.token, "token", "")
	b.string(&c.apiURL, "api-url", "https://api.telegram.org")
	b.string(&c.mode, "mode", "polling")

	// PORT is a bare port number, as Render and Heroku set it; -listen is an address.
	s, port := b.env("listen")
	listen := ":8080"
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			b.errs = append(b.errs, fmt.Errorf("%s=%q: not a port number", s.env, port))
		} else {
			listen = ":" + port
		}
	}
	fs.StringVar(&c.listen, "listen", listen, b.usage(s))
	b.string(&c.opsListen, "ops-listen", "")

	// Render gives a web service its public URL; the webhook is served at /webhook there.
	webhookDefault := ""
	if ext := strings.TrimSpace(getenv("RENDER_EXTERNAL_URL")); ext != "" {
		webhookDefault = strings.TrimSuffix(ext, "/") + "/webhook"
	}
	b.string(&c.webhookURL, "webhook-url", webhookDefault)
	b.string(&c.webhookSecret, "webhook-secret", "")

	var admins string
	b.string(&admins, "admins", "")
	b.bool(&c.chaos, "chaos")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")

	d := actors.DefaultRestartPolicy
	b.duration(&c.idleTimeout, "idle-timeout", 10*time.Minute)
	b.int(&c.maxResident, "max-resident", defaultMaxResident())
	b.int(&c.restart.MaxRestarts, "max-restarts", d.MaxRestarts)
	b.duration(&c.restart.Window, "restart-window", d.Window)
	b.duration(&c.restart.MinBackoff, "restart-backoff", d.MinBackoff)
	b.duration(&c.restart.MaxBackoff, "restart-backoff-max", d.MaxBackoff)
	b.float(&c.restart.Jitter, "restart-jitter", d.Jitter)
	b.duration(&c.restart.CoolDown, "cooldown", d.CoolDown)
	b.int(&c.maxContextBytes, "max-context-bytes", 4<<20)
	b.duration(&c.contextExpiry, "context-expiry", 0)
	b.float(&c.rateGlobal, "rate-global", 30)
	b.float(&c.rateChat, "rate-chat", 1)
	b.float(&c.rateGroup, "rate-group", 20)
	b.float(&c.floodRate, "flood-rate", 2)
	b.int(&c.floodBurst, "flood-burst", 30)
	b.int(&c.chartWorkers, "chart-workers", 0)
	b.int(&c.chartQueue, "chart-queue", 0)

	if err := fs.Parse(args); err != nil {
		return c, err
	}
	errs := b.errs
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	var err error
	if c.admins, err = parseIDs(admins); err != nil {
		errs = append(errs, fmt.Errorf("-admins (env %s): %w", lookup("admins").env, err))
	}
	if c.restart.Jitter > 1 {
		errs = append(errs, fmt.Errorf("-restart-jitter %v: must be between 0 and 1", c.restart.Jitter))
	}
	if c.restart.MaxRestarts < 1 {
		errs = append(errs, fmt.Errorf("-max-restarts %d: must be at least 1", c.restart.MaxRestarts))
	}
	switch c.mode {
	case "polling", "webhook":
	default:
		errs = append(errs, fmt.Errorf("-mode (env %s) %q: must be polling or webhook", lookup("mode").env, c.mode))
	}
	if c.webhookURL != "" {
		if u, err := url.Parse(c.webhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("-webhook-url (env %s): %q is not an http(s) URL", lookup("webhook-url").env, c.webhookURL))
		}
	}
	if !validSecret(c.webhookSecret) {
		if c.webhookURL != "" {
			// The bot registers the webhook itself, so it may turn any secret into one
			// Telegram accepts (Render's generateValue makes base64, with + / =).
			sum := sha256.Sum256([]byte(c.webhookSecret))
			c.webhookSecret = hex.EncodeToString(sum[:])
		} else {
			errs = append(errs, fmt.Errorf("-webhook-secret (env %s): 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule), unless -webhook-url is set and the bot registers the webhook itself", lookup("webhook-secret").env))
		}
	}
	return c, errors.Join(errs...)
}

// validSecret applies Telegram's rule for secret tokens; empty means none.
func validSecret(s string) bool {
	if len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// webhookPath is where the webhook is served: the path of -webhook-url, or /webhook.
func (c config) webhookPath() string {
	if u, err := url.Parse(c.webhookURL); err == nil && u.Path != "" && u.Path != "/" {
		return u.Path
	}
	return "/webhook"
}

// parseIDs reads "123, 456" as user ids.
func parseIDs(s string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a user id", f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
