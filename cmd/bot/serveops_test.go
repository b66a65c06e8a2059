package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/examples/echo"
)

// TestServeOpsPrivateMetrics: with a private listener (-ops-listen), /metrics is served
// there and not on the public port; without one, on the public port.
func TestServeOpsPrivateMetrics(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	b, err := bot.New(bot.Config{Token: "1:ops", APIURL: "http://127.0.0.1:1", Webhook: true, Logger: log}, echo.New(echo.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Run(ctx) // stops the bot it built; the servers below need only its handlers

	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	get := func(ln net.Listener, path string) (int, string) {
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	pub, priv := listen(), listen()
	srvs := serveOps(pub, b, "/webhook", log, priv)
	for _, tt := range []struct {
		ln   net.Listener
		path string
		code int
	}{
		{pub, "/healthz", 200}, {pub, "/metrics", 404}, {priv, "/healthz", 200}, {priv, "/readyz", 503},
	} {
		if code, _ := get(tt.ln, tt.path); code != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.ln.Addr(), tt.path, code, tt.code)
		}
	}
	// The webhook is public only; a GET is refused by it, not unknown.
	if code, _ := get(pub, "/webhook"); code != http.StatusMethodNotAllowed {
		t.Errorf("public /webhook = %d, want 405", code)
	}
	if code, _ := get(priv, "/webhook"); code != http.StatusNotFound {
		t.Errorf("private /webhook = %d, want 404", code)
	}
	code, metrics := get(priv, "/metrics")
	for _, want := range []string{`troupe_http_connections_accepted_total{listener="public"} `, `troupe_http_connections_open{listener="ops"} 1`, "troupe_uptime_seconds "} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("private /metrics (%d) lacks %q", code, want)
		}
	}
	shutdown(srvs)

	pub = listen()
	srvs = serveOps(pub, b, "/webhook", log)
	defer shutdown(srvs)
	if code, metrics := get(pub, "/metrics"); code != 200 || !strings.Contains(metrics, `troupe_http_connections_open{listener="public"} 1`) {
		t.Errorf("public /metrics without a private port = %d:\n%s", code, metrics)
	}
}
