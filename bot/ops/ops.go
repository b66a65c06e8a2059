// Package ops serves the operator's HTTP endpoints: /healthz (liveness), /readyz
// (readiness) and /metrics (Prometheus), and checks /healthz for the healthcheck
// subcommand, so container health checks need no shell or curl in the image.
//
// Server is the HTTP server for those endpoints and the webhook, hardened for a port the
// whole internet reaches: deadlines on every phase of a request, small headers, and a cap
// on connections that still answers health checks when it is full. Its logs, and the
// refusals of the webhook, go through package ratelog, so that no client can flood them.
package ops

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness reports whether the bot takes updates now.
type Readiness interface {
	Ready() bool
}

// Handler serves the three endpoints on a new mux, which the caller may extend (the
// webhook is served beside them). With a nil reg it serves no /metrics: for a public port
// when a private one serves them.
func Handler(ready Readiness, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		// Alive is answering at all: a wedged process does not.
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET "+ReadyPath, func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Ready() {
			http.Error(w, "not ready: starting or draining", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	if reg != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	return mux
}

// Healthcheck asks /healthz at the listen address (as given to -listen: ":8080" means
// this host) and returns nil for a 200.
func Healthcheck(ctx context.Context, listen string) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("healthcheck: listen address %q: %w", listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + HealthPath
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck %s: HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
