// Package ratelog turns a flood of like log lines into a trickle: a Logger writes at most
// a few lines a second and counts the ones it left out, reporting the count on the next
// line it writes, or on a summary line shortly after the flood, whichever comes first. It is for events an outsider can cause at will (refused requests,
// connections over a cap, net/http's own errors), where one line per event would let anyone
// flood the log; metrics keep the exact counts.
package ratelog

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Logger writes lines to an slog.Logger at a bounded rate.
type Logger struct {
	log        *slog.Logger
	lim        *rate.Limiter
	now        func() time.Time
	flushAfter time.Duration
	suppressed atomic.Int64
}

// Config tunes a Logger. The zero value allows 5 lines a second after a burst of 10, and
// sums up what it left out a second after the first line it left out.
type Config struct {
	PerSecond float64
	Burst     int
	// FlushAfter is how long after a line is left out the count is logged, if no line
	// has reported it by then; 0 means a second.
	FlushAfter time.Duration
	// Now is the limiter's clock, for tests; nil means time.Now.
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
	if cfg.FlushAfter <= 0 {
		cfg.FlushAfter = time.Second
	}
	return &Logger{log: log, lim: rate.NewLimiter(rate.Limit(cfg.PerSecond), cfg.Burst), now: cfg.Now, flushAfter: cfg.FlushAfter}
}

// Log writes the line unless the rate is spent, and reports whether it did. A written line
// carries "suppressed": the number of lines left out since the previous one, when any were;
// every line in the log stands for itself and its "suppressed". Lines below the logger's
// level neither count nor spend the rate.
func (l *Logger) Log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) bool {
	if !l.log.Enabled(ctx, level) {
		return false
	}
	if !l.lim.AllowN(l.now(), 1) {
		if l.suppressed.Add(1) == 1 {
			// The first of a run left out: unless a line reports the run, this one is
			// written late, standing for the run, so that the last flood before a quiet
			// spell is counted in the log too. A run starts only after a count was
			// reported, so these are as rare as lines.
			attrs = slices.Clone(attrs)
			time.AfterFunc(l.flushAfter, func() {
				n := l.suppressed.Swap(0)
				if n == 0 {
					return
				}
				if n > 1 {
					attrs = append(attrs, slog.Int64("suppressed", n-1))
				}
				l.log.LogAttrs(context.Background(), level, msg, attrs...)
			})
		}
		return false
	}
	if n := l.suppressed.Swap(0); n > 0 {
		attrs = append(attrs, slog.Int64("suppressed", n))
	}
	l.log.LogAttrs(ctx, level, msg, attrs...)
	return true
}
