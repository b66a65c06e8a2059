package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/internal/repotest"
)

// durableLoad is users × perUser echo messages sent at once, and what the audit needs.
type durableLoad struct {
	emu *emulator.Server
	// order[chat] lists the user's message ids in the order sent: the k-th must be "#k".
	order          map[int64][]int64
	updates        map[[2]int64]int64 // (chat, message) → update id, to name what is missing
	users, perUser int
}

// sendLoad sends message i of every user before message i+1 of any, so that every user is
// under way (and resident) early in the run.
func sendLoad(tb testing.TB, emu *emulator.Server, users, perUser int) *durableLoad {
	tb.Helper()
	l := &durableLoad{emu: emu, order: map[int64][]int64{}, updates: map[[2]int64]int64{}, users: users, perUser: perUser}
	for i := range perUser {
		for u := range users {
			p, err := emu.SendText(int64(9000+u), fmt.Sprint("m", i))
			if err != nil {
				tb.Fatal(err)
			}
			l.order[p.ChatID] = append(l.order[p.ChatID], p.MessageID)
			l.updates[[2]int64{p.ChatID, p.MessageID}] = p.UpdateID
		}
	}
	return l
}

func replyKey(s emulator.Sent) [2]int64 { return [2]int64{s.ChatID, s.ReplyTo} }

// waitAnswered waits until every message of the load has a reply; logs are shown on failure.
func (l *durableLoad) waitAnswered(ctx context.Context, tb testing.TB, logs fmt.Stringer) {
	tb.Helper()
	total := l.users * l.perUser
	for n := total; ; {
		sent, err := l.emu.WaitSent(ctx, n)
		if err != nil {
			tb.Fatalf("%v (%d of %d messages answered; updates unanswered: %v)\nbot:\n%s", err, l.answered(), total, l.unanswered(10), logs)
		}
		answered := map[[2]int64]bool{}
		for _, s := range sent {
			answered[replyKey(s)] = true
		}
		if len(answered) >= total {
			return
		}
		n = len(sent) + total - len(answered)
	}
}

// unanswered lists the ids of up to n updates not answered yet.
func (l *durableLoad) unanswered(n int) []int64 {
	answered := map[[2]int64]bool{}
	for _, s := range l.emu.Sent() {
		answered[replyKey(s)] = true
	}
	var ids []int64
	for k, id := range l.updates {
		if !answered[k] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids[:min(n, len(ids))]
}

func (l *durableLoad) answered() int {
	answered := map[[2]int64]bool{}
	for _, s := range l.emu.Sent() {
		answered[replyKey(s)] = true
	}
	return len(answered)
}

// audit checks every reply: none lost, none applied twice, every counter 1, 2, 3 … It
// returns the duplicate replies (the same text again, sent again from the outbox).
func (l *durableLoad) audit(tb testing.TB) (dupes int) {
	tb.Helper()
	replies := map[[2]int64][]string{}
	for _, s := range l.emu.Sent() {
		replies[replyKey(s)] = append(replies[replyKey(s)], s.Text)
	}
	lost, twice := 0, 0
	for chat, ids := range l.order {
		for k, id := range ids {
			texts := replies[[2]int64{chat, id}]
			want := "#" + strconv.Itoa(k+1) + " m" + strconv.Itoa(k)
			switch {
			case len(texts) == 0:
				lost++
				tb.Errorf("chat %d: message %d (#%d) never answered", chat, id, k+1)
				continue
			case texts[0] != want:
				tb.Errorf("chat %d: message %d answered %q, want %q: the counter is not continuous", chat, id, texts[0], want)
			}
			for _, again := range texts[1:] {
				dupes++
				if again != texts[0] {
					twice++
					tb.Errorf("chat %d: message %d answered %q, then %q: applied twice", chat, id, texts[0], again)
				}
			}
		}
	}
	tb.Logf("lost %d, applied twice %d, duplicate replies (sent again from the outbox) %d", lost, twice, dupes)
	return dupes
}

// durableBot is the bot binary on Redis, its ops port known.
type durableBot struct {
	cmd    *exec.Cmd
	logs   *strings.Builder // read only once exited
	addr   string
	exited chan struct{}
}

// modeFlags are the flags of a mode, listening on addr.
func modeFlags(mode, addr string) []string {
	flags := []string{"-listen", addr}
	if mode == "webhook" {
		flags = append(flags, "-mode", "webhook", "-webhook-url", "http://"+addr+"/webhook")
	}
	return flags
}

// startDurable starts the echo bot on store in mode, with user 1 an admin, and waits until
// it is ready.
func startDurable(ctx context.Context, tb testing.TB, bin string, emu *emulator.Server, store, mode string) *durableBot {
	tb.Helper()
	return startDurableAt(ctx, tb, bin, emu.URL(), emu.Token(), store, mode)
}

// startDurableAt is startDurable with the Bot API at apiURL.
func startDurableAt(ctx context.Context, tb testing.TB, bin, apiURL, token, store, mode string) *durableBot {
	tb.Helper()
	b := &durableBot{addr: repotest.FreeAddr(tb), exited: make(chan struct{})}
	args := append([]string{"-app", "echo", "-store", store, "-admins", "1"}, modeFlags(mode, b.addr)...)
	b.cmd, b.logs = startUnpaced(ctx, tb, bin, apiURL, token, args...)
	go func() { _ = b.cmd.Wait(); close(b.exited) }()
	tb.Cleanup(func() { b.stop() })
	b.waitReady(tb, http.StatusOK)
	return b
}

// stop ends the bot with SIGTERM and waits for it; its logs may be read then.
func (b *durableBot) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	<-b.exited
}

// String is the bot's logs once it exited, for failure messages.
func (b *durableBot) String() string {
	select {
	case <-b.exited:
		return b.logs.String()
	default:
		return "(still running)"
	}
}

// stopped shows the bot's logs in a failure message, stopping it to read them.
type stopped struct{ b *durableBot }

func (s stopped) String() string {
	s.b.stop()
	return s.b.logs.String()
}

func (b *durableBot) get(tb testing.TB, path string) (int, string) {
	tb.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + b.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// poll asks until ok says yes, failing tb after a deadline.
func (b *durableBot) poll(tb testing.TB, what string, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-b.exited:
			tb.Fatalf("the bot exited while waiting until %s:\n%s", what, b)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("not %s within 30s", what)
		}
	}
}

// waitReady waits until /readyz answers code.
func (b *durableBot) waitReady(tb testing.TB, code int) {
	tb.Helper()
	b.poll(tb, fmt.Sprintf("/readyz %d", code), func() bool { got, _ := b.get(tb, "/readyz"); return got == code })
}

// metric reads one unlabelled metric from /metrics; -1 when it is not there.
func (b *durableBot) metric(tb testing.TB, name string) float64 {
	tb.Helper()
	_, body := b.get(tb, "/metrics")
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// fault is one way Redis fails mid-load, and its end.
type fault struct {
	name    string
	persist bool
	modes   []string
	// inject breaks Redis once a quarter of the replies are out, and repairs it.
	inject func(t *testing.T, f *faultRun)
	// logs looks at the bot's logs once it has stopped.
	logs func(t *testing.T, f *faultRun, logs string)
}

type faultRun struct {
	mode string
	srv  *redistest.Server
	rdb  *redis.Client
	bot  *durableBot
	emu  *emulator.Server
	ctx  context.Context
}

// TestRedisFailsMidLoad breaks Redis in the middle of a load on the real bot binary, in the
// ways the issue lists, and audits the outcome as TestSigkillOnRedisLosesNothing does: the
// bot stays up, /readyz answers 503 while Redis cannot take updates, and once it can nothing
// is lost, nothing applied twice, every counter runs on; the bot's goroutines come back down.
func TestRedisFailsMidLoad(t *testing.T) {
	bin := repotest.Bot(t)
	both := []string{"polling", "webhook"}
	faults := []fault{
		{name: "killed and restarted", persist: true, modes: both, inject: func(t *testing.T, f *faultRun) {
			f.srv.Kill()
			f.bot.waitReady(t, http.StatusServiceUnavailable)
			f.srv.Restart() // the append-only file, fsynced on every write, has every commit
			f.bot.waitReady(t, http.StatusOK)
		}},
		{name: "paused", modes: both, inject: func(t *testing.T, f *faultRun) {
			f.srv.Pause()
			// Calls time out (2 s) rather than hang: the bot is not ready meanwhile.
			f.bot.waitReady(t, http.StatusServiceUnavailable)
			f.srv.Resume()
			f.bot.waitReady(t, http.StatusOK)
		}},
		{name: "full", modes: both, inject: func(t *testing.T, f *faultRun) {
			setMaxMemory(t, f, "1") // every write is refused: OOM
			f.bot.poll(t, "updates refused", func() bool {
				return f.bot.metric(t, "troupe_store_not_kept_total")+f.bot.metric(t, "troupe_journal_refused_total") > 0
			})
			// The poller holds the batch it cannot journal; the webhook answers Telegram 503.
			// Both say so to /readyz.
			f.bot.waitReady(t, http.StatusServiceUnavailable)
			setMaxMemory(t, f, "0")
			f.bot.waitReady(t, http.StatusOK)
		}},
		{name: "flushed", modes: []string{"polling"}, inject: func(t *testing.T, f *faultRun) {
			if err := f.rdb.FlushAll(f.ctx).Err(); err != nil {
				t.Fatal(err)
			}
			f.bot.poll(t, "a vanished record counted", func() bool { return f.bot.metric(t, "troupe_store_records_vanished_total") > 0 })
		}, logs: func(t *testing.T, f *faultRun, logs string) {
			if n := strings.Count(logs, "user records vanished from the store"); n != 1 {
				t.Errorf("%d log lines about vanished records, want 1:\n%s", n, logs)
			}
		}},
	}
	for _, ft := range faults {
		for _, mode := range ft.modes {
			t.Run(ft.name+"/"+mode, func(t *testing.T) { faultMidLoad(t, bin, ft, mode) })
		}
	}
}

func setMaxMemory(t *testing.T, f *faultRun, v string) {
	t.Helper()
	if err := f.rdb.ConfigSet(f.ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.ConfigSet(f.ctx, "maxmemory", v).Err(); err != nil {
		t.Fatal(err)
	}
}

func faultMidLoad(t *testing.T, bin string, ft fault, mode string) {
	const users, perUser = 1000, 10
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := redistest.Start(t, redistest.Options{Persist: ft.persist})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	emu, err := emulator.New(emulator.Config{Token: "81:fault-token", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	b := startDurable(ctx, t, bin, emu, srv.URL, mode)
	before := b.metric(t, "go_goroutines")
	f := &faultRun{mode: mode, srv: srv, rdb: rdb, bot: b, emu: emu, ctx: ctx}

	l := sendLoad(t, emu, users, perUser)
	if _, err := emu.WaitSent(ctx, users*perUser/4); err != nil {
		t.Fatal(err)
	}
	at, during := l.answered(), b.metric(t, "go_goroutines")
	ft.inject(t, f)
	t.Logf("Redis %s after %d of %d messages were answered; %d when it was back", ft.name, at, users*perUser, l.answered())
	l.waitAnswered(ctx, t, stopped{b})
	l.audit(t)
	// Timeouts fired, connections were redialled: none of it may leave goroutines behind.
	// Under load the bot has its connections to the Bot API open, which stay open idle
	// afterwards: the count under load before the fault is the bar. Some settle a moment
	// after the last reply: wait for them.
	const slack = 20
	after := -1.0
	b.poll(t, fmt.Sprintf("goroutines back to %v + %d", during, slack), func() bool {
		after = b.metric(t, "go_goroutines")
		return after <= during+slack
	})
	t.Logf("goroutines: %v at rest, %v under load before the fault, %v after", before, during, after)
	select {
	case <-b.exited:
		t.Fatalf("the bot exited:\n%s", b)
	default:
	}
	b.stop()
	if ft.logs != nil {
		ft.logs(t, f, b.logs.String())
	}
}

// TestTwoProcessesOnOneRedis is a redeploy's overlap: a second bot process starts on the
// same Redis while the first serves the same users under load, then the first gets
// SIGTERM. Neither overwrites the other's commits: nothing lost, nothing applied twice,
// every counter continuous. In polling mode Telegram answers the older poller 409; in
// webhook mode the second registers its own URL and Telegram posts there from then on, while
// the first finishes what it took.
func TestTwoProcessesOnOneRedis(t *testing.T) {
	bin := repotest.Bot(t)
	for _, mode := range []string{"polling", "webhook"} {
		t.Run(mode, func(t *testing.T) {
			const users, perUser = 1000, 10
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			srv := redistest.Start(t, redistest.Options{})
			emu, err := emulator.New(emulator.Config{Token: "82:overlap-token", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer emu.Close()
			first := startDurable(ctx, t, bin, emu, srv.URL, mode)
			l := sendLoad(t, emu, users, perUser)
			if _, err := emu.WaitSent(ctx, users*perUser/4); err != nil {
				t.Fatal(err)
			}
			second := startDurable(ctx, t, bin, emu, srv.URL, mode)
			byFirst := l.answered()
			first.stop()
			t.Logf("%d of %d answered when the second process was ready, %d when the first had stopped", byFirst, users*perUser, l.answered())
			l.waitAnswered(ctx, t, stopped{second})
			l.audit(t)
			stale := second.metric(t, "troupe_store_stale_total")
			t.Logf("the second process's commits refused as stale: %v", stale)
		})
	}
}
