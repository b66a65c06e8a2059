// Package deploy holds no code, only the tests that keep deploy/ honest without Docker or a
// cluster: they read the Dockerfile, the Render Blueprints and the Kubernetes manifests, and
// check them against the bot itself — the built binary, run with each deployment's
// environment against the Bot API emulator; its HTTP routes; and docs/configuration.md and
// docs/operations.md, which cmd/bot's tests hold to the flag set and the drain deadline — so
// that a change on either side that breaks a deploy fails here first.
package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupebot/troupe/bot/ops"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/internal/repotest"
)

// ---------------------------------------------------------------------------------------
// What the docs promise, which cmd/bot's tests check against the code.

var (
	// A row of a table in docs/configuration.md: "| `-flag` | `ENV` | default | …", or
	// "| `VARIABLE` | read by | …" for the variables that are not flags.
	flagRow     = regexp.MustCompile("(?m)^\\| `-([a-z-]+)` \\| (?:`([A-Z0-9_]+)`[^|]*)?\\| ([^|]*) \\|")
	variableRow = regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\|")
	codeSpan    = regexp.MustCompile("`([^`]*)`")
	// How docs/operations.md states the longest the bot takes to stop after SIGTERM.
	// What a bot on a durable store that answers shows in /metrics: the store up, and a
	// journal (the memory store has none).
	storeUp        = regexp.MustCompile(`(?m)^troupe_store_up 1$`)
	journalOnStore = regexp.MustCompile(`(?m)^troupe_journal_capacity [1-9]`)
	stopPromise    = regexp.MustCompile(`more\s+than\s+(\d+)\s+s\s+\((\d+)\s+s\s+to\s+drain,\s+(\d+)\s+s\s+to\s+stop\s+the\s+HTTP\s+server\)`)
)

// knownEnv is every variable a deploy may set: the ones docs/configuration.md documents,
// the flags' and the Go runtime's.
func knownEnv(tb testing.TB) map[string]bool {
	tb.Helper()
	doc := repotest.ReadFile(tb, "docs/configuration.md")
	known := map[string]bool{}
	for _, m := range flagRow.FindAllStringSubmatch(doc, -1) {
		if m[2] != "" {
			known[m[2]] = true
		}
	}
	for _, m := range variableRow.FindAllStringSubmatch(doc, -1) {
		known[m[1]] = true
	}
	if !known["TELEGRAM_BOT_TOKEN"] || !known["GOMEMLIMIT"] {
		tb.Fatalf("read %v from docs/configuration.md's tables, without TELEGRAM_BOT_TOKEN or GOMEMLIMIT", known)
	}
	return known
}

// flagDefault is the default of -name that docs/configuration.md documents (its first
// `value`), which cmd/bot's TestConfigurationDoc holds to the flag.
func flagDefault(tb testing.TB, name string) string {
	tb.Helper()
	for _, m := range flagRow.FindAllStringSubmatch(repotest.ReadFile(tb, "docs/configuration.md"), -1) {
		if d := codeSpan.FindStringSubmatch(m[3]); m[1] == name && d != nil {
			return d[1]
		}
	}
	tb.Fatalf("docs/configuration.md documents no default `value` for -%s", name)
	return ""
}

// defaultListen is the default of -listen that docs/configuration.md documents.
func defaultListen(tb testing.TB) string {
	tb.Helper()
	return flagDefault(tb, "listen")
}

// defaultClusterPort is the port of the default -cluster-addr, the port a member binds
// unless BOT_CLUSTER_ADDR says otherwise (with POD_IP set, on that address).
func defaultClusterPort(tb testing.TB) string {
	tb.Helper()
	d := flagDefault(tb, "cluster-addr")
	_, port, err := net.SplitHostPort(d)
	if err != nil {
		tb.Fatalf("the documented default -cluster-addr %q: %v", d, err)
	}
	return port
}

// checkOutboundShare fails unless members members, each with its own outbound limit
// (BOT_RATE_GLOBAL in env, else the bot's default of 30), send at most Telegram's 30
// messages a second between them.
func checkOutboundShare(tb testing.TB, env map[string]string, members int) {
	tb.Helper()
	rate := 30.0
	if v, ok := env["BOT_RATE_GLOBAL"]; ok {
		var err error
		if rate, err = strconv.ParseFloat(v, 64); err != nil || rate <= 0 {
			tb.Errorf("BOT_RATE_GLOBAL %q: want a positive number of messages a second (0 is no limit at all)", v)
			return
		}
	}
	if total := rate * float64(members); total > telegramGlobalRate {
		tb.Errorf("BOT_RATE_GLOBAL %v × %d members = %v messages a second, over Telegram's %d: set it to %d / %d", rate, members, total, telegramGlobalRate, telegramGlobalRate, members)
	}
}

// telegramGlobalRate is what Telegram lets one bot send, in messages a second overall.
const telegramGlobalRate = 30

// listenPort is the port the bot listens on with env: PORT, else the default -listen's.
func listenPort(tb testing.TB, env map[string]string) string {
	tb.Helper()
	if p := env["PORT"]; p != "" {
		return p
	}
	_, port, err := net.SplitHostPort(defaultListen(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

// stopDeadline is the longest the bot takes to stop after SIGTERM, as docs/operations.md
// states it: the drain, then the HTTP server's shutdown.
func stopDeadline(tb testing.TB) time.Duration {
	tb.Helper()
	m := stopPromise.FindStringSubmatch(repotest.ReadFile(tb, "docs/operations.md"))
	if m == nil {
		tb.Fatal("docs/operations.md does not say how long the bot takes to stop (more than N s (D s to drain, H s to stop the HTTP server))")
	}
	n, _ := strconv.Atoi(m[1])
	return time.Duration(n) * time.Second
}

// Stand-ins for the values a deploy takes from its secrets: valid, so that the bot must
// start with them.
var secretStandIns = map[string]string{
	"TELEGRAM_BOT_TOKEN": "123456789:stand-in",
	"WEBHOOK_SECRET":     "0123456789abcdef0123456789abcdef",
	"BOT_ADMINS":         "123456789",
}

// storeStandIn starts a real redis-server for a deployment's REDIS_URL, which the platform
// or a Secret would give, and returns its URL.
func storeStandIn(tb testing.TB) string {
	tb.Helper()
	return redistest.Start(tb, redistest.Options{}).URL
}

// show prints an optional field of a manifest: its value, or "unset".
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// ---------------------------------------------------------------------------------------
// The bot's routes, as its code serves them.

type readiness bool

func (r readiness) Ready() bool { return bool(r) }

// status returns the code the bot's operator endpoints answer GET path with.
func status(path string, ready bool) int {
	rec := httptest.NewRecorder()
	ops.Handler(readiness(ready), prometheus.NewRegistry()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

// checkLiveness fails unless path is a liveness check: 200 whether or not the bot is
// ready (a restart would not make a draining bot ready sooner).
func checkLiveness(tb testing.TB, where, path string) {
	tb.Helper()
	if a, b := status(path, true), status(path, false); a != http.StatusOK || b != http.StatusOK {
		tb.Errorf("%s: health check %s answers %d when ready, %d when not; want 200 both", where, path, a, b)
	}
}

func checkReadiness(tb testing.TB, where, path string) {
	tb.Helper()
	if a, b := status(path, true), status(path, false); a != http.StatusOK || b != http.StatusServiceUnavailable {
		tb.Errorf("%s: readiness check %s answers %d when ready, %d when not; want 200 and 503", where, path, a, b)
	}
}

// ---------------------------------------------------------------------------------------
// The bot itself, built and run with a deployment's environment.

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "troupe-bot-test")
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(repotest.Main(m, dir))
}

// served is what a bot started with a deployment's environment showed of itself.
type served struct {
	webhook string // the URL it registered with setWebhook; "" when it polls
	// What a POST to the webhook's path without the secret answered (0 when it polls).
	unsignedPost int
	// What GET /metrics answered on PORT, and on BOT_OPS_LISTEN's address (0 when unset).
	publicMetrics, opsMetrics int
	// durable: the metrics served said the bot runs on a durable store that answers.
	durable bool
	// member: the address the bot joined its cluster with ("" when it runs alone), and
	// the provider that found the members.
	member, provider string
}

// joined reads, from the bot's JSON log lines, the address and provider it joined its
// cluster with.
func joined(logs string) (addr, provider string) {
	for _, line := range strings.Split(logs, "\n") {
		var l struct{ Msg, Addr, Provider string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "cluster member started" {
			return l.Addr, l.Provider
		}
	}
	return "", ""
}

// get is the status and body GET url answers, 0 when it cannot be reached.
func get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Errorf("GET %s: %v", url, err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Errorf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// serve starts the built bot with env, as the platform would, against the Bot API emulator
// (TELEGRAM_API_URL) and on free ports (PORT and any BOT_OPS_LISTEN, in place of the
// platform's, which this machine may have in use; a cluster member's remote and manage
// ports too, its remote's host kept, and an automanaged member's peers set to itself: a
// cluster of one), waits until it polls or has registered its webhook, checks that PORT
// serves /healthz, tries the webhook without its secret, and stops the bot with SIGTERM.
// A bot that refuses env exits first, and the test fails with its complaint.
func serve(tb testing.TB, env map[string]string) served {
	tb.Helper()
	bin := repotest.Bot(tb)
	emu, err := emulator.New(emulator.Config{Token: env["TELEGRAM_BOT_TOKEN"], Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	defer emu.Close()
	_, port, _ := net.SplitHostPort(repotest.FreeAddr(tb))
	opsAddr := ""

	// Starting takes a fraction of a second; a bot that has done neither by then never will
	// (in webhook mode without a URL it waits for one registered by hand).
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{"HOME=/nonexistent", "TELEGRAM_API_URL=" + emu.URL(), "PORT=" + port}
	if env["BOT_CLUSTER"] != "" {
		cmd.Env = append(cmd.Env, clusterPorts(tb, env)...)
	}
	for k, v := range env {
		switch k {
		case "PORT", "BOT_CLUSTER_ADDR", "BOT_CLUSTER_MANAGE_PORT", "BOT_CLUSTER_PEERS":
		case "BOT_OPS_LISTEN": // the private address, on a free port of this machine too
			opsAddr = repotest.FreeAddr(tb)
			cmd.Env = append(cmd.Env, k+"="+opsAddr)
		default:
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	up := make(chan string, 2)
	go func() {
		if emu.WaitWebhook(ctx) == nil {
			up <- "webhook"
		}
	}()
	go func() {
		if emu.WaitPolling(ctx) == nil {
			up <- "polling"
		}
	}()
	var s served
	select {
	case err := <-exited:
		tb.Fatalf("the bot refuses this environment: %v\n%s", err, &logs)
	case <-ctx.Done():
		cancel()
		<-exited
		tb.Fatalf("the bot neither polled nor registered a webhook in time\n%s", &logs)
	case mode := <-up:
		if mode == "webhook" {
			s.webhook = emu.WebhookInfo().Url
		}
	}

	addr := "http://127.0.0.1:" + port
	if resp, err := http.Get(addr + "/healthz"); err != nil {
		tb.Errorf("GET /healthz on PORT=%s: %v", port, err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			tb.Errorf("GET /healthz on PORT=%s answered %d, want 200", port, resp.StatusCode)
		}
	}
	var metrics, opsBody string
	s.publicMetrics, metrics = get(tb, addr+"/metrics")
	if opsAddr != "" {
		s.opsMetrics, opsBody = get(tb, "http://"+opsAddr+"/metrics")
		metrics += opsBody
	}
	s.durable = storeUp.MatchString(metrics) && journalOnStore.MatchString(metrics)
	if s.webhook != "" {
		u, err := url.Parse(s.webhook)
		if err != nil {
			tb.Fatal(err)
		}
		if resp, err := http.Post(addr+u.Path, "application/json", strings.NewReader(`{"update_id":1}`)); err != nil {
			tb.Errorf("POST %s on PORT=%s: %v", u.Path, port, err)
		} else {
			resp.Body.Close()
			s.unsignedPost = resp.StatusCode
		}
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		tb.Errorf("the bot did not stop cleanly on SIGTERM: %v\n%s", err, &logs)
	}
	s.member, s.provider = joined(logs.String())
	return s
}

// clusterPorts is the cluster settings of env on free ports of this machine: the remote's
// host as env gives it (BOT_CLUSTER_ADDR's, else POD_IP, as the bot's default takes it),
// and, for an automanaged member, itself as its only peer.
func clusterPorts(tb testing.TB, env map[string]string) []string {
	tb.Helper()
	host := env["POD_IP"]
	if a, ok := env["BOT_CLUSTER_ADDR"]; ok {
		h, _, err := net.SplitHostPort(a)
		if err != nil {
			tb.Fatalf("BOT_CLUSTER_ADDR %q: %v", a, err)
		}
		host = h
	}
	remote, manage := portOf(tb, repotest.FreeAddr(tb)), portOf(tb, repotest.FreeAddr(tb))
	out := []string{"BOT_CLUSTER_ADDR=" + net.JoinHostPort(host, remote), "BOT_CLUSTER_MANAGE_PORT=" + manage}
	if env["BOT_CLUSTER_PROVIDER"] == "automanaged" {
		out = append(out, "BOT_CLUSTER_PEERS=127.0.0.1:"+manage)
	} else if p, ok := env["BOT_CLUSTER_PEERS"]; ok {
		out = append(out, "BOT_CLUSTER_PEERS="+p)
	}
	return out
}

// refusal starts the built bot with env against the Bot API emulator and returns its exit
// code and its log, failing the test if it serves instead of exiting.
func refusal(tb testing.TB, env map[string]string) (int, string) {
	tb.Helper()
	emu, err := emulator.New(emulator.Config{Token: env["TELEGRAM_BOT_TOKEN"], Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	defer emu.Close()
	bin := repotest.Bot(tb) // built first: the deadline is for the bot, not the build
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{"HOME=/nonexistent", "TELEGRAM_API_URL=" + emu.URL(), "PORT=" + portOf(tb, repotest.FreeAddr(tb))}
	for k, v := range env {
		if k != "PORT" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		tb.Fatalf("the bot did not exit in time\n%s", out)
	case err == nil:
		return 0, string(out)
	case !errors.As(err, &exit):
		tb.Fatalf("run the bot: %v", err)
	}
	return exit.ExitCode(), string(out)
}

// portOf is the port of a host:port.
func portOf(tb testing.TB, addr string) string {
	tb.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatalf("address %q: %v", addr, err)
	}
	return port
}
