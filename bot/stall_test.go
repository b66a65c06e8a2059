package bot_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/emulator"
)

// slowChats is an emulator holding every chat to one message a second, answering 429 and
// retry_after past it, as Telegram does.
func slowChats(t *testing.T) *emulator.Server {
	t.Helper()
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet(), Faults: emulator.Faults{
		EnforceLimits: true, Limits: emulator.Limits{Global: 1e6, GlobalBurst: 1e6, Chat: 1, ChatBurst: 1, Group: 1, GroupBurst: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() }) // after the bot's cleanup, registered later
	return emu
}

// flood queues backlog messages from the stuck user, then one from each of others users
// (chats 100 on).
func flood(t *testing.T, emu *emulator.Server, stuck int64, backlog, others int) {
	t.Helper()
	for i := range backlog {
		if _, err := emu.SendText(stuck, fmt.Sprint("flood ", i)); err != nil {
			t.Fatal(err)
		}
	}
	for u := range int64(others) {
		if _, err := emu.SendText(100+u, "hi"); err != nil {
			t.Fatal(err)
		}
	}
}

// othersFirst waits until each of others users (chats 100 on) got a reply and fails t if by
// then the stuck chat got backlog-100 of its replies or more: the batch window held them.
func othersFirst(t *testing.T, emu *emulator.Server, stuck int64, backlog, others int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	answered := map[int64]bool{}
	stuckReplies := 0
	for n := 1; len(answered) < others; n++ {
		sent, err := emu.WaitSent(ctx, n)
		if err != nil {
			t.Fatalf("%d of %d other users answered: %v", len(answered), others, err)
		}
		if s := sent[n-1]; s.ChatID == stuck {
			stuckReplies++
		} else {
			answered[s.ChatID] = true
		}
	}
	t.Logf("every other user answered after %d of the stuck user's %d replies", stuckReplies, backlog)
	if stuckReplies >= backlog-100 {
		t.Errorf("the others were answered only after %d of the stuck user's %d replies: the batch window held them", stuckReplies, backlog)
	}
}

// TestStuckChatDoesNotStallOthersInMemory is TestStuckChatDoesNotStallOthers on the memory
// store: one user's replies wait out retry_after for more updates than a getUpdates batch
// holds, and the other users are still answered long before the stuck user is, because an
// update is confirmed once its replies are queued.
func TestStuckChatDoesNotStallOthersInMemory(t *testing.T) {
	for _, webhook := range []bool{false, true} {
		t.Run(map[bool]string{true: "webhook", false: "polling"}[webhook], func(t *testing.T) {
			emu := slowChats(t)
			const stuck, backlog, others = 1, 150, 10
			flood(t, emu, stuck, backlog, others)
			startStoppable(t, emu, bot.Config{MaxUnsentPerChat: 1000, DrainTimeout: time.Second}, webhook)
			othersFirst(t, emu, stuck, backlog, others)
		})
	}
}

// TestUnsentRepliesBounded: past MaxUnsentPerChat replies queued for one chat, the memory
// store no longer confirms that chat's updates before their replies are sent: Telegram keeps
// them, and a crash loses at most the bound.
func TestUnsentRepliesBounded(t *testing.T) {
	emu := slowChats(t)
	const stuck, backlog, bound = 1, 150, 2
	for i := range backlog {
		if _, err := emu.SendText(stuck, fmt.Sprint("flood ", i)); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := startStoppable(t, emu, bot.Config{MaxUnsentPerChat: bound, DrainTimeout: time.Second}, false)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Three replies take two seconds at one a second: by then the first batch of 100 is
	// long handled and its replies queued.
	if _, err := emu.WaitSent(ctx, 3); err != nil {
		t.Fatal(err)
	}
	inflight := b.Snapshot().Intake.InFlight
	pending := int(emu.WebhookInfo().PendingUpdateCount)
	sent := len(emu.Sent())
	// Finished early: at most the bound (and the update that reached it) ahead of the
	// replies sent; the rest of the batch waits for its replies, unconfirmed.
	if early := 100 - inflight - sent; early > bound+1 {
		t.Errorf("%d of the batch's 100 updates finished with %d replies sent, want at most %d ahead of them", 100-inflight, sent, bound+1)
	}
	if confirmed := backlog - pending; confirmed > sent+bound+1 {
		t.Errorf("%d of %d updates confirmed with %d replies sent, want at most %d ahead of them", confirmed, backlog, sent, bound+1)
	}
	t.Logf("%d of the batch in flight, %d of %d updates unconfirmed after %d replies", inflight, pending, backlog, sent)
}
