package ops

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupebot/troupe/internal/ratelog"
)

// The paths every connection is served, even one over the cap.
const (
	HealthPath = "/healthz"
	ReadyPath  = "/readyz"
)

// ServerConfig bounds what clients can hold of a Server. Zero fields take the defaults,
// which suit a public port that Telegram's webhook, health checks and scrapes share.
type ServerConfig struct {
	// ReadHeaderTimeout bounds reading a request's headers; default 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included; default 10s. Telegram's
	// updates are a few KB, sent at once.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from its headers to the end of the response; default
	// 60s, about as long as Telegram waits for a webhook's answer.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection without a request for this long; default
	// 30s.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps a request's headers (431 beyond); default 16 KiB. net/http
	// allows 4 KiB more than this.
	MaxHeaderBytes int
	// MaxConns caps the connections served in full; default 256 (Telegram opens at most
	// 100, the bot asks for 40).
	MaxConns int
	// MaxOverflow caps the connections open past MaxConns, which are served /healthz and
	// /readyz only; past both, the oldest of them that sent no request yet is closed to
	// make room. Default 1024.
	MaxOverflow int
	// OverflowTimeout is how long a connection past MaxConns may stay open; default 1s.
	OverflowTimeout time.Duration
	// Logger receives net/http's errors and the cap's refusals, rate-limited; nil means
	// slog.Default().
	Logger *slog.Logger
}

const (
	defaultReadHeaderTimeout = 5 * time.Second
	defaultReadTimeout       = 10 * time.Second
	defaultWriteTimeout      = 60 * time.Second
	defaultIdleTimeout       = 30 * time.Second
	defaultMaxHeaderBytes    = 16 << 10
	defaultMaxConns          = 256
	defaultMaxOverflow       = 1024
	defaultOverflowTimeout   = time.Second
)

func (c *ServerConfig) setDefaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.ReadHeaderTimeout, defaultReadHeaderTimeout)
	set(&c.ReadTimeout, defaultReadTimeout)
	set(&c.WriteTimeout, defaultWriteTimeout)
	set(&c.IdleTimeout, defaultIdleTimeout)
	set(&c.OverflowTimeout, defaultOverflowTimeout)
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	if c.MaxConns <= 0 {
		c.MaxConns = defaultMaxConns
	}
	if c.MaxOverflow <= 0 {
		c.MaxOverflow = defaultMaxOverflow
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server is an HTTP server for a port anyone on the internet can reach: every phase of a
// request has a deadline, headers are small, and the connections it serves are capped.
//
// The cap never starves the health checks. netutil.LimitListener stops accepting when
// full, so a client holding every slot would leave /healthz unanswered and the platform
// would restart a healthy bot. Here a connection past MaxConns is still accepted, but it
// lives at most OverflowTimeout, is served only /healthz and /readyz (anything else is 503,
// which Telegram retries), and is closed after one answer. A probe needs a few
// milliseconds, a slow client gets nothing, and the resources stay bounded: MaxConns
// connections in full and MaxOverflow short-lived ones beside them. When the overflow is
// full too, the oldest overflow connection that has not sent a request is closed to make
// room: refusing the newest instead would let a client that keeps the overflow full starve
// the health checks, while a probe, which sends its request at once, is never the oldest.
// Evicting idle connections within the cap as well would keep Telegram's POSTs flowing
// under attack, but needs bookkeeping of every connection's state for little gain:
// Telegram retries what it is refused.
type Server struct {
	srv *http.Server
	cfg ServerConfig
	// Rate-limited apart, so that a flood of connections does not hide net/http's errors.
	errLog, capLog *ratelog.Logger

	full, overflow                                                    atomic.Int64 // connections open
	overCap, shed, unproductive, refusedOverCap, httpErrors, accepted atomic.Int64
}

// NewServer returns a Server for h.
func NewServer(h http.Handler, cfg ServerConfig) *Server {
	cfg.setDefaults()
	s := &Server{cfg: cfg, errLog: ratelog.New(cfg.Logger, ratelog.Config{}), capLog: ratelog.New(cfg.Logger, ratelog.Config{})}
	s.srv = &http.Server{
		Handler:           s.gate(h),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          log.New(errorWriter{s}, "", 0),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		ConnState: s.connState,
	}
	return s
}

// Serve accepts connections on ln until Shutdown or Close; it returns http.ErrServerClosed
// after those, as http.Server.Serve does.
func (s *Server) Serve(ln net.Listener) error {
	return s.srv.Serve(&listener{Listener: ln, s: s})
}

// Shutdown stops accepting, closes idle connections and waits for active ones until ctx
// ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close closes the listener and every connection at once.
func (s *Server) Close() error { return s.srv.Close() }

type connKey struct{}

// gate serves a connection over the cap its health checks only, and marks a connection
// productive once a request of it reached a handler.
func (s *Server) gate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(connKey{}).(*conn)
		if c == nil {
			h.ServeHTTP(w, r)
			return
		}
		c.productive.Store(true)
		if c.overflow {
			w.Header().Set("Connection", "close")
			if r.URL.Path != HealthPath && r.URL.Path != ReadyPath {
				s.refusedOverCap.Add(1)
				w.Header().Set("Retry-After", "1")
				http.Error(w, "busy: too many connections", http.StatusServiceUnavailable)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) connState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*conn)
	if ok && state == http.StateClosed && !c.productive.Load() {
		s.unproductive.Add(1)
	}
}

// ServerStats is a snapshot of a Server's counters.
type ServerStats struct {
	Open     int64 // connections open now, over the cap included
	Accepted int64 // connections accepted
	// OverCap counts connections accepted past MaxConns: served /healthz and /readyz
	// only, for at most OverflowTimeout.
	OverCap int64
	// Shed counts connections closed past MaxConns and MaxOverflow: the oldest overflow
	// connection without a request, to make room, or the new one when none is.
	Shed int64
	// Unproductive counts connections closed before a request reached a handler:
	// headers too large (431), too slow, or malformed, or no request at all.
	Unproductive int64
	// RefusedOverCap counts requests other than /healthz and /readyz answered 503 on a
	// connection over the cap.
	RefusedOverCap int64
	// Errors counts net/http's own error lines (accept errors, panics in handlers).
	Errors int64
}

// Stats returns the Server's counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{
		Open: s.full.Load() + s.overflow.Load(), Accepted: s.accepted.Load(),
		OverCap: s.overCap.Load(), Shed: s.shed.Load(), Unproductive: s.unproductive.Load(),
		RefusedOverCap: s.refusedOverCap.Load(), Errors: s.httpErrors.Load(),
	}
}

var _ prometheus.Collector = (*Server)(nil)

type serverMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(ServerStats) int64
}

// The HTTP server's metrics, which cmd/bot registers beside the bot's own, once per listener
// (label "listener").
var serverMetrics = []serverMetric{
	{prometheus.NewDesc("troupe_http_connections_open", "HTTP connections open, over the cap included.", nil, nil), prometheus.GaugeValue, func(s ServerStats) int64 { return s.Open }},
	{prometheus.NewDesc("troupe_http_connections_accepted_total", "HTTP connections accepted.", nil, nil), prometheus.CounterValue, func(s ServerStats) int64 { return s.Accepted }},
	{prometheus.NewDesc("troupe_http_connections_over_cap_total", "HTTP connections accepted past the cap, served health checks only, briefly.", nil, nil), prometheus.CounterValue, func(s ServerStats) int64 { return s.OverCap }},
	{prometheus.NewDesc("troupe_http_connections_shed_total", "HTTP connections closed past the cap and the overflow, the oldest without a request first.", nil, nil), prometheus.CounterValue, func(s ServerStats) int64 { return s.Shed }},
	{prometheus.NewDesc("troupe_http_connections_unproductive_total", "HTTP connections closed before a request reached a handler: headers too large or too slow, malformed, or none.", nil, nil), prometheus.CounterValue, func(s ServerStats) int64 { return s.Unproductive }},
	{prometheus.NewDesc("troupe_http_requests_over_cap_total", "Requests other than health checks answered 503 on a connection over the cap.", nil, nil), prometheus.CounterValue, func(s ServerStats) int64 { return s.RefusedOverCap }},
	{prometheus.NewDesc("troupe_http_errors_total", "net/http's own error lines: accept errors, panics in handlers.", nil, nil), prometheus.CounterValue, func(s ServerStats) int64 { return s.Errors }},
}

// Describe implements prometheus.Collector.
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range serverMetrics {
		ch <- m.desc
	}
}

// Collect implements prometheus.Collector.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	st := s.Stats()
	for _, m := range serverMetrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, float64(m.value(st)))
	}
}

// errorWriter carries net/http's ErrorLog lines into slog, rate-limited: a client can make
// net/http log at will (a flood of connections makes "http: Accept error" lines).
type errorWriter struct{ s *Server }

func (w errorWriter) Write(p []byte) (int, error) {
	w.s.httpErrors.Add(1)
	w.s.errLog.Log(context.Background(), slog.LevelWarn, "HTTP server error", slog.String("err", strings.TrimSpace(string(p))))
	return len(p), nil
}

// listener classifies each accepted connection: served in full, over the cap, or shed.
type listener struct {
	net.Listener
	s *Server
	// overflowed holds the connections over the cap, oldest first: all get the same
	// lifetime, so they close in this order too. Only Accept's goroutine touches it.
	overflowed []*conn
}

// evictOldest closes the oldest open overflow connection that has not sent a request, and
// drops the closed ones ahead of it. It reports whether it closed one.
func (l *listener) evictOldest() bool {
	for len(l.overflowed) > 0 {
		c := l.overflowed[0]
		l.overflowed[0] = nil
		l.overflowed = l.overflowed[1:]
		if c.closed.Load() || c.productive.Load() {
			continue // gone, or a request is being answered: it closes after that
		}
		c.Close()
		return true
	}
	return false
}

// forgetClosed drops the closed connections at the head of overflowed, so that it holds
// about as many as are open.
func (l *listener) forgetClosed() {
	for len(l.overflowed) > 0 && l.overflowed[0].closed.Load() {
		l.overflowed[0] = nil
		l.overflowed = l.overflowed[1:]
	}
	if len(l.overflowed) == 0 {
		l.overflowed = l.overflowed[:0:0] // let the spent backing array go
	}
}

func (l *listener) Accept() (net.Conn, error) {
	s := l.s
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		s.accepted.Add(1)
		// Only this goroutine adds to the counts, so a check then an add cannot overshoot.
		if s.full.Load() < int64(s.cfg.MaxConns) {
			s.full.Add(1)
			return &conn{Conn: nc, open: &s.full}, nil
		}
		l.forgetClosed()
		if s.overflow.Load() >= int64(s.cfg.MaxOverflow) {
			s.shed.Add(1)
			s.capLog.Log(context.Background(), slog.LevelWarn, "HTTP connections over the cap and the overflow: closing the oldest without a request",
				slog.Int("cap", s.cfg.MaxConns), slog.Int("overflow", s.cfg.MaxOverflow), slog.String("remote", nc.RemoteAddr().String()))
			if !l.evictOldest() {
				nc.Close() // every overflow connection is being answered: this one waits its turn
				continue
			}
		}
		s.overflow.Add(1)
		s.overCap.Add(1)
		c := &conn{Conn: nc, open: &s.overflow, overflow: true, end: time.Now().Add(s.cfg.OverflowTimeout)}
		if err := c.Conn.SetDeadline(c.end); err != nil {
			c.Close()
			continue
		}
		l.overflowed = append(l.overflowed, c)
		s.capLog.Log(context.Background(), slog.LevelWarn, "HTTP connections over the cap: serving health checks only",
			slog.Int("cap", s.cfg.MaxConns), slog.String("remote", nc.RemoteAddr().String()))
		return c, nil
	}
}

// conn counts itself out when closed and, over the cap, keeps its end: net/http sets
// fresh deadlines for every request, which must not outlast it.
type conn struct {
	net.Conn
	open       *atomic.Int64
	overflow   bool
	end        time.Time // over the cap: the deadline no other may pass
	closed     atomic.Bool
	productive atomic.Bool
}

func (c *conn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

func (c *conn) clamp(t time.Time) time.Time {
	if c.overflow && (t.IsZero() || t.After(c.end)) {
		return c.end
	}
	return t
}

func (c *conn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *conn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *conn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }

// CloseWrite lets net/http half-close, as it does on a *net.TCPConn, so that a client
// reads an error answer before the connection resets.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
