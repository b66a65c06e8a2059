package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/internal/repotest"
)

// TestSigtermLosesNothing stops a bot process with SIGTERM in the middle of a load and
// starts a new one against the same Bot API: every message is answered exactly once, by
// one process or the other; none is lost and none is applied twice.
func TestSigtermLosesNothing(t *testing.T) {
	bin := repotest.Bot(t)
	const token = "77:shutdown-token"
	const users, perUser = 40, 25
	emu, err := emulator.New(emulator.Config{Token: token, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := func() (*exec.Cmd, *strings.Builder) { return startUnpaced(ctx, t, bin, emu.URL(), token) }

	first, firstLogs := start()
	var last int64
	for i := range perUser {
		for u := range users {
			p, err := emu.SendText(int64(7000+u), fmt.Sprint("m", i))
			if err != nil {
				t.Fatal(err)
			}
			last = p.UpdateID
		}
	}
	// Stop it once it is well into the work, not done with it.
	if _, err := emu.WaitSent(ctx, users*perUser/4); err != nil {
		t.Fatal(err)
	}
	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first process: %v\n%s", err, firstLogs)
	}
	byFirst := len(emu.Sent())
	t.Logf("the first process answered %d of %d messages before it stopped", byFirst, users*perUser)
	if byFirst >= users*perUser {
		t.Logf("the first process finished everything before SIGTERM took effect; the test proves less")
	}
	if !strings.Contains(firstLogs.String(), "bot stopped cleanly") {
		t.Errorf("first process did not stop cleanly:\n%s", firstLogs)
	}

	second, secondLogs := start()
	defer func() {
		second.Process.Signal(syscall.SIGTERM)
		second.Wait()
	}()
	if err := emu.WaitConfirmed(ctx, last); err != nil {
		t.Fatalf("%v\nsecond process:\n%s", err, secondLogs)
	}
	// Confirmed once queued (the memory store): wait for the replies themselves.
	if _, err := emu.WaitSent(ctx, users*perUser); err != nil {
		t.Fatalf("%v\nsecond process:\n%s", err, secondLogs)
	}

	answered := map[[2]int64]int{}
	for _, s := range emu.Sent() {
		answered[[2]int64{s.ChatID, s.ReplyTo}]++
	}
	for key, n := range answered {
		if n != 1 {
			t.Errorf("message %d in chat %d answered %d times", key[1], key[0], n)
		}
	}
	if len(answered) != users*perUser {
		t.Errorf("%d messages answered, want %d (first process %d, second %d)", len(answered), users*perUser, byFirst, len(emu.Sent())-byFirst)
	}
}

// startUnpaced starts the bot binary against the Bot API at apiURL with no rate limits and
// no flood control (a load test's users write faster than people), logging into the
// returned builder.
func startUnpaced(ctx context.Context, tb testing.TB, bin, apiURL, token string, args ...string) (*exec.Cmd, *strings.Builder) {
	tb.Helper()
	args = append([]string{"-listen", "127.0.0.1:0", "-flood-rate", "0", "-rate-global", "0", "-rate-chat", "0", "-rate-group", "0"}, args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "TELEGRAM_API_URL="+apiURL, "TELEGRAM_BOT_TOKEN="+token)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	return cmd, &logs
}

// TestSandboxInterrupted ends the sandbox with a signal while its input is held open, as a
// person at a terminal (or a pipe that never closes) leaves it: it stops at once, saying
// what it was waiting for, and exits 0. The ":tap 1" line, refused at once for want of a
// keyboard, shows that the sandbox has finished the lines before it and waits for more.
func TestSandboxInterrupted(t *testing.T) {
	bin := repotest.Bot(t)
	// A third message waits out a restart delay of an hour: the bot is busy with it.
	stuck := []string{"-chaos", "-restart-backoff", "1h", "-restart-backoff-max", "1h"}
	tests := []struct {
		name        string
		sig         os.Signal
		args        []string
		input, seen string // seen: printed once the sandbox is where the signal should find it
		want        string
	}{
		{"SIGINT at the prompt", os.Interrupt, nil, "/help\n:tap 1\n", "sandbox: no keyboard to tap yet\n", "sandbox: interrupted while waiting for your input\n"},
		{"SIGTERM at the prompt", syscall.SIGTERM, nil, "/help\n:tap 1\n", "sandbox: no keyboard to tap yet\n", "sandbox: interrupted while waiting for your input\n"},
		{"SIGINT while the bot works", os.Interrupt, stuck, "panic\npanic\n5\n", "you: 5\n", "sandbox: interrupted while waiting for the bot to answer \"5\"\n"},
		{"SIGTERM while the bot works", syscall.SIGTERM, stuck, "panic\npanic\n5\n", "you: 5\n", "sandbox: interrupted while waiting for the bot to answer \"5\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0"}, tt.args...)...)
			cmd.Env = []string{"HOME=/nonexistent"} // no token: sandbox mode
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close() // only once the sandbox is gone: it must not need the EOF
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			out := watch(stdout)
			io.WriteString(stdin, tt.input)
			out.waitFor(t, cmd, tt.seen)
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			out.waitFor(t, cmd, tt.want)
			if err := waitExit(cmd); err != nil {
				t.Errorf("after %v: %v, want exit status 0\n%s", tt.sig, err, out)
			}
		})
	}
}

// TestSandboxCtrlCOnATerminal types Ctrl-C at the sandbox on a pseudo-terminal: the
// terminal, not the test, sends SIGINT to the sandbox, as it would for a person.
func TestSandboxCtrlCOnATerminal(t *testing.T) {
	bin := repotest.Bot(t)
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0")
	cmd.Env = []string{"HOME=/nonexistent", "TERM=dumb"}
	tty, err := pty.Start(cmd) // the sandbox's session and controlling terminal
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer tty.Close()
	out := watch(tty)
	out.waitFor(t, cmd, "Ctrl-C quits.")
	io.WriteString(tty, "/help\n:tap 1\n")
	out.waitFor(t, cmd, "sandbox: no keyboard to tap yet")
	io.WriteString(tty, "\x03") // Ctrl-C
	out.waitFor(t, cmd, "sandbox: interrupted while waiting for your input")
	if err := waitExit(cmd); err != nil {
		t.Errorf("after Ctrl-C: %v, want exit status 0\n%s", err, out)
	}
}

// exitWait bounds how long a test waits for the sandbox to print or to exit.
const exitWait = 15 * time.Second

// waitExit waits for cmd to exit, killing it after exitWait.
func waitExit(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(exitWait):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("still running after %v, killed", exitWait)
	}
}

// output is what a process has printed so far, read as it comes.
type output struct {
	mu      sync.Mutex
	text    strings.Builder
	ended   bool
	changed chan struct{} // closed, and replaced, whenever text grows or ends
}

func watch(r io.Reader) *output {
	o := &output{changed: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			o.mu.Lock()
			o.text.Write(buf[:n])
			o.ended = err != nil // EOF from a pipe, EIO from a terminal whose process left
			close(o.changed)
			o.changed = make(chan struct{})
			o.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return o
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.text.String()
}

// waitFor waits until the output holds s; it fails the test, killing cmd, when the output
// ends without it or exitWait passes.
func (o *output) waitFor(tb testing.TB, cmd *exec.Cmd, s string) {
	tb.Helper()
	deadline := time.NewTimer(exitWait)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		text, ended, changed := o.text.String(), o.ended, o.changed
		o.mu.Unlock()
		switch {
		case strings.Contains(text, s):
			return
		case ended:
			waitExit(cmd)
			tb.Fatalf("the output ended without %q:\n%s", s, text)
		}
		select {
		case <-changed:
		case <-deadline.C:
			cmd.Process.Kill()
			waitExit(cmd)
			tb.Fatalf("no %q within %v:\n%s", s, exitWait, text)
		}
	}
}
