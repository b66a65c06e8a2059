package ops_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupebot/troupe/bot/ops"
)

type readiness struct{ ready atomic.Bool }

func (r *readiness) Ready() bool { return r.ready.Load() }

func TestReadiness(t *testing.T) {
	r := &readiness{}
	h := ops.Handler(r, prometheus.NewRegistry())
	for _, tt := range []struct {
		ready bool
		code  int
	}{{false, http.StatusServiceUnavailable}, {true, http.StatusOK}, {false, http.StatusServiceUnavailable}} {
		r.ready.Store(tt.ready)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != tt.code {
			t.Errorf("ready=%v: /readyz = %d, want %d", tt.ready, rec.Code, tt.code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/healthz", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", rec.Code)
	}
}

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(ops.Handler(&readiness{}, prometheus.NewRegistry()))
	live := strings.TrimPrefix(srv.URL, "http://")
	if err := ops.Healthcheck(context.Background(), live); err != nil {
		t.Errorf("live: %v", err)
	}
	_, port, _ := net.SplitHostPort(live)
	if err := ops.Healthcheck(context.Background(), ":"+port); err != nil {
		t.Errorf("live, given as :port: %v", err)
	}
	srv.Close()
	if err := ops.Healthcheck(context.Background(), live); err == nil {
		t.Error("dead: no error")
	}
	if err := ops.Healthcheck(context.Background(), "no-port"); err == nil || !strings.Contains(err.Error(), `"no-port"`) {
		t.Errorf("bad address: %v", err)
	}
}
