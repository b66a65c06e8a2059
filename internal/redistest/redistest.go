// Package redistest runs a real redis-server for tests: on a free loopback port, in a
// temporary directory, stopped at the test's cleanup. Tests of the durable store run against
// it, never against a fake.
//
// When redis-server is not installed a test is skipped with the command that installs it,
// except in CI (CI=true), where it fails: CI installs it (.ci/run), so its absence is a bug.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/troupebot/troupe/internal/repotest"
)

// startTimeout bounds how long a server may take to answer PING after it was started.
const startTimeout = 15 * time.Second

// Server is one running redis-server.
type Server struct {
	// Addr is host:port; URL is a redis:// URL for it, with the password when one was set.
	Addr string
	URL  string

	tb   testing.TB // nil for a server Launched outside a test
	args []string
	dir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exited
	log  *bytes.Buffer
}

// Options vary the server a test gets. The zero value is an in-memory server with no
// password: --save "" --appendonly no.
type Options struct {
	// Password sets --requirepass; URL carries it.
	Password string
	// Persist turns on the append-only file, fsynced on every write, so that a server
	// killed and restarted (Kill, then Start) keeps every acknowledged write.
	Persist bool
	// Args are more redis-server arguments, e.g. "--maxmemory", "2mb".
	Args []string
}

// Binary returns the path of redis-server, or skips tb (fails it under CI) when it is missing.
func Binary(tb testing.TB) string {
	tb.Helper()
	return repotest.Tool(tb, "redis-server", "apt-get update -qq && apt-get install -y -qq redis-server", "the store's tests")
}

// Start runs a redis-server for the test and stops it at cleanup.
func Start(tb testing.TB, opt Options) *Server {
	tb.Helper()
	bin := Binary(tb)
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := launch(bin, tb.TempDir(), port, opt)
	if s != nil {
		s.tb = tb
		tb.Cleanup(s.Kill)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Launch runs a redis-server outside a test (cmd/loadtest's): the binary found on PATH, on a
// free loopback port, in dir (where a persisting server keeps its files). The caller Kills it.
func Launch(opt Options, dir string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not on PATH (apt-get install redis-server): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return launch(bin, dir, port, opt)
}

// launch starts bin on port and waits for it to answer. A server that fails to start is
// returned with the error, so that its log can be read.
func launch(bin, dir string, port int, opt Options) (*Server, error) {
	s := &Server{dir: dir, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	s.args = []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--logfile", "", "--daemonize", "no"}
	if opt.Persist {
		s.args = append(s.args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		s.args = append(s.args, "--appendonly", "no")
	}
	s.URL = "redis://" + s.Addr
	if opt.Password != "" {
		s.args = append(s.args, "--requirepass", opt.Password)
		s.URL = "redis://:" + opt.Password + "@" + s.Addr
	}
	s.args = append(s.args, opt.Args...)
	s.args = append([]string{bin}, s.args...)
	return s, s.start()
}

// Restart starts the server again after Kill, on the same port and directory.
func (s *Server) Restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	cmd := exec.Command(s.args[0], s.args[1:]...)
	s.log = new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	if err := s.waitReady(done); err != nil {
		s.Kill()
		return fmt.Errorf("redis-server %s: %w\n%s", s.Addr, err, s.Log())
	}
	return nil
}

// Exited is closed when the server's process has exited (after Kill, or by itself).
func (s *Server) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// PID is the running server's process id, for reading its CPU time in /proc.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

// Log returns what the server printed, once it has exited.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return s.log.String()
	default:
		return "(still running)"
	}
}

// waitReady polls the port until the server answers PING (NOAUTH counts: it is up).
func (s *Server) waitReady(done <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if ping(s.Addr) {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("exited before answering PING")
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to PING within %v", startTimeout)
		}
	}
}

func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && (strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH"))
}

// Kill stops the server with SIGKILL and waits for it to exit; nothing is saved but what
// the append-only file already holds. Killing a stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT) // a paused process must be able to die
	_ = cmd.Process.Kill()
	<-done
}

// Pause stops the process (SIGSTOP): connections stay open and nothing answers, as with a
// server that hangs. Resume continues it; cleanup resumes it too.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("signal redis-server: %v", err)
	}
}

// freePort asks the kernel for a free loopback port. Another process could take it before
// redis-server binds it; then the start fails saying so, which on a test machine is rare.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for redis-server: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
