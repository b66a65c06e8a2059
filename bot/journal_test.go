package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/examples/echo"
	"github.com/troupebot/troupe/internal/logtest"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
	"github.com/troupebot/troupe/redisstore/actorstore"
)

// journaled runs app on a Redis store and journal at url, in webhook mode (emu posting to
// it) or polling; it returns the bot, its journal and a stop that returns once the bot has.
func journaled[S any](t *testing.T, emu *emulator.Server, url string, jcfg redisstore.JournalConfig, app bot.App[S], log *slog.Logger, webhook bool, tweak ...func(*bot.Config)) (*bot.Bot, *redisstore.Journal, func()) {
	t.Helper()
	rs, err := redisstore.Open(context.Background(), redisstore.Config[S]{URL: url, Codec: app.Codec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	j := rs.Journal(jcfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := bot.Config{Token: token, APIURL: emu.URL(), Logger: log, PollTimeout: time.Second, DrainTimeout: 3 * time.Second, Journal: actorstore.NewJournal(j)}
	if webhook {
		cfg.Webhook, cfg.WebhookURL = true, "http://"+ln.Addr().String()+"/hook"
	}
	for _, f := range tweak {
		f(&cfg)
	}
	b, err := bot.NewDurable(cfg, app, actorstore.New(rs))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if webhook {
		mux.Handle("/hook", b.WebhookHandler())
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- b.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-ran; err != nil {
				t.Errorf("Run: %v", err)
			}
			srv.Close()
		})
	}
	t.Cleanup(stop)
	return b, j, stop
}

// bothModes runs f as a webhook subtest and a polling one.
func bothModes(t *testing.T, f func(t *testing.T, webhook bool)) {
	for _, webhook := range []bool{true, false} {
		t.Run(map[bool]string{true: "webhook", false: "polling"}[webhook], func(t *testing.T) { f(t, webhook) })
	}
}

// journalEmpty fails unless j holds no unfinished update: what a stopped bot that finished
// everything leaves.
func journalEmpty(t *testing.T, j *redisstore.Journal) {
	t.Helper()
	if n, err := j.Len(context.Background()); err != nil || n != 0 {
		t.Errorf("%d updates left in the journal (%v), want none", n, err)
	}
}

// fetchUpdates takes the emulator's queued updates as they are on the wire, and confirms
// them: what a process that journaled them and died would have left.
func fetchUpdates(t *testing.T, emu *emulator.Server) []json.RawMessage {
	t.Helper()
	call := func(body string) []json.RawMessage {
		resp, err := http.Post(emu.URL()+"/bot"+token+"/getUpdates", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			OK     bool              `json:"ok"`
			Result []json.RawMessage `json:"result"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.OK {
			t.Fatalf("getUpdates: ok %v, %v", out.OK, err)
		}
		return out.Result
	}
	ups := call(`{"timeout":0}`)
	var last struct {
		ID int64 `json:"update_id"`
	}
	if err := json.Unmarshal(ups[len(ups)-1], &last); err != nil {
		t.Fatal(err)
	}
	call(fmt.Sprintf(`{"timeout":0,"offset":%d}`, last.ID+1))
	return ups
}

// waitReplies waits for n replies and returns each chat's, in order.
func waitReplies(t *testing.T, emu *emulator.Server, n int) map[int64][]emulator.Sent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sent, err := emu.WaitSent(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return repliesByChat(sent)
}

// TestJournalReplayedFirst: updates journaled and not finished by a process that died are
// answered by the next one on start, each user's in order, before an update that arrived
// after them; the journal is empty once they are finished.
func TestJournalReplayedFirst(t *testing.T) {
	bothModes(t, replayedFirst)
}

func replayedFirst(t *testing.T, webhook bool) {
	srv := redistest.Start(t, redistest.Options{})
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	for i := range 3 {
		for u := range int64(4) {
			if _, err := emu.SendText(7000+u, fmt.Sprint("old ", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	j, err := redisstore.OpenJournal(context.Background(), redisstore.JournalConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var items []intake.Journaled
	for _, raw := range fetchUpdates(t, emu) {
		u, err := intake.DecodeUpdate(raw)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, intake.Journaled{UpdateID: u.UpdateId, Key: u.Message.From.Id, Raw: raw})
	}
	if err := actorstore.NewJournal(j).Append(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	// Queued before the bot starts: they must wait for the journal's.
	for u := range int64(4) {
		if _, err := emu.SendText(7000+u, "new"); err != nil {
			t.Fatal(err)
		}
	}

	_, _, stop := journaled(t, emu, srv.URL, redisstore.JournalConfig{}, echo.New(echo.Options{}), quiet(), webhook)
	replies := waitReplies(t, emu, 16)
	for u := range int64(4) {
		var got []string
		for _, r := range replies[7000+u] {
			got = append(got, r.Text)
		}
		want := []string{"#1 old 0", "#2 old 1", "#3 old 2", "#4 new"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("user %d: replies %q, want %q", 7000+u, got, want)
		}
	}
	// A stopped bot has finished in the journal every update it finished.
	stop()
	journalEmpty(t, j)
}

// TestJournalFullIsBackpressure: while the journal is full the webhook answers 503 and
// takes nothing, the poller holds its batch unconfirmed, fetches no more and makes the bot
// not ready; once an update finishes there is room, and the refused update is taken and
// answered.
func TestJournalFullIsBackpressure(t *testing.T) {
	bothModes(t, journalFull)
}

func journalFull(t *testing.T, webhook bool) {
	srv := redistest.Start(t, redistest.Options{})
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	release := make(chan struct{})
	var released sync.Once
	free := func() { released.Do(func() { close(release) }) }
	app := echo.New(echo.Options{})
	inner := app.Logic
	app.Logic = bot.LogicFunc[int64](func(n int64, u *bot.Update) (int64, []bot.Action) {
		if u.Message != nil && u.Message.Text == "hold" {
			<-release
		}
		return inner.Handle(n, u)
	})
	var logs logtest.Buffer
	b, j, _ := journaled(t, emu, srv.URL, redisstore.JournalConfig{Cap: 1}, app, slog.New(slog.NewTextHandler(&logs, nil)), webhook)
	t.Cleanup(free) // before the bot stops, which waits for the held update
	hold, err := emu.SendText(1, "hold")
	if err != nil {
		t.Fatal(err)
	}
	waitConfirmed(t, emu, hold.UpdateID) // journaled: the journal is full
	hi, err := emu.SendText(2, "hi")
	if err != nil {
		t.Fatal(err)
	}
	if webhook {
		logs.WaitFor(t, "reason=journal", 30*time.Second)
	} else {
		logs.WaitFor(t, "not fetching", 30*time.Second)
		if b.Ready() {
			t.Error("ready while the journal cannot take the polled batch")
		}
		if got := emu.WebhookInfo().PendingUpdateCount; got != 1 {
			t.Errorf("Telegram holds %d unconfirmed updates, want the 1 refused", got)
		}
	}
	if n, err := j.Len(context.Background()); err != nil || n != 1 {
		t.Errorf("journal holds %d updates (%v) while full, want the 1 held", n, err)
	}
	if js := b.Snapshot().Journal; !js.On || js.Len != 1 || js.Cap != 1 || js.Refused == 0 || js.Err != "" {
		t.Errorf("snapshot's journal %+v, want 1 of 1 and refusals", js)
	}
	if st := b.Status(); !strings.Contains(st, "journal: 1 of 1 updates") {
		t.Errorf("/status has no journal line of 1 of 1:\n%s", st)
	}
	if sent := emu.Sent(); len(sent) != 0 {
		t.Errorf("sent %v while the journal was full, want nothing yet", sent)
	}
	free()
	waitConfirmed(t, emu, hi.UpdateID)
	replies := waitReplies(t, emu, 2)
	if r := replies[2]; len(r) != 1 || r[0].Text != "#1 hi" {
		t.Errorf("user 2 got %v after the journal had room, want #1 hi", r)
	}
	if got := b.Snapshot().Intake; webhook && got.Refused == 0 {
		t.Errorf("intake %+v counts no refusal", got)
	}
}

// TestStuckChatDoesNotStallOthers polls with a journal while one user's replies wait out
// retry_after (Telegram's one message a second per chat, enforced by the emulator) for
// more updates than a getUpdates batch holds: the other users' updates are still fetched
// and answered, long before the stuck user's are.
func TestStuckChatDoesNotStallOthers(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	emu := slowChats(t)
	const stuck, backlog, others = 1, 150, 10
	flood(t, emu, stuck, backlog, others)
	journaled(t, emu, srv.URL, redisstore.JournalConfig{}, echo.New(echo.Options{}), quiet(), false)
	othersFirst(t, emu, stuck, backlog, others)
}

// TestSkippedUpdatesHoldNothingBack: on the durable store an update answered without a
// commit (a flooding user's, skipped; a crashed one, apologised for) does not hold back the
// user's next update, though its own finish in the journal comes only after its answer is
// sent: the next commit takes it out of the journal first. None is "not kept" (which would
// make intake replay the journal), and each user's replies keep their order.
func TestSkippedUpdatesHoldNothingBack(t *testing.T) {
	bothModes(t, skippedHoldNothing)
}

func skippedHoldNothing(t *testing.T, webhook bool) {
	srv := redistest.Start(t, redistest.Options{})
	// Slow sends: an apology's finish reaches the journal well after the user's next
	// update is handled.
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet(), Faults: emulator.Faults{Latency: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	const flooder, crasher = 9100, 9200
	b, j, stop := journaled(t, emu, srv.URL, redisstore.JournalConfig{}, echo.New(echo.Options{Chaos: true}), quiet(), webhook, func(c *bot.Config) {
		// Two messages get through, the third is told to slow down, the rest are skipped;
		// the bucket refills only after the test.
		c.Flood = actors.FloodLimit{Burst: 2, Rate: 0.001}
	})
	for _, text := range []string{"a", "b", "c", "d", "e", "f"} {
		if _, err := emu.SendText(flooder, text); err != nil {
			t.Fatal(err)
		}
	}
	for _, text := range []string{"panic", "x"} { // within the flood burst
		if _, err := emu.SendText(crasher, text); err != nil {
			t.Fatal(err)
		}
	}
	replies := waitReplies(t, emu, 3+2)
	var got []string
	for _, r := range replies[flooder] {
		got = append(got, r.Text)
	}
	if len(got) != 3 || got[0] != "#1 a" || got[1] != "#2 b" || !strings.Contains(got[2], "faster") {
		t.Errorf("flooder's replies %q, want #1 a, #2 b, then the notice", got)
	}
	got = got[:0]
	for _, r := range replies[crasher] {
		got = append(got, r.Text)
	}
	if len(got) != 2 || !strings.Contains(got[0], "Sorry") || got[1] != "#1 x" {
		t.Errorf("crasher's replies %q, want an apology, then #1 x", got)
	}
	stop()
	if n := b.Snapshot().Runtime.NotKept; n != 0 {
		t.Errorf("%d updates not kept, want 0: an update answered without a commit held back the next", n)
	}
	journalEmpty(t, j)
}

// TestJournalSweepTakesOverOrphans: an update another process journaled and left
// unfinished after this one had replayed the journal at its start (the old process of a
// redeploy, killed during the overlap) is handed over by the next sweep and answered, in
// both modes.
func TestJournalSweepTakesOverOrphans(t *testing.T) {
	bothModes(t, sweepOrphans)
}

func sweepOrphans(t *testing.T, webhook bool) {
	srv := redistest.Start(t, redistest.Options{})
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	const user = 9300
	_, j, stop := journaled(t, emu, srv.URL, redisstore.JournalConfig{}, echo.New(echo.Options{}), quiet(), webhook, func(c *bot.Config) {
		c.JournalSweep = 50 * time.Millisecond
	})
	if _, err := emu.SendText(user, "hi"); err != nil {
		t.Fatal(err)
	}
	waitReplies(t, emu, 1) // running, its start's replay long done
	// What the other process journaled: an update of the same user, never handed to this
	// one's runtime.
	raw := fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":77,"date":1764000000,"chat":{"id":%d,"type":"private","first_name":"U"},"from":{"id":%d,"is_bot":false,"first_name":"U"},"text":"left behind"}}`, 1_000_000, user, user)
	if err := actorstore.NewJournal(j).Append(context.Background(), []intake.Journaled{{UpdateID: 1_000_000, Key: user, Raw: raw}}); err != nil {
		t.Fatal(err)
	}
	replies := waitReplies(t, emu, 2)
	if got := replies[user]; len(got) != 2 || got[1].Text != "#2 left behind" {
		t.Fatalf("replies %+v, want #1 hi, then #2 left behind", got)
	}
	stop()
	journalEmpty(t, j)
}
