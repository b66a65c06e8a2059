package redisstore

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/troupebot/troupe/internal/logtest"
	"github.com/troupebot/troupe/internal/ratelog"
)

// TestRedisLogIsStructured: a go-redis line arrives as one slog warning carrying its text.
func TestRedisLogIsStructured(t *testing.T) {
	var out logtest.Buffer
	l := redisLog{ratelog.New(slog.New(slog.NewJSONHandler(&out, nil)), ratelog.Config{})}
	l.Printf(context.Background(), "redis: %s:%d: dial tcp: connection refused\n", "pool.go", 42)
	got := out.String()
	if !strings.Contains(got, `"level":"WARN"`) || !strings.Contains(got, `"msg":"redis client"`) ||
		!strings.Contains(got, `redis: pool.go:42: dial tcp: connection refused"`) {
		t.Errorf("log line %q: want a WARN 'redis client' line with go-redis's text", got)
	}
}
