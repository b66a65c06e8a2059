package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/internal/repotest"
)

// TestSigkillOnRedisLosesNothing kills the echo bot with SIGKILL in the middle of a load and
// starts it again on the same Redis, in polling mode: no message is lost, none is applied
// twice, and every user's counter runs 1, 2, 3 … across the kill. A reply may arrive twice
// only when it was on its way at the kill (its outbox entry not yet acknowledged): the same
// text again, and at most as many as the updates the poller holds in flight (100).
func TestSigkillOnRedisLosesNothing(t *testing.T) {
	bin := repotest.Bot(t)
	srv := redistest.Start(t, redistest.Options{})
	const token = "78:durable-token"
	const users, perUser = 200, 20
	emu, err := emulator.New(emulator.Config{Token: token, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := func() (*exec.Cmd, *strings.Builder) {
		cmd := exec.CommandContext(ctx, bin, "-app", "echo", "-store", srv.URL, "-listen", "127.0.0.1:0",
			"-flood-rate", "0", "-rate-global", "0", "-rate-chat", "0", "-rate-group", "0")
		cmd.Env = append(os.Environ(), "TELEGRAM_API_URL="+emu.URL(), "TELEGRAM_BOT_TOKEN="+token)
		var logs strings.Builder
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &logs
	}

	first, _ := start()
	// order[chat] lists the user's message ids in the order sent: the k-th must be "#k".
	order := map[int64][]int64{}
	var last int64
	for i := range perUser {
		for u := range users {
			p, err := emu.SendText(int64(9000+u), fmt.Sprint("m", i))
			if err != nil {
				t.Fatal(err)
			}
			order[p.ChatID] = append(order[p.ChatID], p.MessageID)
			last = p.UpdateID
		}
	}
	if _, err := emu.WaitSent(ctx, users*perUser/4); err != nil {
		t.Fatal(err)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	byFirst := len(emu.Sent())
	t.Logf("the first process sent %d of %d replies before SIGKILL", byFirst, users*perUser)
	if byFirst >= users*perUser {
		t.Logf("the first process finished everything before the kill; the test proves less")
	}

	second, secondLogs := start()
	defer func() {
		second.Process.Signal(syscall.SIGTERM)
		second.Wait()
	}()
	if err := emu.WaitConfirmed(ctx, last); err != nil {
		t.Fatalf("%v\nsecond process:\n%s", err, secondLogs)
	}

	replies := map[[2]int64][]string{}
	for _, s := range emu.Sent() {
		replies[[2]int64{s.ChatID, s.ReplyTo}] = append(replies[[2]int64{s.ChatID, s.ReplyTo}], s.Text)
	}
	lost, twice, dupes := 0, 0, 0
	for chat, ids := range order {
		for k, id := range ids {
			texts := replies[[2]int64{chat, id}]
			want := "#" + strconv.Itoa(k+1) + " m" + strconv.Itoa(k)
			switch {
			case len(texts) == 0:
				lost++
				t.Errorf("chat %d: message %d (#%d) never answered", chat, id, k+1)
				continue
			case texts[0] != want:
				t.Errorf("chat %d: message %d answered %q, want %q: the counter is not continuous", chat, id, texts[0], want)
			}
			for _, again := range texts[1:] {
				dupes++
				if again != texts[0] {
					twice++
					t.Errorf("chat %d: message %d answered %q, then %q: applied twice", chat, id, texts[0], again)
				}
			}
		}
	}
	t.Logf("lost %d, applied twice %d, duplicate replies (sent again from the outbox) %d", lost, twice, dupes)
	if dupes > 100 {
		t.Errorf("%d duplicate replies, more than the 100 updates that can be in flight at a kill", dupes)
	}
}
