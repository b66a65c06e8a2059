package ops_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/bot/ops"
	"github.com/troupebot/troupe/internal/logtest"
)

// finisher is a runtime that finishes every update at once.
type finisher struct{}

func (finisher) Deliver(_ *gotgbot.Update, done func()) error { done(); return nil }

// startServer serves the operator's endpoints and a webhook (no secret) at /webhook on
// 127.0.0.1 with cfg, and returns the server and its address.
func startServer(tb testing.TB, cfg ops.ServerConfig) (*ops.Server, string) {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &readiness{}
	r.ready.Store(true)
	mux := ops.Handler(r, prometheus.NewRegistry())
	mux.Handle("/webhook", intake.NewWebhook(finisher{}, intake.WebhookConfig{Logger: cfg.Logger}))
	return serveOn(tb, mux, cfg)
}

func serveOn(tb testing.TB, h http.Handler, cfg ops.ServerConfig) (*ops.Server, string) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := ops.NewServer(h, cfg)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("Serve: %v", err)
		}
	})
	return srv, ln.Addr().String()
}

// dial opens a raw connection, closed when the test ends.
func dial(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads c until the server closes it, failing when that takes longer than
// within. It returns what was read.
func waitClosed(tb testing.TB, c net.Conn, within time.Duration) []byte {
	tb.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	var got bytes.Buffer
	_, err := io.Copy(&got, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		tb.Fatalf("the server kept the connection open for %v; read %q", within, got.String())
	}
	return got.Bytes() // EOF (nil here) or a reset: closed either way
}

// get asks path of addr on a fresh connection.
func get(tb testing.TB, addr, path string) int {
	tb.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func status(tb testing.TB, raw []byte) int {
	tb.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		tb.Fatalf("no HTTP answer in %q: %v", raw, err)
	}
	return resp.StatusCode
}

// TestServerHealthWhenFull holds every connection the cap allows and more, as a slow
// client does, and /healthz still answers while everything else is refused.
func TestServerHealthWhenFull(t *testing.T) {
	const maxConns, held = 4, 12
	srv, addr := startServer(t, ops.ServerConfig{
		MaxConns: maxConns, MaxOverflow: 16, OverflowTimeout: 300 * time.Millisecond,
		// Long enough that only the cap can be what refuses.
		ReadHeaderTimeout: time.Minute, ReadTimeout: time.Minute, IdleTimeout: time.Minute,
	})
	conns := make([]net.Conn, held)
	for i := range conns {
		conns[i] = dial(t, addr)
		// Headers never finished: the connection is held.
		if _, err := io.WriteString(conns[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	// The listener accepts in order: these come after every held connection.
	if code := get(t, addr, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with %d connections held = %d, want 200", held, code)
	}
	if code := get(t, addr, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with %d connections held = %d, want 200", held, code)
	}
	if code := get(t, addr, "/metrics"); code != http.StatusServiceUnavailable {
		t.Errorf("/metrics over the cap = %d, want 503", code)
	}
	// The ones over the cap are cut off after OverflowTimeout.
	for _, c := range conns[maxConns:] {
		waitClosed(t, c, 10*time.Second)
	}
	st := srv.Stats()
	if st.OverCap != held-maxConns+3 || st.RefusedOverCap != 1 || st.Shed != 0 {
		t.Errorf("stats %+v, want %d over the cap, 1 refused", st, held-maxConns+3)
	}
	if st.Open != maxConns {
		t.Errorf("%d connections open, want the %d within the cap", st.Open, maxConns)
	}
}

// TestServerSheds makes room past the cap and the overflow by closing the oldest overflow
// connection that sent no request, and counts it in the metrics.
func TestServerSheds(t *testing.T) {
	srv, addr := startServer(t, ops.ServerConfig{MaxConns: 1, MaxOverflow: 1, OverflowTimeout: time.Minute, ReadHeaderTimeout: time.Minute})
	dial(t, addr)
	oldest := dial(t, addr)
	newest := dial(t, addr)
	waitClosed(t, oldest, 10*time.Second)
	// The newest took its place and is served health checks.
	if _, err := io.WriteString(newest, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if code := status(t, waitClosed(t, newest, 10*time.Second)); code != http.StatusOK {
		t.Errorf("/healthz on the newest connection = %d, want 200", code)
	}

	reg := prometheus.NewRegistry()
	prometheus.WrapRegistererWith(prometheus.Labels{"listener": "public"}, reg).MustRegister(srv)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	if got["troupe_http_connections_shed_total"] != 1 || got["troupe_http_connections_over_cap_total"] != 2 || got["troupe_http_connections_open"] != 1 {
		t.Errorf("metrics %v: want 1 shed, 2 over the cap, 1 open", got)
	}
}

// TestServerHealthPastTheOverflow: a client holding far more connections than the cap and
// the overflow together, none sending a request, still cannot starve /healthz: each new
// connection takes the place of the oldest silent one.
func TestServerHealthPastTheOverflow(t *testing.T) {
	const maxConns, maxOverflow, held = 2, 4, 40
	srv, addr := startServer(t, ops.ServerConfig{
		MaxConns: maxConns, MaxOverflow: maxOverflow,
		// Long enough that only eviction can be what frees a place.
		OverflowTimeout: time.Minute, ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute,
	})
	for range held {
		dial(t, addr)
	}
	for range 3 {
		if code := get(t, addr, "/healthz"); code != http.StatusOK {
			t.Errorf("/healthz with %d silent connections held = %d, want 200", held, code)
		}
	}
	if st := srv.Stats(); st.Shed < held-maxConns-maxOverflow {
		t.Errorf("stats %+v: want at least %d shed", st, held-maxConns-maxOverflow)
	}
}

// TestServerCutsOff: each attack ends with the server closing the connection, within a
// few of the (short) timeouts the test sets.
func TestServerCutsOff(t *testing.T) {
	cfg := ops.ServerConfig{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, IdleTimeout: 200 * time.Millisecond}
	tests := []struct {
		name   string
		attack func(c net.Conn) // writes, possibly for ever; returns when a write fails
		status []int            // the answers allowed before the close; none for a plain close
	}{
		{"1 MB header", func(c net.Conn) {
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n", strings.Repeat("a", 1<<20))
		}, []int{http.StatusRequestHeaderFieldsTooLarge}},
		{"slow headers", func(c net.Conn) {
			io.WriteString(c, "GET /healthz HTTP/1.1\r\n")
		}, nil},
		{"slow body", func(c net.Conn) {
			io.WriteString(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"update_id\":")
		}, []int{http.StatusBadRequest}},
		{"endless chunked body", func(c net.Conn) {
			io.WriteString(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
			chunk := "10\r\n" + strings.Repeat(" ", 16) + "\r\n"
			for {
				if _, err := io.WriteString(c, chunk); err != nil {
					return
				}
			}
			// Cut off by the webhook's size limit (413) or, on a slow machine, by the read
			// timeout (400).
		}, []int{http.StatusRequestEntityTooLarge, http.StatusBadRequest}},
		{"endless chunked body, slowly", func(c net.Conn) {
			io.WriteString(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
			tick := time.NewTicker(10 * time.Millisecond) // a trickle, as an attacker sends it
			defer tick.Stop()
			for range tick.C {
				if _, err := io.WriteString(c, "1\r\n \r\n"); err != nil {
					return
				}
			}
		}, []int{http.StatusBadRequest}},
		{"idle keep-alive", func(c net.Conn) {
			io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		}, []int{http.StatusOK}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := startServer(t, cfg)
			c := dial(t, addr)
			go tt.attack(c)
			got := waitClosed(t, c, 10*time.Second)
			if len(tt.status) == 0 {
				if len(got) != 0 {
					t.Errorf("answered %q, want a plain close", got)
				}
			} else if code := status(t, got); !slices.Contains(tt.status, code) {
				t.Errorf("answered %d, want one of %v", code, tt.status)
			}
			if code := get(t, addr, "/healthz"); code != http.StatusOK {
				t.Errorf("/healthz afterwards = %d", code)
			}
		})
	}
}

// TestServerErrorLog: net/http's own complaints arrive as structured slog lines.
func TestServerErrorLog(t *testing.T) {
	var logs logtest.Buffer
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.WriteHeader(http.StatusTeapot) // net/http logs the superfluous call
	})
	_, addr := serveOn(t, h, ops.ServerConfig{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	get(t, addr, "/")
	var line struct {
		Level, Msg, Err string
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line); err != nil {
		t.Fatalf("log %q is not one JSON line: %v", logs.String(), err)
	}
	if line.Level != "WARN" || line.Msg != "HTTP server error" || !strings.Contains(line.Err, "superfluous response.WriteHeader") {
		t.Errorf("log line %+v", line)
	}
}

// TestServerShutdown: Shutdown ends Serve and closes idle connections.
func TestServerShutdown(t *testing.T) {
	srv, addr := startServer(t, ops.ServerConfig{IdleTimeout: time.Minute})
	c := dial(t, addr)
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c, 5*time.Second)
}
