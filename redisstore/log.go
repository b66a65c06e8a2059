package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/internal/ratelog"
)

// LogTo sends go-redis's own log lines (dial failures and pool notices, which it otherwise
// prints to stderr) to log as warnings, a few a second at most: while the server is away it
// writes one per failed dial. go-redis keeps one logger per process, so this is a process
// setting, for the command that wires the store (cmd/bot), not for libraries.
func LogTo(log *slog.Logger) {
	redis.SetLogger(redisLog{ratelog.New(log, ratelog.Config{})})
}

type redisLog struct{ log *ratelog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.Log(ctx, slog.LevelWarn, "redis client", slog.String("msg", strings.TrimSpace(fmt.Sprintf(format, v...))))
}
