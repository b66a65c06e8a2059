package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/troupebot/troupe/emulator"
)

// TestSigtermLosesNothing stops a bot process with SIGTERM in the middle of a load and
// starts a new one against the same Bot API: every message is answered exactly once, by
// one process or the other; none is lost and none is applied twice.
func TestSigtermLosesNothing(t *testing.T) {
	bin := buildBot(t)
	const token = "77:shutdown-token"
	const users, perUser = 40, 25
	emu, err := emulator.New(emulator.Config{Token: token, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := func() (*exec.Cmd, *strings.Builder) {
		cmd := exec.CommandContext(ctx, bin, "-listen", "127.0.0.1:0", "-flood-rate", "0", "-rate-global", "0", "-rate-chat", "0", "-rate-group", "0")
		cmd.Env = append(os.Environ(), "TELEGRAM_API_URL="+emu.URL(), "TELEGRAM_BOT_TOKEN="+token)
		var logs strings.Builder
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &logs
	}

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
