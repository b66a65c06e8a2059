package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/troupebot/troupe/internal/redistest"
)

// storeRun is the store of one run: where the bot keeps users' contexts, and the
// redis-server the harness runs for it when -store is redis.
type storeRun struct {
	kind string // "memory" or "redis"
	url  string // the bot's store: "" for memory
	srv  *redistest.Server
	dir  string // srv's directory; it writes nothing there, run as it is in memory only
}

// startStore makes the store -store names ready. With "redis" it starts redis-server in
// memory only (--save "" --appendonly no): every run begins empty, and leaves nothing behind.
func startStore(spec string) (*storeRun, error) {
	switch spec {
	case "memory":
		return &storeRun{kind: "memory"}, nil
	case "redis":
	default:
		return &storeRun{kind: "redis", url: spec}, nil
	}
	dir, err := os.MkdirTemp("", "loadtest-redis-")
	if err != nil {
		return nil, fmt.Errorf("-store redis: a directory for redis-server: %w", err)
	}
	srv, err := redistest.Launch(redistest.Options{}, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("-store redis: %w (or give -store a redis:// URL)", err)
	}
	return &storeRun{kind: "redis", url: srv.URL, srv: srv, dir: dir}, nil
}

// ours tells whether the harness runs the store's server, and so can measure it.
func (s *storeRun) ours() bool { return s.srv != nil }

// usage is redis-server's CPU time and memory, read from /proc like a spawned bot's.
func (s *storeRun) usage() (usage, error) {
	u, _, err := procStat(strconv.Itoa(s.srv.PID()))
	return u, err
}

// failed returns an error when the harness's redis-server died during the run, with what
// it printed: the run's figures would then be the bot's reaction to a lost store.
func (s *storeRun) failed() error {
	if !s.ours() {
		return nil
	}
	select {
	case <-s.srv.Exited():
		return fmt.Errorf("redis-server exited during the run; its output:\n%s", s.srv.Log())
	default:
		return nil
	}
}

// stop ends the harness's redis-server; a URL's server is not the harness's to stop.
func (s *storeRun) stop() {
	if !s.ours() {
		return
	}
	s.srv.Kill()
	os.RemoveAll(s.dir)
}

// withLog adds the harness's redis-server's output to err when that server died: it is
// then the likely cause.
func (s *storeRun) withLog(err error) error {
	if f := s.failed(); err != nil && f != nil {
		return fmt.Errorf("%w\n%w", err, f)
	}
	return err
}
