package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/internal/backoff"
	"github.com/troupebot/troupe/internal/ratelog"
)

// SecretTokenHeader is the header in which Telegram sends setWebhook's secret_token.
const SecretTokenHeader = "X-Telegram-Bot-Api-Secret-Token"

// WebhookConfig tunes a Webhook. The zero value is usable.
type WebhookConfig struct {
	// Secret is the expected X-Telegram-Bot-Api-Secret-Token; empty means none is
	// required.
	Secret string
	// MaxBody is the largest request body accepted, in bytes; 0 means 1 MiB (a Telegram
	// update is far smaller).
	MaxBody int64
	// MaxInFlight bounds the updates taken and not yet finished; past it the webhook
	// answers 503 (Telegram retries), so that a flood cannot grow the mailboxes without
	// bound. 0 means 10,000.
	MaxInFlight int
	// Window is how many update_ids are remembered to recognise updates Telegram sends
	// again; 0 means 4096.
	Window int
	// Logger receives refused requests, a few lines a second at most (Stats counts them
	// all); nil means slog.Default().
	Logger *slog.Logger
	// JournalSweep is how often, with a journal, it is swept for updates no process has
	// in hand (see journaler.sweep); 0 means 15s.
	JournalSweep time.Duration
	// Forward, with a journal, makes this process a cluster member: the updates it
	// journals go to the member of their key through Forward, and Accept takes the ones
	// forwarded here. Leave, called as the drain begins, takes this member out of the
	// cluster, so that no update is forwarded here any more; the drain then waits for the
	// updates this member has in hand.
	Forward Forwarder
	Leave   func()
}

// Webhook is the http.Handler Telegram POSTs updates to in webhook mode. It answers 200
// only once an update is in the runtime (Deliver returned), so that Telegram keeps and
// re-sends an update the bot did not take; it recognises re-sent updates by update_id and
// does not deliver them twice.
//
// Unlike polling, a webhook cannot leave an update unconfirmed until it is done: Telegram
// counts it delivered at the 200. Drain therefore refuses new updates (503, which Telegram
// retries, possibly to the next process) and waits for the ones already taken.
type Webhook struct {
	deliver   Deliverer
	cfg       WebhookConfig
	secretSum [sha256.Size]byte
	log       *slog.Logger
	refusals  *ratelog.Logger // anyone can make refusals: their lines are rate-limited
	journal   *journaler      // nil without a Journal
	// open is false while the journal is replayed, so that no new update of a user goes
	// into the runtime before that user's journaled ones.
	open atomic.Bool

	mu       sync.Mutex
	seen     recent
	inflight int
	draining bool
	idle     chan struct{} // made by Drain, closed when inflight reaches 0

	// drainingHint lets requests skip reading their body while draining; mu decides.
	drainingHint atomic.Bool

	received, delivered, duplicates, undecodable atomic.Int64
	rejected                                     [numReasons]atomic.Int64
}

// Reasons a request is refused, indexing Webhook.rejected.
const (
	rejectMethod = iota
	rejectSecret
	rejectSize
	rejectJSON
	rejectDraining
	rejectClosed
	rejectPending
	rejectJournal
	rejectBusy
	numReasons
)

const (
	defaultMaxBody = 1 << 20
	defaultWindow  = 4096
	// defaultMaxInFlight is far above what a healthy bot holds (updates finish in
	// milliseconds) and far below what would strain memory (a few KB each).
	defaultMaxInFlight = 10_000
	// pooledBody is the largest body buffer kept for reuse; updates are a few KB at most,
	// and one huge body must not pin its buffer.
	pooledBody = 64 << 10
)

var _ http.Handler = (*Webhook)(nil)

var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// NewWebhook returns a Webhook delivering to d.
func NewWebhook(d Deliverer, cfg WebhookConfig) *Webhook {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = defaultMaxBody
	}
	if cfg.Window <= 0 {
		cfg.Window = defaultWindow
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = defaultMaxInFlight
	}
	w := &Webhook{deliver: d, cfg: cfg, log: cfg.Logger, seen: newRecent(cfg.Window)}
	if w.log == nil {
		w.log = slog.Default()
	}
	w.refusals = ratelog.New(w.log, ratelog.Config{})
	if cfg.Secret != "" {
		w.secretSum = sha256.Sum256([]byte(cfg.Secret))
	}
	w.open.Store(true)
	return w
}

// NewJournaledWebhook returns a Webhook that answers 200 once an update is in j rather than
// once it is in the runtime, and 503 when j cannot take it: Telegram then counts delivered
// only what a crash cannot lose. It takes updates once Run has handed j's unfinished ones
// to s.
func NewJournaledWebhook(s Submitter, j Journal, cfg WebhookConfig) *Webhook {
	w := NewWebhook(nil, cfg)
	w.open.Store(false)
	w.journal = newJournaler(j, s, w.log, cfg.JournalSweep, cfg.Forward)
	return w
}

// Run replays the journal, then opens the webhook, and replays it again whenever an update
// came back not kept, until ctx ends. Without a Journal it returns at once.
func (w *Webhook) Run(ctx context.Context) error {
	if w.journal == nil {
		return nil
	}
	if err := w.journal.replayUntil(ctx); err != nil {
		return nil //nolint:nilerr // stopped before the journal was read: nothing to report
	}
	w.open.Store(true)
	defer w.journal.startSweeping(ctx)()
	streak := 0
	for {
		waited := time.Now()
		select {
		case <-ctx.Done():
			return nil
		case <-w.journal.failed:
		}
		if time.Since(waited) > replayRetry.Max {
			streak = 0
		}
		streak++
		if backoff.Sleep(ctx, replayRetry.Delay(streak, 0)) != nil {
			return nil
		}
		w.open.Store(false)
		err := w.journal.replayUntil(ctx)
		w.open.Store(true)
		if err != nil {
			return nil
		}
	}
}

// ServeHTTP takes one update: 200 once it is in the runtime (or was already, or cannot be
// decoded and is skipped), 405 for a method other than POST, 401 for a wrong or missing
// secret, 413 for a body over MaxBody, 400 for malformed JSON or no update_id, 503 while
// draining or when the runtime refuses it.
//
// The method, the secret and a declared size are checked before a byte of the body is
// read, and every refusal closes the connection, so a client without the secret cannot
// make the server read, or drain, a body of any size.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.received.Add(1)
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		w.refuse(rw, r, rejectMethod, http.StatusMethodNotAllowed, slog.LevelDebug, nil)
		return
	}
	if !w.secretOK(r.Header.Get(SecretTokenHeader)) {
		w.refuse(rw, r, rejectSecret, http.StatusUnauthorized, slog.LevelWarn, nil)
		return
	}
	if w.drainingHint.Load() {
		w.refuse(rw, r, rejectDraining, http.StatusServiceUnavailable, slog.LevelDebug, nil)
		return
	}
	if r.ContentLength > w.cfg.MaxBody {
		w.refuse(rw, r, rejectSize, http.StatusRequestEntityTooLarge, slog.LevelWarn, fmt.Errorf("body of %d bytes over the limit of %d", r.ContentLength, w.cfg.MaxBody))
		return
	}
	buf := bodies.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= pooledBody {
			buf.Reset()
			bodies.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(http.MaxBytesReader(rw, r.Body, w.cfg.MaxBody)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			w.refuse(rw, r, rejectSize, http.StatusRequestEntityTooLarge, slog.LevelWarn, err)
		} else {
			w.refuse(rw, r, rejectJSON, http.StatusBadRequest, slog.LevelWarn, fmt.Errorf("read body: %w", err))
		}
		return
	}
	u, err := DecodeUpdate(buf.Bytes())
	switch {
	case err != nil:
		w.skipUndecodable(rw, r, err)
	case w.journal != nil:
		w.takeJournaled(rw, r, u, buf.Bytes())
	default:
		w.take(rw, r, u)
	}
}

// skipUndecodable answers an update that did not decode. One with an update_id is answered
// 200, as the poller confirms it: refused, Telegram would send it again and again. It is
// its own function so that ue, whose address errors.As takes, is on the heap only for such
// an update, not for every one.
func (w *Webhook) skipUndecodable(rw http.ResponseWriter, r *http.Request, err error) {
	var ue *UndecodableError
	if !errors.As(err, &ue) {
		w.refuse(rw, r, rejectJSON, http.StatusBadRequest, slog.LevelWarn, err)
		return
	}
	w.undecodable.Add(1)
	w.log.Error("undecodable update skipped", slog.Int64("update", ue.ID), slog.Any("err", ue.Err))
	rw.WriteHeader(http.StatusOK)
}

// takeJournaled journals u and answers 200, then hands it to the runtime; 503 when the
// journal cannot take it or is being replayed, so that Telegram sends it again.
func (w *Webhook) takeJournaled(rw http.ResponseWriter, r *http.Request, u *gotgbot.Update, raw []byte) {
	id := u.UpdateId
	if !w.open.Load() {
		w.refuse(rw, r, rejectJournal, http.StatusServiceUnavailable, slog.LevelDebug, fmt.Errorf("update %d: the journal is being replayed", id))
		return
	}
	if !w.admit(rw, r, id) {
		return
	}
	if err := w.journal.j.Append(r.Context(), []Journaled{item(u, raw)}); err != nil {
		w.forget(id)
		w.finish()
		w.refuse(rw, r, rejectJournal, http.StatusServiceUnavailable, slog.LevelWarn, fmt.Errorf("journal update %d: %w", id, err))
		return
	}
	w.taken(rw, id)
	// Journaled: whatever happens to it now, the journal has it for a replay.
	if _, err := w.journal.submit(u, raw, w.finishOnce()); err != nil {
		w.log.Debug("journaled update left for the next process", slog.Int64("update", id), slog.Any("err", err))
	}
}

// take delivers u unless it is a duplicate or the webhook is draining.
func (w *Webhook) take(rw http.ResponseWriter, r *http.Request, u *gotgbot.Update) {
	id := u.UpdateId
	if !w.admit(rw, r, id) {
		return
	}
	done := w.finishOnce()
	if err := w.deliver.Deliver(u, done); err != nil {
		// The runtime is closing: forget the update, so that Telegram's retry (to this
		// process or the next) is not taken for a duplicate.
		w.forget(id)
		done()
		w.refuse(rw, r, rejectClosed, http.StatusServiceUnavailable, slog.LevelWarn, fmt.Errorf("deliver update %d: %w", id, err))
		return
	}
	w.taken(rw, id)
}

// admit counts update id in, unless the webhook is draining, has MaxInFlight updates
// unfinished, or has seen id before; it answers the request itself when it does not admit.
func (w *Webhook) admit(rw http.ResponseWriter, r *http.Request, id int64) bool {
	w.mu.Lock()
	draining, busy := w.draining, w.inflight >= w.cfg.MaxInFlight
	taken, seen := w.seen.get(id)
	admitted := !draining && !busy && !seen
	if admitted {
		w.seen.add(id)
		w.inflight++
	}
	w.mu.Unlock()
	switch {
	case admitted:
		return true
	case draining:
		w.refuse(rw, r, rejectDraining, http.StatusServiceUnavailable, slog.LevelDebug, nil)
	case busy:
		w.refuse(rw, r, rejectBusy, http.StatusServiceUnavailable, slog.LevelWarn, fmt.Errorf("update %d: %d updates in flight, the most taken", id, w.cfg.MaxInFlight))
	case !taken:
		// Telegram gave up on the first POST while it was still being taken (delivered or
		// journaled). A 200 now would lose the update if that fails; a 503 makes Telegram
		// try again, by when the first has settled.
		w.refuse(rw, r, rejectPending, http.StatusServiceUnavailable, slog.LevelDebug, fmt.Errorf("update %d is being taken", id))
	default:
		w.duplicates.Add(1)
		rw.WriteHeader(http.StatusOK)
	}
	return false
}

// taken answers 200 for id, which is now the runtime's or the journal's.
func (w *Webhook) taken(rw http.ResponseWriter, id int64) {
	w.mu.Lock()
	w.seen.markDelivered(id)
	w.mu.Unlock()
	w.delivered.Add(1)
	rw.WriteHeader(http.StatusOK)
}

// forget drops id from the recent ones, so that Telegram's retry is not taken for a
// duplicate.
func (w *Webhook) forget(id int64) {
	w.mu.Lock()
	w.seen.forget(id)
	w.mu.Unlock()
}

// finishOnce is the done of one update: it may run before Deliver returns, and counts the
// update out once even if called again.
func (w *Webhook) finishOnce() func() {
	var finished atomic.Bool
	return func() {
		if finished.CompareAndSwap(false, true) {
			w.finish()
		}
	}
}

func (w *Webhook) finish() {
	w.mu.Lock()
	w.inflight--
	if w.inflight == 0 && w.idle != nil {
		close(w.idle)
		w.idle = nil
	}
	w.mu.Unlock()
}

// secretOK compares the secrets' SHA-256 sums in constant time: comparing the secrets
// themselves would take time depending on their lengths.
func (w *Webhook) secretOK(got string) bool {
	if w.cfg.Secret == "" {
		return true
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], w.secretSum[:]) == 1
}

var reasonNames = [numReasons]string{"method", "secret", "size", "json", "draining", "closed", "pending", "journal", "busy"}

func (w *Webhook) refuse(rw http.ResponseWriter, r *http.Request, reason, status int, level slog.Level, err error) {
	w.rejected[reason].Add(1)
	attrs := []slog.Attr{slog.String("reason", reasonNames[reason]), slog.Int("status", status), slog.String("remote", r.RemoteAddr)}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	w.refusals.Log(r.Context(), level, "webhook request refused", attrs...)
	// A refused client gets no more of the server's time. After the answer net/http reads
	// up to 256 KB of an unread body, even on a connection it then closes, for as long as
	// the sender cares to trickle it: a read deadline of now makes that read fail at once,
	// and Connection: close ends the connection rather than keep it for the next request.
	rw.Header().Set("Connection", "close")
	http.Error(rw, http.StatusText(status), status)
	// Unsupported only where there is no connection to hold (a recorder in tests).
	_ = http.NewResponseController(rw).SetReadDeadline(time.Now())
}

// Drain makes the webhook answer 503 from now on (Telegram retries those later, with the
// next process after a redeploy) and waits until every update it delivered is done. When
// ctx ends first it returns an error saying how many are unfinished.
func (w *Webhook) Drain(ctx context.Context) error {
	if err := w.drainPosted(ctx); err != nil {
		return err
	}
	// The journal's replays and sweeps hand the runtime updates no request is waiting on.
	if w.journal != nil {
		w.journal.leave(w.cfg.Leave)
		if n := w.journal.drain(ctx); n > 0 {
			return fmt.Errorf("intake: webhook drained with %d journaled updates unfinished: %w", n, ctx.Err())
		}
	}
	return nil
}

// drainPosted refuses new requests and waits for the updates taken by the ones answered.
func (w *Webhook) drainPosted(ctx context.Context) error {
	w.drainingHint.Store(true)
	w.mu.Lock()
	w.draining = true
	if w.inflight == 0 {
		w.mu.Unlock()
		return nil
	}
	if w.idle == nil {
		w.idle = make(chan struct{})
	}
	idle := w.idle
	w.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		w.mu.Lock()
		n := w.inflight
		w.mu.Unlock()
		return fmt.Errorf("intake: webhook drained with %d updates unfinished: %w", n, ctx.Err())
	}
}

// WebhookStats is a snapshot of a Webhook's counters.
type WebhookStats struct {
	Received   int64 // requests that reached the handler
	Delivered  int64 // updates handed to the runtime
	Duplicates int64 // re-sent updates answered 200 without delivering them again
	// Undecodable counts updates answered 200 and skipped because gotgbot cannot decode
	// them (valid JSON with an update_id, of a shape newer than gotgbot's types).
	Undecodable int64
	Rejected    WebhookRejects // requests refused, by reason
	InFlight    int            // delivered and not done
}

// WebhookRejects counts refused requests by reason.
type WebhookRejects struct {
	Method   int64 // not POST (405)
	Secret   int64 // wrong or missing secret token (401)
	Size     int64 // body over MaxBody (413)
	JSON     int64 // body unreadable, not JSON, or without update_id (400)
	Draining int64 // arrived while draining (503)
	Closed   int64 // the runtime refused the update, closing (503)
	Pending  int64 // re-sent while its first POST was still being delivered (503)
	Journal  int64 // the journal could not take the update, or was being replayed (503)
	Busy     int64 // MaxInFlight updates were in flight (503)
}

// ByReason yields each reason's name, as the refusal log lines give it, and its count.
func (r WebhookRejects) ByReason() iter.Seq2[string, int64] {
	return func(yield func(string, int64) bool) {
		counts := [numReasons]int64{r.Method, r.Secret, r.Size, r.JSON, r.Draining, r.Closed, r.Pending, r.Journal, r.Busy}
		for i, n := range counts {
			if !yield(reasonNames[i], n) {
				return
			}
		}
	}
}

// Stats returns the Webhook's counters.
func (w *Webhook) Stats() WebhookStats {
	w.mu.Lock()
	inflight := w.inflight
	w.mu.Unlock()
	rj := func(reason int) int64 { return w.rejected[reason].Load() }
	return WebhookStats{
		Received:    w.received.Load(),
		Delivered:   w.delivered.Load(),
		Duplicates:  w.duplicates.Load(),
		Undecodable: w.undecodable.Load(),
		Rejected: WebhookRejects{
			Method: rj(rejectMethod), Secret: rj(rejectSecret), Size: rj(rejectSize), JSON: rj(rejectJSON),
			Draining: rj(rejectDraining), Closed: rj(rejectClosed), Pending: rj(rejectPending), Journal: rj(rejectJournal), Busy: rj(rejectBusy),
		},
		InFlight: inflight,
	}
}

// recent remembers the last n update_ids taken, and whether each is delivered yet: a ring
// of ids in arrival order, and a map for lookups. Telegram re-sends an update only while
// its retries last, so a window of recent ids is enough, and bounded.
type recent struct {
	ring []int64
	next uint64 // ids ever added; the next goes to ring[next % len(ring)]
	ids  map[int64]recentEntry
}

type recentEntry struct {
	seq       uint64 // when it was added: its ring slot is seq % len(ring)
	delivered bool
}

func newRecent(n int) recent {
	return recent{ring: make([]int64, n), ids: make(map[int64]recentEntry, n)}
}

func (r *recent) get(id int64) (delivered, ok bool) {
	e, ok := r.ids[id]
	return e.delivered, ok
}

// add records id, forgetting the oldest id when the window is full.
func (r *recent) add(id int64) {
	n := uint64(len(r.ring))
	slot := r.next % n
	if r.next >= n {
		old := r.ring[slot]
		// The slot's id may have been forgotten and added again since: then its entry
		// belongs to a newer slot and stays.
		if e, ok := r.ids[old]; ok && e.seq == r.next-n {
			delete(r.ids, old)
		}
	}
	r.ring[slot] = id
	r.ids[id] = recentEntry{seq: r.next}
	r.next++
}

func (r *recent) markDelivered(id int64) {
	if e, ok := r.ids[id]; ok {
		e.delivered = true
		r.ids[id] = e
	}
}

// forget removes id at once; its ring slot is left to be overwritten.
func (r *recent) forget(id int64) { delete(r.ids, id) }

// Accept takes an update another cluster member forwarded here (see WebhookConfig.Forward):
// it returns once this member's runtime has it.
func (w *Webhook) Accept(raw []byte) error {
	if w.journal == nil {
		return errors.New("intake: a webhook without a journal takes no forwarded updates")
	}
	return w.journal.accept(raw)
}

// Replay has the journal replayed soon: a cluster member left, and the updates it had in
// hand and did not finish are journaled, waiting for their keys' new members.
func (w *Webhook) Replay() {
	if w.journal != nil {
		signal(w.journal.failed)
	}
}
