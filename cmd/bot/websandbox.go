package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/ops"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/emulator/webchat"
)

// webListen is where the web sandbox listens: -listen, on loopback unless it names a host.
// A tryout's page lets anyone who reaches it act as its users, so it is not offered to the
// network by default.
func webListen(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || host != "" {
		return listen
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// serveWeb serves the chat page (and /healthz, /readyz, /metrics) on -listen while the bot
// runs, until Ctrl-C, SIGTERM or the end of input (Ctrl-D; input that is /dev/null never
// ends the session).
func (s *sandbox) serveWeb(ctx context.Context, emu *emulator.Server, b *bot.Bot) error {
	addr := webListen(s.cfg.listen)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web sandbox: listen on %s: %w", addr, err)
	}
	page, err := webchat.New(webchat.Config{
		Emulator: emu,
		Status:   webchat.StatusFunc(func() webchat.Figures { return figures(b.Snapshot()) }),
		Users:    []int64{sandboxUser, sandboxUser + 1, sandboxUser + 2},
		Chaos:    s.cfg.chaos,
		Logger:   s.log,
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("web sandbox: %w", err)
	}
	defer page.Close()
	mux := http.NewServeMux()
	opsMux := ops.Handler(b, b.Registry())
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		mux.Handle(path, opsMux)
	}
	mux.Handle("/", page)
	var h http.Handler = mux
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		h = loopbackHosts(mux)
	}
	// Not an ops.Server: its write deadline would cut the page's event stream, which
	// stays open as long as the page does.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	botCtx, stopBot := context.WithCancel(ctx)
	defer stopBot()
	botDone := make(chan error, 1)
	go func() { botDone <- b.Run(botCtx) }()

	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(s.out, "Troupe web sandbox %s: open %s in a browser. Ctrl-C quits.\n", version, url)
	s.log.Info("web sandbox serving", slog.String("url", url))

	ended := inputEnded(ctx, s.in)
	select {
	case <-ctx.Done():
	case <-ended:
	case err = <-served:
		err = fmt.Errorf("web sandbox: serve %s: %w", addr, err)
	case err = <-botDone:
		botDone <- err // read again below
		if err == nil {
			err = errors.New("web sandbox: the bot stopped")
		}
	}
	page.Close() // ends the pages' streams, which Shutdown would wait for
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(sctx)
	stopBot()
	if berr := <-botDone; berr != nil && err == nil {
		err = berr
	}
	return err
}

// inputEnded is closed when in ends, and never when in is a null device (a session
// started with </dev/null, e.g. in the background, runs until a signal).
func inputEnded(ctx context.Context, in io.Reader) <-chan struct{} {
	done := make(chan struct{})
	if isNullDevice(in) {
		return done
	}
	lines, _ := readLines(ctx, in)
	go func() {
		for range lines {
		}
		close(done)
	}()
	return done
}

// figures is the part of the bot's snapshot the page's operator view shows.
func figures(s bot.Snapshot) webchat.Figures {
	r := s.Runtime
	return webchat.Figures{
		Resident: r.Resident, Spawned: r.Spawned, Passivated: r.Passivated,
		Restarts: r.Restarts.Total, CoolingDown: r.CoolingDown,
		ChartP50: s.ChartLatency.Quantile(0.5) * 1000, ChartP99: s.ChartLatency.Quantile(0.99) * 1000,
		Replies: s.Sender.Sent, TooMany: s.Sender.TooMany, Updates: r.Delivered,
	}
}

// loopbackHosts refuses requests that name another host than this machine's loopback: a
// page of another site whose name its owner pointed at 127.0.0.1 (DNS rebinding) would
// otherwise reach the sandbox bound to loopback as if it were the sandbox's own page.
func loopbackHosts(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "This sandbox answers on this machine's loopback only: open it at http://127.0.0.1 or http://localhost, not as "+strconv.Quote(r.Host)+".", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}
