package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
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
	app           string
	store         string
	// noJournal runs a durable store without the intake journal (not a flag): the
	// sandbox's, whose transcript waits for each line's confirmation, which the journal
	// would give before the replies.
	noJournal bool
	// leaseHolder is the name this process holds the polling lease under (durable store,
	// polling mode), shown by /status; parseConfig makes it hostname:pid. Not a flag.
	leaseHolder string
	version     bool
	// web serves the sandbox's chat page instead of chatting on the terminal.
	web bool

	idleTimeout     time.Duration
	maxResident     int
	restart         actors.RestartPolicy
	maxContextBytes int
	contextExpiry   time.Duration

	rateGlobal, rateChat, rateGroup float64
	floodRate                       float64
	floodBurst                      int
	chartWorkers, chartQueue        int

	cluster, clusterProvider, clusterAddr, clusterPeers string
	clusterManagePort                                   int
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
	{"app", "BOT_APP", "the application to run: notebook; echo (the load-test contract); counter or form (examples)"},
	{"store", "BOT_STORE", "where users' contexts are kept: memory, or a redis:// or rediss:// URL (Redis 7+, Valkey 8); REDIS_URL is read when BOT_STORE is not set"},
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
	{"cluster", "BOT_CLUSTER", "cluster name: this process is one member of a cluster of bot processes on one -store; empty runs one process"},
	{"cluster-provider", "BOT_CLUSTER_PROVIDER", "how members find each other: automanaged (a static list), k8s (the Kubernetes API) or dns (a name resolving to every member; the default on Render)"},
	{"cluster-addr", "BOT_CLUSTER_ADDR", "this member's remote (gRPC) host:port, which the other members connect to; with dns the host may be left out"},
	{"cluster-manage-port", "BOT_CLUSTER_MANAGE_PORT", "automanaged and dns: the port of this member's health endpoint, which the others probe"},
	{"cluster-peers", "BOT_CLUSTER_PEERS", "automanaged: every member's host:manage-port, comma-separated; dns: the name to resolve (default RENDER_DISCOVERY_SERVICE)"},
}

func lookup(flagName string) setting {
	for _, s := range settings {
		if s.flag == flagName {
			return s
		}
	}
	panic("cmd/bot: no setting for flag -" + flagName)
}

// flagSet is the bot's flag set before it parses anything: every setting registered, its
// default taken from the environment, its value bound to cfg. Tests read it with VisitAll.
type flagSet struct {
	*flag.FlagSet
	cfg     config
	admins  string // -admins as written; parseConfig reads the ids from it
	getenv  func(string) string
	envErrs []error // environment values that did not parse, each naming variable and value
}

// bind registers the flag name, whose default is def unless its environment variable is set
// and parse accepts the value. register is the FlagSet method for T (StringVar, IntVar, …).
func bind[T any](fs *flagSet, p *T, name string, def T, register func(*T, string, T, string), parse func(string) (T, error)) {
	s := lookup(name)
	if v := strings.TrimSpace(fs.getenv(s.env)); v != "" {
		if x, err := parse(v); err != nil {
			fs.envErrs = append(fs.envErrs, fmt.Errorf("%s=%q: %w", s.env, v, err))
		} else {
			def = x
		}
	}
	register(p, name, def, s.usage+" (env "+s.env+")")
}

// The parsers of environment values; each error says what the value should have been.
var (
	asText     = func(v string) (string, error) { return v, nil }
	asBool     = expect("true or false", strconv.ParseBool)
	asDuration = expect("a duration like 90s or 10m", nonNegative(time.ParseDuration))
	asCount    = expect("a whole number", nonNegative(strconv.Atoi))
	asNumber   = expect("a number", nonNegative(func(v string) (float64, error) { return strconv.ParseFloat(v, 64) }))
	// PORT is a bare port number, as Render and Heroku set it; -listen is an address.
	asPort = expect("a port number", func(v string) (string, error) {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 65535 {
			return "", errors.New("out of range")
		}
		return ":" + v, nil
	})
)

// expect replaces parse's errors with one saying what was wanted: the variable's reader
// needs "not a whole number", not strconv's wording.
func expect[T any](want string, parse func(string) (T, error)) func(string) (T, error) {
	return func(v string) (T, error) {
		x, err := parse(v)
		if err != nil {
			var zero T
			return zero, errors.New("not " + want)
		}
		return x, nil
	}
}

// nonNegative refuses the negative values parse accepts: no setting has a use for them.
func nonNegative[T int | float64 | time.Duration](parse func(string) (T, error)) func(string) (T, error) {
	return func(v string) (T, error) {
		x, err := parse(v)
		if err == nil && x < 0 {
			err = errors.New("negative")
		}
		return x, err
	}
}

// newFlagSet builds the bot's flag set, with defaults from getenv, without parsing.
func newFlagSet(getenv func(string) string, out io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet("bot", flag.ContinueOnError), getenv: getenv}
	fs.SetOutput(out)
	c := &fs.cfg
	bind(fs, &c.token, "token", "", fs.StringVar, asText)
	bind(fs, &c.apiURL, "api-url", "https://api.telegram.org", fs.StringVar, asText)
	bind(fs, &c.mode, "mode", "polling", fs.StringVar, asText)
	bind(fs, &c.listen, "listen", ":8080", fs.StringVar, asPort)
	bind(fs, &c.opsListen, "ops-listen", "", fs.StringVar, asText)

	// Render gives a web service its public URL; the webhook is served at /webhook there.
	webhookDefault := ""
	if ext := strings.TrimSpace(getenv("RENDER_EXTERNAL_URL")); ext != "" {
		webhookDefault = strings.TrimSuffix(ext, "/") + "/webhook"
	}
	bind(fs, &c.webhookURL, "webhook-url", webhookDefault, fs.StringVar, asText)
	bind(fs, &c.webhookSecret, "webhook-secret", "", fs.StringVar, asText)
	bind(fs, &fs.admins, "admins", "", fs.StringVar, asText)
	bind(fs, &c.chaos, "chaos", false, fs.BoolVar, asBool)
	bind(fs, &c.app, "app", "notebook", fs.StringVar, asText)
	// Render and Heroku name a Key Value (Redis) URL REDIS_URL; BOT_STORE says it first.
	storeDefault := "memory"
	if u := strings.TrimSpace(getenv("REDIS_URL")); u != "" {
		storeDefault = u
	}
	bind(fs, &c.store, "store", storeDefault, fs.StringVar, asText)
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	fs.BoolVar(&c.web, "web", false, "sandbox only: serve the chat page at / on -listen (loopback unless -listen names a host) instead of chatting on the terminal")

	d := actors.DefaultRestartPolicy
	bind(fs, &c.idleTimeout, "idle-timeout", 10*time.Minute, fs.DurationVar, asDuration)
	bind(fs, &c.maxResident, "max-resident", defaultMaxResident(), fs.IntVar, asCount)
	bind(fs, &c.restart.MaxRestarts, "max-restarts", d.MaxRestarts, fs.IntVar, asCount)
	bind(fs, &c.restart.Window, "restart-window", d.Window, fs.DurationVar, asDuration)
	bind(fs, &c.restart.MinBackoff, "restart-backoff", d.MinBackoff, fs.DurationVar, asDuration)
	bind(fs, &c.restart.MaxBackoff, "restart-backoff-max", d.MaxBackoff, fs.DurationVar, asDuration)
	bind(fs, &c.restart.Jitter, "restart-jitter", d.Jitter, fs.Float64Var, asNumber)
	bind(fs, &c.restart.CoolDown, "cooldown", d.CoolDown, fs.DurationVar, asDuration)
	bind(fs, &c.maxContextBytes, "max-context-bytes", 4<<20, fs.IntVar, asCount)
	bind(fs, &c.contextExpiry, "context-expiry", 0, fs.DurationVar, asDuration)
	bind(fs, &c.rateGlobal, "rate-global", 30, fs.Float64Var, asNumber)
	bind(fs, &c.rateChat, "rate-chat", 1, fs.Float64Var, asNumber)
	bind(fs, &c.rateGroup, "rate-group", 20, fs.Float64Var, asNumber)
	bind(fs, &c.floodRate, "flood-rate", 2, fs.Float64Var, asNumber)
	bind(fs, &c.floodBurst, "flood-burst", 30, fs.IntVar, asCount)
	bind(fs, &c.chartWorkers, "chart-workers", 0, fs.IntVar, asCount)
	bind(fs, &c.chartQueue, "chart-queue", 0, fs.IntVar, asCount)
	// Render names all instances of a scaled service RENDER_DISCOVERY_SERVICE.
	providerDefault, peersDefault := "automanaged", ""
	if d := strings.TrimSpace(getenv("RENDER_DISCOVERY_SERVICE")); d != "" {
		providerDefault, peersDefault = "dns", d
	}
	bind(fs, &c.cluster, "cluster", "", fs.StringVar, asText)
	bind(fs, &c.clusterProvider, "cluster-provider", providerDefault, fs.StringVar, asText)
	// A Kubernetes pod learns its address from the downward API (deploy/k8s sets POD_IP).
	addrDefault := ":7000"
	if ip := strings.TrimSpace(getenv("POD_IP")); ip != "" {
		addrDefault = net.JoinHostPort(ip, "7000")
	}
	bind(fs, &c.clusterAddr, "cluster-addr", addrDefault, fs.StringVar, asText)
	bind(fs, &c.clusterManagePort, "cluster-manage-port", 6330, fs.IntVar, asCount)
	bind(fs, &c.clusterPeers, "cluster-peers", peersDefault, fs.StringVar, asText)
	return fs
}

// parseConfig reads args and the environment. Bad values, from either, are errors that
// name the flag or variable and the value.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	fs := newFlagSet(getenv, out)
	if err := fs.Parse(args); err != nil {
		return fs.cfg, err
	}
	c := fs.cfg
	errs := fs.envErrs
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	var err error
	if c.admins, err = parseIDs(fs.admins); err != nil {
		errs = append(errs, fmt.Errorf("-admins (env %s): %w", lookup("admins").env, err))
	}
	if c.restart.Jitter > 1 {
		errs = append(errs, fmt.Errorf("-restart-jitter %v: must be between 0 and 1", c.restart.Jitter))
	}
	if c.restart.MaxRestarts < 1 {
		errs = append(errs, fmt.Errorf("-max-restarts %d: must be at least 1", c.restart.MaxRestarts))
	}
	if _, ok := apps[c.app]; !ok {
		errs = append(errs, fmt.Errorf("-app (env %s) %q: must be notebook, echo, counter or form", lookup("app").env, c.app))
	}
	if c.store != "memory" {
		// The URL may hold a password: the error names its scheme only.
		if u, err := url.Parse(c.store); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			errs = append(errs, fmt.Errorf("-store (env %s, or REDIS_URL): must be memory or a redis:// or rediss:// URL with a host", lookup("store").env))
		}
	}
	if c.web && c.token != "" {
		errs = append(errs, errors.New("-web serves the sandbox's chat page, which runs without a token; unset -token (TELEGRAM_BOT_TOKEN) to use it"))
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
	if c.cluster != "" {
		errs = append(errs, c.clusterErrs()...)
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
	c.leaseHolder = defaultLeaseHolder()
	return c, errors.Join(errs...)
}

// clusterErrs checks the cluster settings, which only a cluster member reads.
func (c config) clusterErrs() []error {
	var errs []error
	if c.store == "memory" {
		errs = append(errs, fmt.Errorf("-cluster %q: a cluster needs a durable store its members share (-store redis://…): the memory store is one process's", c.cluster))
	}
	switch c.clusterProvider {
	case "automanaged", "dns":
		if strings.TrimSpace(c.clusterPeers) == "" {
			errs = append(errs, fmt.Errorf("-cluster-peers (env %s): the %s provider needs its peers", lookup("cluster-peers").env, c.clusterProvider))
		}
	case "k8s":
	default:
		errs = append(errs, fmt.Errorf("-cluster-provider (env %s) %q: must be automanaged, k8s or dns", lookup("cluster-provider").env, c.clusterProvider))
	}
	if c.clusterManagePort < 1 || c.clusterManagePort > 65535 {
		errs = append(errs, fmt.Errorf("-cluster-manage-port (env %s) %d: not a port number", lookup("cluster-manage-port").env, c.clusterManagePort))
	}
	return errs
}

// defaultLeaseHolder names this process hostname:pid: unique among the processes sharing a
// store, be they on one machine or in containers (whose pid may be 1 in all of them, but
// whose hostnames differ).
func defaultLeaseHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
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
