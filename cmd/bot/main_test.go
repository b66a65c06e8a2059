package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/internal/repotest"
)

func TestParseConfig(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	defaults := func(change func(*config)) config {
		c := config{
			apiURL: "https://api.telegram.org", mode: "polling", listen: ":8080", app: "notebook", store: "memory",
			leaseHolder: host + ":" + strconv.Itoa(os.Getpid()), // distinct for every process on a store
			idleTimeout: 10 * time.Minute, maxResident: defaultMaxResident(),
			restart: actors.DefaultRestartPolicy, maxContextBytes: 4 << 20,
			rateGlobal: 30, rateChat: 1, rateGroup: 20, floodRate: 2, floodBurst: 30,
			clusterProvider: "automanaged", clusterAddr: ":7000", clusterManagePort: 6330,
		}
		if change != nil {
			change(&c)
		}
		return c
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want config
		err  string
	}{
		{name: "defaults", want: defaults(nil)},
		{
			name: "environment",
			env: map[string]string{
				"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_API_URL": "http://127.0.0.1:9", "PORT": "10000", "BOT_ADMINS": "1, 2", "BOT_CHAOS": "true",
				"BOT_IDLE_TIMEOUT": "30s", "BOT_MAX_RESIDENT": "5000", "BOT_MAX_RESTARTS": "7", "BOT_RESTART_WINDOW": "2m",
				"BOT_RESTART_BACKOFF": "10ms", "BOT_RESTART_BACKOFF_MAX": "1s", "BOT_RESTART_JITTER": "0.5", "BOT_COOLDOWN": "5m",
				"BOT_MAX_CONTEXT_BYTES": "1000", "BOT_CONTEXT_EXPIRY": "720h", "BOT_OPS_LISTEN": "127.0.0.1:9090",
			},
			want: defaults(func(c *config) {
				c.token, c.apiURL, c.listen, c.admins, c.chaos = "1:x", "http://127.0.0.1:9", ":10000", []int64{1, 2}, true
				c.opsListen = "127.0.0.1:9090"
				c.idleTimeout, c.maxResident, c.maxContextBytes, c.contextExpiry = 30*time.Second, 5000, 1000, 720*time.Hour
				c.restart = actors.RestartPolicy{MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, Jitter: 0.5, MaxRestarts: 7, Window: 2 * time.Minute, CoolDown: 5 * time.Minute}
			}),
		},
		{
			name: "flags win over environment",
			args: []string{"-token", "2:y", "-listen", "127.0.0.1:9000", "-admins", "7", "-chaos=false", "-idle-timeout", "1h", "-max-restarts", "2"},
			env:  map[string]string{"TELEGRAM_BOT_TOKEN": "1:x", "PORT": "10000", "BOT_ADMINS": "1", "BOT_CHAOS": "1", "BOT_IDLE_TIMEOUT": "1s", "BOT_MAX_RESTARTS": "9"},
			want: defaults(func(c *config) {
				c.token, c.listen, c.admins, c.idleTimeout, c.restart.MaxRestarts = "2:y", "127.0.0.1:9000", []int64{7}, time.Hour, 2
			}),
		},
		{name: "bad port", env: map[string]string{"PORT": "http"}, err: `PORT="http": not a port number`},
		{name: "bad chaos", env: map[string]string{"BOT_CHAOS": "maybe"}, err: `BOT_CHAOS="maybe": not true or false`},
		{name: "bad duration", env: map[string]string{"BOT_IDLE_TIMEOUT": "ten minutes"}, err: `BOT_IDLE_TIMEOUT="ten minutes": not a duration like 90s or 10m`},
		{name: "negative count", env: map[string]string{"BOT_MAX_RESIDENT": "-1"}, err: `BOT_MAX_RESIDENT="-1": not a whole number`},
		{name: "negative duration", env: map[string]string{"BOT_COOLDOWN": "-1m"}, err: `BOT_COOLDOWN="-1m": not a duration like 90s or 10m`},
		{name: "bad rate", env: map[string]string{"BOT_RATE_CHAT": "fast"}, err: `BOT_RATE_CHAT="fast": not a number`},
		{name: "port out of range", env: map[string]string{"PORT": "70000"}, err: `PORT="70000": not a port number`},
		{name: "jitter over 1", args: []string{"-restart-jitter", "1.5"}, err: `-restart-jitter 1.5: must be between 0 and 1`},
		{name: "no restarts", args: []string{"-max-restarts", "0"}, err: `-max-restarts 0: must be at least 1`},
		{name: "bad admin", args: []string{"-admins", "1,bob"}, err: `-admins (env BOT_ADMINS): "bob" is not a user id`},
		{name: "echo app", env: map[string]string{"BOT_APP": "echo"}, want: defaults(func(c *config) { c.app = "echo" })},
		{name: "bad app", args: []string{"-app", "pong"}, err: `-app (env BOT_APP) "pong": must be notebook, echo, counter or form`},
		{name: "form app", args: []string{"-app", "form"}, want: defaults(func(c *config) { c.app = "form" })},
		{name: "bad mode", args: []string{"-mode", "carrier-pigeon"}, err: `-mode (env BOT_MODE) "carrier-pigeon": must be polling or webhook`},
		{
			name: "webhook",
			env:  map[string]string{"BOT_MODE": "webhook", "WEBHOOK_URL": "https://bot.example.com/tg/hook", "WEBHOOK_SECRET": "s3cret_-X"},
			want: defaults(func(c *config) {
				c.mode, c.webhookURL, c.webhookSecret = "webhook", "https://bot.example.com/tg/hook", "s3cret_-X"
			}),
		},
		{
			name: "webhook URL from Render",
			env:  map[string]string{"BOT_MODE": "webhook", "RENDER_EXTERNAL_URL": "https://troupe.onrender.com/"},
			want: defaults(func(c *config) { c.mode, c.webhookURL = "webhook", "https://troupe.onrender.com/webhook" }),
		},
		{name: "bad webhook URL", args: []string{"-webhook-url", "ftp://x"}, err: `-webhook-url (env WEBHOOK_URL): "ftp://x" is not an http(s) URL`},
		{name: "bad secret, registered by hand", args: []string{"-webhook-secret", "has space"}, err: `-webhook-secret (env WEBHOOK_SECRET): 1 to 256 characters`},
		{
			name: "base64 secret the bot registers",
			env:  map[string]string{"BOT_MODE": "webhook", "WEBHOOK_URL": "https://bot.example.com/webhook", "WEBHOOK_SECRET": "a+b/c="},
			want: defaults(func(c *config) {
				c.mode, c.webhookURL = "webhook", "https://bot.example.com/webhook"
				c.webhookSecret = "1ba61f0004d46ba7d54e7954dc74e64c8610511a1d4f25ecb7a221c60c1a4576"
			}),
		},
		{name: "store from REDIS_URL", env: map[string]string{"REDIS_URL": "redis://kv:6379"}, want: defaults(func(c *config) { c.store = "redis://kv:6379" })},
		{
			name: "BOT_STORE before REDIS_URL",
			env:  map[string]string{"REDIS_URL": "redis://kv:6379", "BOT_STORE": "rediss://:pw@kv.example.com:6380/1"},
			want: defaults(func(c *config) { c.store = "rediss://:pw@kv.example.com:6380/1" }),
		},
		{name: "memory despite REDIS_URL", args: []string{"-store", "memory"}, env: map[string]string{"REDIS_URL": "redis://kv:6379"}, want: defaults(nil)},
		{name: "bad store", args: []string{"-store", "postgres://:hunter2@db"}, err: `-store (env BOT_STORE, or REDIS_URL): must be memory or a redis://`},
		{name: "stray argument", args: []string{"serve"}, err: `unexpected argument "serve"`},
		{
			name: "cluster member",
			env: map[string]string{"BOT_CLUSTER": "bots", "BOT_MODE": "webhook", "REDIS_URL": "redis://kv:6379", "BOT_CLUSTER_ADDR": "10.0.0.5:7000",
				"BOT_CLUSTER_PEERS": "10.0.0.5:6330, 10.0.0.6:6330"},
			want: defaults(func(c *config) {
				c.cluster, c.mode, c.store, c.clusterAddr, c.clusterPeers = "bots", "webhook", "redis://kv:6379", "10.0.0.5:7000", "10.0.0.5:6330, 10.0.0.6:6330"
			}),
		},
		{
			name: "cluster on Render",
			env:  map[string]string{"BOT_CLUSTER": "bots", "BOT_MODE": "webhook", "REDIS_URL": "redis://kv:6379", "RENDER_DISCOVERY_SERVICE": "troupe-discovery"},
			want: defaults(func(c *config) {
				c.cluster, c.mode, c.store, c.clusterProvider, c.clusterPeers = "bots", "webhook", "redis://kv:6379", "dns", "troupe-discovery"
			}),
		},
		{name: "cluster on the memory store", args: []string{"-cluster", "bots", "-mode", "webhook", "-cluster-peers", "a:1"}, err: "a cluster needs a durable store"},
		{name: "cluster without peers", args: []string{"-cluster", "bots", "-mode", "webhook", "-store", "redis://kv:6379"}, err: "-cluster-peers (env BOT_CLUSTER_PEERS): the automanaged provider needs its peers"},
		{name: "cluster provider unknown", args: []string{"-cluster", "bots", "-mode", "webhook", "-store", "redis://kv:6379", "-cluster-provider", "consul"}, err: `-cluster-provider (env BOT_CLUSTER_PROVIDER) "consul"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

// TestEverySettingIsAFlag keeps the settings table and the flag set in step: each setting
// is a flag whose usage, as -h prints it, names its variable.
func TestEverySettingIsAFlag(t *testing.T) {
	fs := newFlagSet(noEnv, io.Discard)
	for _, s := range settings {
		if f := fs.Lookup(s.flag); f == nil || !strings.HasSuffix(f.Usage, "(env "+s.env+")") {
			t.Errorf("no flag -%s whose usage names env %s", s.flag, s.env)
		}
	}
}

// TestSandboxTranscript pipes a conversation into the built binary, as a newcomer would,
// and checks the transcript: the notebook by default, the echo contract with -app echo.
func TestSandboxTranscript(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		script []string
		want   []string // in order
	}{
		{
			name:   "notebook",
			args:   []string{"-chaos"},
			script: []string{"/start", "5", "hello", "12.5 coffee", "/stats", "panic", "/undo", "/reset", ":tap 2", "/status", "/nope"},
			want: []string{
				"you: /start\nbot: Hi User! I'm a notebook for numbers.",
				"you: 5\nbot: Recorded 5. 1 value, mean 5.\n",
				"you: hello\nbot: “hello” is not a number.",
				"you: 12.5 coffee\nbot: Recorded 12.5 (coffee). 2 values, mean 8.75.\n",
				"you: /stats\nbot: 2 values\n     sum 17.5 · mean 8.75\n     min 5 · max 12.5 (coffee)\n     last 12.5 (coffee)\n",
				"you: panic\nbot: Sorry, something went wrong with that message; nothing was recorded. Please try again.\n",
				"you: /undo\nbot: Removed 12.5 (coffee). 1 value left.\n",
				"you: /reset\nbot: Delete your 1 value? This cannot be undone.\n     [1: Delete all] [2: Cancel]   (:tap N)\n",
				"you: :tap 2\nbot (notification): Cancelled\nbot (edited its message): Reset cancelled; your value stays.\n",
				"you: /status\nbot: Troupe dev · up ",
				"you: /nope\nbot: I don't know /nope. /help lists the commands.\n",
			},
		},
		{
			name:   "echo",
			args:   []string{"-app", "echo", "-chaos"},
			script: []string{"hello", "panic", "again", "/chart"},
			want: []string{
				"you: hello\nbot: #1 hello\n",
				"you: panic\nbot: Sorry, something went wrong",
				"you: again\nbot: #2 again\n",
				"you: /chart\nbot: [photo 800×500 PNG",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inOrder(t, transcript(t, tc.args, tc.script), tc.want)
		})
	}
}

// inOrder fails unless got holds every string of want, in that order.
func inOrder(tb testing.TB, got string, want []string) {
	tb.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			tb.Fatalf("transcript lacks (in order) %q\ntranscript:\n%s", w, got)
		}
		rest = rest[i+len(w):]
	}
}

// TestSandboxOnRedisCarriesOn: a sandbox session on a durable store carries on from the one
// before, each line answered in order, though its emulator is new (and so are its update
// ids, which the store would otherwise take for ones it committed).
func TestSandboxOnRedisCarriesOn(t *testing.T) {
	store := []string{"-store", redistest.Start(t, redistest.Options{}).URL}
	inOrder(t, transcript(t, store, []string{"5", "7 tea"}), []string{
		"you: 5\nbot: Recorded 5. 1 value, mean 5.\n",
		"you: 7 tea\nbot: Recorded 7 (tea). 2 values, mean 6.\n",
	})
	inOrder(t, transcript(t, store, []string{"9", "/stats", "/undo"}), []string{
		"you: 9\nbot: Recorded 9. 3 values, mean 7.\n",
		"you: /stats\nbot: 3 values\n     sum 21 · mean 7\n",
		"you: /undo\nbot: Removed 9. 2 values left.\n",
	})
}

// transcript pipes script into the built binary in sandbox mode and returns its transcript.
func transcript(tb testing.TB, args, script []string) string {
	tb.Helper()
	bin := repotest.Bot(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "-listen", "127.0.0.1:0")...)
	cmd.Stdin = strings.NewReader(strings.Join(script, "\n") + "\n")
	cmd.Env = []string{"HOME=/nonexistent"} // no token: sandbox mode
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("sandbox: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "troupe-bot-test")
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(repotest.Main(m, dir))
}

// TestHealthcheckSubcommand runs `bot healthcheck` against a live sandbox bot, then
// against the same address once the bot is gone.
func TestHealthcheckSubcommand(t *testing.T) {
	bin := repotest.Bot(t)
	addr := repotest.FreeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bot := exec.CommandContext(ctx, bin, "-listen", addr)
	stdin, err := bot.StdinPipe() // open: the sandbox waits for input
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := bot.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bot.Start(); err != nil {
		t.Fatal(err)
	}
	// The sandbox answers this line only once it runs, and by then it serves HTTP.
	io.WriteString(stdin, "/help\n")
	lines := bufio.NewScanner(stdout)
	for !strings.Contains(lines.Text(), "bot: I'm a notebook") {
		if !lines.Scan() {
			t.Fatalf("the sandbox ended without answering: %v", lines.Err())
		}
	}
	drained := make(chan struct{})
	go func() { io.Copy(io.Discard, stdout); close(drained) }()

	check := func() int {
		out, err := exec.CommandContext(ctx, bin, "healthcheck", "-listen", addr).CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Logf("healthcheck: %s", out)
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if code := check(); code != 0 {
		t.Errorf("healthcheck of a live bot exited %d, want 0", code)
	}
	stdin.Close()
	<-drained
	if err := bot.Wait(); err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	if code := check(); code != 1 {
		t.Errorf("healthcheck of a stopped bot exited %d, want 1", code)
	}
}

// TestNoTokenInADeployment starts the bot the way a container with no token does: stdin
// is /dev/null. It must say what is missing and fail, not start the sandbox.
func TestNoTokenInADeployment(t *testing.T) {
	bin := repotest.Bot(t)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0")
	cmd.Stdin, cmd.Env = devnull, []string{"HOME=/nonexistent"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "TELEGRAM_BOT_TOKEN (-token) is not set") {
		t.Errorf("exit %v, output %q; want exit 2 naming TELEGRAM_BOT_TOKEN", err, out)
	}
}
