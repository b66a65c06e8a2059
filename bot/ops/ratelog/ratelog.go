// Package ratelog turns a flood of like log lines into a trickle: a Logger writes at most
// a few lines a second and counts the ones it left out, reporting the count on the next
// line it writes. It is for events an outsider can cause at will (refused requests,
// connections over a cap, net/http's own errors), where one line per event would let anyone
// flood the log; metrics keep the exact counts.
package ratelog

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Logger writes lines to an slog.Logger at a bounded rate.
type Logger struct {
	log        *slog.Logger
	lim        *rate.Limiter
	now        func() time.Time
	suppressed atomic.Int64
}

// Config tunes a Logger. The zero value allows 5 lines a second after a burst of 10.
type Config struct {
	PerSecond float64
	Burst     int
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
}

// New returns a Logger writing to log (slog.Default() when nil).
func New(log *slog.Logger, cfg Config) *Logger {
	if log == nil {
		log = slog.Default()
	}
	if cfg.PerSecond <= 0 {
		cfg.PerSecond = 5
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Logger{log: log, lim: rate.NewLimiter(rate.Limit(cfg.PerSecond), cfg.Burst), now: cfg.Now}
}

// Log writes the line unless the rate is spent, and reports whether it did. A written line
// carries "suppressed": the number of lines left out since the previous one, when any were.
// Lines below the logger's level neither count nor spend the rate.
func (l *Logger) Log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) bool {
	if !l.log.Enabled(ctx, level) {
		return false
	}
	if !l.lim.AllowN(l.now(), 1) {
		l.suppressed.Add(1)
		return false
	}
	if n := l.suppressed.Swap(0); n > 0 {
		attrs = append(attrs, slog.Int64("suppressed", n))
	}
	l.log.LogAttrs(ctx, level, msg, attrs...)
	return true
}
