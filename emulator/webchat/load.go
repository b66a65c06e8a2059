package webchat

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupebot/troupe/emulator"
)

// loadUserBase is where the load run's user ids start: far above the page's users, so a run
// never writes in their chats. Each run takes fresh ids, so its actors are spawned anew.
const loadUserBase = 1_000_000

// loadReplyWait is how long a run's user waits for the answer to one message before it
// counts the message lost and sends its next.
const loadReplyWait = 10 * time.Second

// loadProgressEvery is how often a running load run reports to the pages.
const loadProgressEvery = 250 * time.Millisecond

// loadReport is a load run's state as the page shows it.
type loadReport struct {
	Runs     int     `json:"runs"` // runs started since the server started
	Running  bool    `json:"running"`
	Users    int     `json:"users"`
	Messages int     `json:"messages"` // per user
	Sent     int64   `json:"sent"`
	Answered int64   `json:"answered"` // replies naming the message they answer
	Wrong    int64   `json:"wrong"`    // replies naming another message, or extra replies
	Lost     int64   `json:"lost"`     // messages not answered within loadReplyWait
	Elapsed  float64 `json:"elapsed_s"`
	PerSec   float64 `json:"per_sec"` // answered per second
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
}

type loadState struct {
	mu  sync.Mutex
	rep loadReport
}

func (l *loadState) report() loadReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rep
}

// loadHandler starts a run; one at a time.
func (s *Server) loadHandler(w http.ResponseWriter, r *http.Request) {
	s.load.mu.Lock()
	if s.load.rep.Running {
		s.load.mu.Unlock()
		writeError(w, http.StatusConflict, "A load test is running already; its figures are on the page.")
		return
	}
	runs := s.load.rep.Runs + 1
	s.load.rep = loadReport{Runs: runs, Running: true, Users: s.cfg.LoadUsers, Messages: s.cfg.LoadMessages}
	rep := s.load.rep
	s.load.mu.Unlock()
	s.hub.publish("load", rep)
	s.wg.Go(func() { s.runLoad(s.ctx, runs) })
	writeJSON(w, http.StatusAccepted, rep)
}

// loadRun is one run's counters, updated by its users and by the emulator's subscriber.
type loadRun struct {
	users, messages int
	base            int64 // user i is base+i
	replies         []chan emulator.Sent
	sent, answered  atomic.Int64
	wrong, lost     atomic.Int64
	latMu           sync.Mutex
	latencies       []time.Duration
	start           time.Time
}

// runLoad runs a closed loop: each user sends its next message once the previous one is
// answered (or given up on), and every reply is checked to name its message.
func (s *Server) runLoad(ctx context.Context, run int) {
	lr := &loadRun{users: s.cfg.LoadUsers, messages: s.cfg.LoadMessages, base: loadUserBase + int64(run-1)*int64(s.cfg.LoadUsers)}
	lr.replies = make([]chan emulator.Sent, lr.users)
	for i := range lr.replies {
		// Room for every reply a user could get, so the subscriber never blocks the bot.
		lr.replies[i] = make(chan emulator.Sent, lr.messages+1)
	}
	unsub := s.emu.Subscribe(func(m emulator.Sent) {
		i := m.ChatID - lr.base - 1
		if i < 0 || i >= int64(lr.users) || (m.Method != "sendMessage" && m.Method != "sendPhoto") {
			return
		}
		select {
		case lr.replies[i] <- m:
		default:
			lr.wrong.Add(1) // more replies than messages
		}
	})
	defer unsub()
	lr.start = time.Now()
	var users sync.WaitGroup
	for i := range lr.users {
		users.Go(func() { lr.user(ctx, s.emu, i) })
	}
	done := make(chan struct{})
	go func() { users.Wait(); close(done) }()
	t := time.NewTicker(loadProgressEvery)
	defer t.Stop()
	for running := true; running; {
		select {
		case <-t.C:
		case <-done:
			running = false
		}
		rep := lr.report(run, running)
		s.load.mu.Lock()
		s.load.rep = rep
		s.load.mu.Unlock()
		s.hub.publish("load", rep)
	}
	if rep := s.load.report(); rep.Wrong > 0 || rep.Lost > 0 {
		s.log.Warn("load run audit failed", slog.Int("run", run), slog.Int64("wrong", rep.Wrong), slog.Int64("lost", rep.Lost))
	}
}

func (lr *loadRun) user(ctx context.Context, emu *emulator.Server, i int) {
	id := lr.base + int64(i) + 1
	timer := time.NewTimer(loadReplyWait)
	defer timer.Stop()
	for n := 1; n <= lr.messages; n++ {
		sentAt := time.Now()
		p, err := emu.SendText(id, strconv.Itoa(n))
		if err != nil {
			lr.lost.Add(int64(lr.messages - n + 1))
			return
		}
		lr.sent.Add(1)
		timer.Reset(loadReplyWait)
		select {
		case m := <-lr.replies[i]:
			if m.ReplyTo != p.MessageID {
				lr.wrong.Add(1)
				continue
			}
			lr.answered.Add(1)
			lr.latMu.Lock()
			lr.latencies = append(lr.latencies, time.Since(sentAt))
			lr.latMu.Unlock()
		case <-timer.C:
			lr.lost.Add(1)
		case <-ctx.Done():
			return
		}
	}
}

func (lr *loadRun) report(run int, running bool) loadReport {
	elapsed := time.Since(lr.start)
	rep := loadReport{
		Runs: run, Running: running, Users: lr.users, Messages: lr.messages,
		Sent: lr.sent.Load(), Answered: lr.answered.Load(), Wrong: lr.wrong.Load(), Lost: lr.lost.Load(),
		Elapsed: elapsed.Seconds(),
	}
	if s := elapsed.Seconds(); s > 0 {
		rep.PerSec = float64(rep.Answered) / s
	}
	lr.latMu.Lock()
	lat := slices.Clone(lr.latencies)
	lr.latMu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		rep.P50 = ms(lat[len(lat)/2])
		rep.P99 = ms(lat[min(len(lat)-1, len(lat)*99/100)])
	}
	return rep
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
