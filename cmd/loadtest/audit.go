package main

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/troupebot/troupe/emulator"
)

// auditor checks every reply against the echo contract as the emulator accepts it
// (emulator.Config.OnSend), and keeps the figures of the report.
//
// Lock order: pressMu before a user's mu. OnSend runs under the emulator's own lock, so
// nothing here may wait for the emulator.
type auditor struct {
	start time.Time
	users []user
	lat   *latencies

	pressMu sync.Mutex
	presses map[string]*press // by callback query id

	photoChecks sync.WaitGroup
	closed      atomic.Bool

	// The driver's hooks, called with the user's mu held; they must not block.
	onAnswered func(u *user) // the step the user awaited was answered
	onKeyboard func(u *user) // a reply to /reset brought a button to press (u.keyboard)

	messagesSent, pressesSent atomic.Int64
	answered, pressesAnswered atomic.Int64 // first replies and first answers
	replies, duplicates       atomic.Int64
	outOfOrder, counterBreaks atomic.Int64
	unmatched, edits          atomic.Int64
	photos, badPhotos         atomic.Int64
	callbackAnswers, timedOut atomic.Int64
	lastAnswer                atomic.Int64 // ns since start of the newest first reply
}

func newAuditor(users int, seed uint64) *auditor {
	a := &auditor{
		users:      newUsers(users, seed),
		lat:        newLatencies(),
		presses:    make(map[string]*press),
		onAnswered: func(*user) {},
		onKeyboard: func(*user) {},
	}
	a.begin()
	return a
}

// begin starts the clock of the load phase: latencies, the time series and throughput are
// measured from here.
func (a *auditor) begin() { a.start = time.Now() }

// now is the time since the run started, on the monotonic clock.
func (a *auditor) now() int64 { return int64(time.Since(a.start)) }

func (a *auditor) user(chatID int64) *user {
	i := chatID - firstUser
	if i < 0 || i >= int64(len(a.users)) {
		return nil
	}
	return &a.users[i]
}

// sendMessage pushes u's next message, drawn from w, and records it. It returns the
// message's step number.
func (a *auditor) sendMessage(emu *emulator.Server, w *workload, u *user) (int32, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := w.next(&u.rng, u.hasNumber)
	msg := text(k, &u.rng)
	at := a.now()
	p, err := emu.SendText(u.id, msg)
	if err != nil {
		return 0, fmt.Errorf("push %q from user %d: %w", msg, u.id, err)
	}
	r := rec{msgID: p.MessageID, at: at, kind: k}
	if k.counted() {
		u.counted++
		r.k = u.counted
	}
	u.hasNumber = u.hasNumber || k == kindNumber
	u.seq++
	r.seq, u.awaiting = u.seq, true
	u.recs = append(u.recs, r)
	a.messagesSent.Add(1)
	return r.seq, nil
}

// pressButton presses b as u and records the press. It returns the press's step number.
func (a *auditor) pressButton(emu *emulator.Server, u *user, b button) (int32, error) {
	a.pressMu.Lock()
	defer a.pressMu.Unlock()
	at := a.now()
	p, err := emu.PressButton(u.id, u.id, b.msgID, b.data)
	if err != nil {
		return 0, fmt.Errorf("press %q on message %d as user %d: %w", b.data, b.msgID, u.id, err)
	}
	u.mu.Lock()
	u.seq++
	seq := u.seq
	u.awaiting = true
	u.mu.Unlock()
	a.presses[p.CallbackQueryID] = &press{user: u, at: at, seq: seq}
	a.pressesSent.Add(1)
	return seq, nil
}

// onSend audits one request the emulator accepted.
func (a *auditor) onSend(s emulator.Sent) {
	if a.closed.Load() {
		return
	}
	switch s.Method {
	case "sendMessage", "sendPhoto":
		a.reply(s)
	case "answerCallbackQuery":
		a.answer(s)
	case "editMessageText":
		a.edits.Add(1)
	}
}

func (a *auditor) reply(s emulator.Sent) {
	a.replies.Add(1)
	if s.Method == "sendPhoto" {
		a.photos.Add(1)
		photo := s.Photo
		a.photoChecks.Go(func() {
			if !isPNG(photo) {
				a.badPhotos.Add(1)
			}
		})
	}
	u := a.user(s.ChatID)
	if u == nil || s.ReplyTo == 0 {
		a.unmatched.Add(1)
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	i := u.find(s.ReplyTo)
	if i < 0 {
		a.unmatched.Add(1)
		return
	}
	r := &u.recs[i]
	if r.replies < 255 {
		r.replies++
	}
	if r.replies > 1 {
		a.duplicates.Add(1)
		return
	}
	at := int64(s.At.Sub(a.start))
	a.lat.record(time.Duration(at - r.at))
	r.latUS = int32(min(max(time.Duration(at-r.at).Microseconds(), 1), maxLatency.Microseconds()))
	a.lastAnswer.Store(at)
	a.answered.Add(1)
	if i < u.maxAnswered {
		a.outOfOrder.Add(1)
	} else {
		u.maxAnswered = i
	}
	if u.counterBreaks(r, s.Text) {
		a.counterBreaks.Add(1)
	}
	if r.kind == kindReset {
		if b, ok := pick(s); ok {
			u.keyboard = &b
			a.onKeyboard(u)
		}
	}
	if u.awaiting && r.seq == u.seq {
		u.awaiting = false
		a.onAnswered(u)
	}
}

func (a *auditor) answer(s emulator.Sent) {
	a.callbackAnswers.Add(1)
	a.pressMu.Lock()
	p := a.presses[s.CallbackQueryID]
	var n uint8
	if p != nil {
		p.answers = min(p.answers+1, 255)
		n = p.answers
	}
	a.pressMu.Unlock()
	if p == nil {
		a.unmatched.Add(1)
		return
	}
	if n > 1 {
		return // the emulator refuses a second answer, so this is not reached; see tally
	}
	at := int64(s.At.Sub(a.start))
	a.lat.record(time.Duration(at - p.at))
	a.lastAnswer.Store(at)
	a.pressesAnswered.Add(1)
	u := p.user
	u.mu.Lock()
	if u.awaiting && p.seq == u.seq {
		u.awaiting = false
		a.onAnswered(u)
	}
	u.mu.Unlock()
}

// pick chooses the button a user presses on the reply to /reset: the one that cancels
// (the project's bot sends "reset:no:<n>"), else the last one.
func pick(s emulator.Sent) (button, bool) {
	var last *emulator.Button
	for _, row := range s.Buttons {
		for i := range row {
			b := &row[i]
			if b.Data == "" {
				continue // a URL button sends no callback
			}
			if strings.HasPrefix(b.Data, "reset:no:") {
				return button{msgID: s.MessageID, data: b.Data}, true
			}
			last = b
		}
	}
	if last == nil {
		return button{}, false
	}
	return button{msgID: s.MessageID, data: last.Data}, true
}

func isPNG(b []byte) bool {
	_, err := png.Decode(bytes.NewReader(b))
	return err == nil
}

// outstanding is how many updates sent have not been answered yet.
func (a *auditor) outstanding() int64 {
	return a.messagesSent.Load() - a.answered.Load() + a.pressesSent.Load() - a.pressesAnswered.Load()
}

// tally closes the audit and counts what never got its answer.
func (a *auditor) tally() (missing, pressesMissing int64) {
	a.closed.Store(true)
	a.photoChecks.Wait()
	for i := range a.users {
		u := &a.users[i]
		u.mu.Lock()
		for _, r := range u.recs {
			if r.replies == 0 {
				missing++
			}
		}
		u.mu.Unlock()
	}
	a.pressMu.Lock()
	defer a.pressMu.Unlock()
	for _, p := range a.presses {
		if p.answers == 0 {
			pressesMissing++
		}
	}
	return missing, pressesMissing
}

// onFault notes the chats whose sends the emulator answered 429 (emulator.Config.OnFault),
// so that the report can tell the latency of the users a 429 never touched.
func (a *auditor) onFault(f emulator.Fault) {
	if f.Kind != "429" && f.Kind != "limit" {
		return
	}
	if u := a.user(f.ChatID); u != nil {
		u.got429.Store(true)
	}
}

// never429 summarizes the first-reply latency of the messages of users whose chat never
// got a 429, and says how many users that is; none when no 429 was answered at all.
func (a *auditor) never429() (Latency, int) {
	h := hdrhistogram.New(1, maxLatency.Microseconds(), 3)
	n := 0
	for i := range a.users {
		u := &a.users[i]
		if u.got429.Load() {
			continue
		}
		n++
		u.mu.Lock()
		for _, r := range u.recs {
			if r.latUS > 0 {
				h.RecordValue(int64(r.latUS))
			}
		}
		u.mu.Unlock()
	}
	return summarize(h), n
}

// recovery is how long after at (since the run began) the last message sent before it and
// answered after it was answered: for a member killed at at, how long its users waited.
func (a *auditor) recovery(at time.Duration) time.Duration {
	var worst int64
	for i := range a.users {
		u := &a.users[i]
		u.mu.Lock()
		for _, r := range u.recs {
			if r.at >= int64(at) || r.latUS == 0 {
				continue
			}
			if done := r.at + int64(r.latUS)*1000 - int64(at); done > worst {
				worst = done
			}
		}
		u.mu.Unlock()
	}
	return time.Duration(worst)
}
