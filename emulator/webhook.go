package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// Webhook delivery, as Telegram does it: once setWebhook registers a URL, the queued updates
// are POSTed to it as JSON by up to max_connections concurrent deliverers. An update is
// confirmed when the webhook answers 2xx; any other answer, or a failed connection, is
// recorded for getWebhookInfo and the update is retried with backoff.
//
// Order: Telegram delivers the updates of one chat one at a time, in order. Here each chat
// has a lane, a FIFO of its unconfirmed updates; only the oldest update of a lane may be
// posted, and the next one only after it was accepted. A failing update therefore holds
// back the later updates of its chat (and only of its chat) until it is accepted. The lane
// key is the update's chat, or the user who caused it when it has none (inline queries,
// poll answers), or 0 for an update naming neither: all of those share one lane.

const (
	defaultMaxConnections = 40
	maxMaxConnections     = 100
	maxSecretToken        = 256
	// webhookTimeout bounds one POST; a webhook that takes longer has failed.
	webhookTimeout = 30 * time.Second
	// The first retry of an update comes after about retryFirst, doubling per failure up
	// to retryMax: quick enough for tests and a bot restarting, gentle on a bot that is down.
	retryFirst = 100 * time.Millisecond
	retryMax   = 5 * time.Second
	// maxWebhookAnswer is how much of a webhook's answer is read (and ignored) so that its
	// connection can be reused. Telegram would run a method call found there; the emulator
	// does not.
	maxWebhookAnswer = 64 << 10
)

// errWebhookActive answers getUpdates while a webhook is set, as Telegram does.
var errWebhookActive = &apiError{code: http.StatusConflict, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}

// Header values shared by every POST; net/http only reads them.
var (
	jsonContentType   = []string{"application/json"}
	secretTokenHeader = http.CanonicalHeaderKey("X-Telegram-Bot-Api-Secret-Token")
)

// hook is one registered webhook and its deliverers. Registrations are serialized by
// updateQueue.reg; a new one replaces the old, whose deliverers are stopped first.
type hook struct {
	url     string
	secret  []string // the header value; nil for none
	maxConn int
	allowed []string
	client  *http.Client
	log     *slog.Logger

	ctx     context.Context // cancelled when the registration ends, cancelling its POSTs
	cancel  context.CancelFunc
	workers sync.WaitGroup
	// wake holds a token per lane made ready while deliverers may be idle, up to maxConn:
	// each token wakes one idle deliverer (a broadcast would wake all of them per update).
	wake chan struct{}

	// Guarded by updateQueue.mu.
	lanes            map[int64]*lane
	ready            []*lane // lanes whose oldest update may be posted now, FIFO for fairness
	posts, failures  int64
	lastErrorDate    int64
	lastErrorMessage string
}

// lane is a chat's unconfirmed updates, oldest first. A lane exists only while it has
// updates, and is in exactly one of three states: in hook.ready, held by a deliverer, or
// waiting for the retry of items[0].
type lane struct {
	chat     int64
	items    []queued
	failures int // failed posts of items[0]
}

func newHook(rawURL string, secret string, maxConn int, allowed []string, log *slog.Logger) *hook {
	tr := &http.Transport{
		// No proxy: the emulator talks to a bot beside it.
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxConn,
		MaxIdleConnsPerHost: maxConn,
		MaxConnsPerHost:     maxConn,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	h := &hook{
		url:     rawURL,
		maxConn: maxConn,
		allowed: allowed,
		client: &http.Client{
			Transport: tr,
			Timeout:   webhookTimeout,
			// Telegram does not follow redirects: a 3xx is a wrong response.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log:   log,
		wake:  make(chan struct{}, maxConn),
		lanes: make(map[int64]*lane),
	}
	if secret != "" {
		h.secret = []string{secret}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

// addLocked queues it on its chat's lane; it returns true when that made the lane ready,
// so that a deliverer must be woken (after the queue's lock is released).
func (h *hook) addLocked(it queued) bool {
	l := h.lanes[it.chat]
	if l == nil {
		l = &lane{chat: it.chat}
		h.lanes[it.chat] = l
	}
	l.items = append(l.items, it)
	if len(l.items) > 1 {
		return false // the lane is ready, held or waiting already
	}
	h.ready = append(h.ready, l)
	return true
}

// takeLocked hands the next ready lane and its oldest update to a deliverer. It skips
// updates confirmed already: a POST of the previous registration may have been accepted
// after this registration's lanes were built.
func (q *updateQueue) takeLocked(h *hook) (*lane, queued, bool) {
	for len(h.ready) > 0 {
		l := h.ready[0]
		h.ready[0] = nil
		h.ready = h.ready[1:]
		if !q.confirmedLocked(l.items[0].id) {
			return l, l.items[0], true
		}
		if h.popLocked(l) {
			h.ready = append(h.ready, l)
		}
	}
	return nil, queued{}, false
}

// popLocked removes l's oldest update; it returns false when that emptied (and removed)
// the lane.
func (h *hook) popLocked(l *lane) bool {
	l.items[0] = queued{}
	l.items = l.items[1:]
	l.failures = 0
	if len(l.items) == 0 {
		delete(h.lanes, l.chat)
		return false
	}
	return true
}

func (h *hook) wakeOne() {
	select {
	case h.wake <- struct{}{}:
	default: // maxConn tokens pending: every deliverer will look anyway
	}
}

// deliver is one of the hook's max_connections deliverers.
func (q *updateQueue) deliver(h *hook) {
	defer h.workers.Done()
	for h.ctx.Err() == nil {
		q.mu.Lock()
		l, it, ok := q.takeLocked(h)
		q.mu.Unlock()
		if !ok {
			select {
			case <-h.wake:
			case <-h.ctx.Done():
			}
			continue
		}
		failure := h.post(it.raw)
		if failure != "" && h.ctx.Err() != nil {
			return // cancelled, not failed: the next registration (or getUpdates) has it
		}
		q.finish(h, l, it.id, failure)
	}
}

// post POSTs one update; it returns "" when the webhook accepted it, else the error for
// getWebhookInfo.
func (h *hook) post(raw []byte) (failure string) {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, h.url, bytes.NewReader(raw))
	if err != nil {
		return "Bad webhook URL: " + err.Error()
	}
	req.Header["Content-Type"] = jsonContentType
	if h.secret != nil {
		req.Header[secretTokenHeader] = h.secret
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in getWebhookInfo already
		}
		return "Connection failed: " + err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookAnswer))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "Wrong response from the webhook: " + resp.Status
	}
	return ""
}

// finish applies the outcome of posting l's oldest update id: confirm it and make the lane's
// next update ready, or schedule the retry. An update the webhook accepted is confirmed
// even when its registration ended meanwhile: the bot has it, as Telegram would count it.
func (q *updateQueue) finish(h *hook, l *lane, id int64, failure string) {
	q.mu.Lock()
	current := q.hook == h
	if failure == "" {
		changed := q.doneLocked(id)
		if current {
			h.posts++
			// No wake: the calling deliverer looks at ready again before it waits.
			if h.popLocked(l) {
				h.ready = append(h.ready, l)
			}
		}
		q.mu.Unlock()
		if changed {
			q.confirmSeen.notify()
		}
		return
	}
	if !current {
		q.mu.Unlock()
		return
	}
	h.posts++
	h.failures++
	h.lastErrorDate = time.Now().Unix()
	h.lastErrorMessage = failure
	l.failures++
	n := l.failures
	q.mu.Unlock()
	delay := retryDelay(n)
	h.log.Debug("webhook delivery failed", slog.Int64("update", id), slog.String("error", failure), slog.Int("failures", n), slog.String("retry_in", delay.String()))
	time.AfterFunc(delay, func() {
		q.mu.Lock()
		current := q.hook == h
		if current {
			h.ready = append(h.ready, l)
		}
		q.mu.Unlock()
		if current {
			h.wakeOne()
		}
	})
}

// retryDelay is the wait before the next post of an update that failed n times: retryFirst
// doubling up to retryMax, each with jitter down to half, so that the lanes of a bot that
// was down do not all come back at the same instant.
func retryDelay(n int) time.Duration {
	d := min(retryFirst<<min(n-1, 16), retryMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// replaceHook makes h the registered webhook (nil: none), dropping the queued updates first
// if drop. It returns once the previous webhook's deliverers have stopped, so that nothing
// is posted under the old registration afterwards.
func (q *updateQueue) replaceHook(h *hook, drop, keepAllowed bool) {
	q.reg.Lock()
	defer q.reg.Unlock()
	q.mu.Lock()
	old := q.hook
	changed := false
	if drop {
		changed = q.dropLocked(len(q.items))
	}
	if h != nil {
		if keepAllowed && old != nil {
			h.allowed = old.allowed
		}
		for _, it := range q.items {
			if !it.done {
				h.addLocked(it)
			}
		}
		if q.conflict != nil {
			// A long poll waiting now ends the way Telegram ends it.
			close(q.conflict)
			q.conflict = nil
		}
	}
	q.hook = h
	q.mu.Unlock()
	if changed {
		q.confirmSeen.notify()
	}
	if old != nil {
		old.cancel()
		old.workers.Wait()
		old.client.CloseIdleConnections()
	}
	if h != nil {
		// Started only now, so that a chat's updates are never posted by two
		// registrations at once.
		h.workers.Add(h.maxConn)
		for range h.maxConn {
			go q.deliver(h)
		}
		q.hookSet.notify()
	}
}

// WaitWebhook waits until a webhook is registered: a bot in webhook mode is ready.
func (s *Server) WaitWebhook(ctx context.Context) error {
	q := &s.updates
	if err := q.hookSet.until(ctx, &q.mu, func() bool { return q.hook != nil }); err != nil {
		return fmt.Errorf("emulator: wait for setWebhook: %w", err)
	}
	return nil
}

// setWebhook registers a webhook. Unlike Telegram it accepts http:// URLs and any port,
// since the bot it talks to is local; an empty url removes the webhook, as in Telegram.
func (s *Server) setWebhook(p params) (any, error) {
	rawURL, ok := p.str("url")
	if !ok {
		return nil, badRequest("parameter \"url\" is required")
	}
	if rawURL == "" {
		s.updates.replaceHook(nil, p.bool("drop_pending_updates"), false)
		return true, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, badRequest("bad webhook: invalid URL %q", rawURL)
	}
	secret, _ := p.str("secret_token")
	if secret != "" && !validSecret(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	maxConn := defaultMaxConnections
	if n, ok, err := p.int64("max_connections"); err != nil {
		return nil, err
	} else if ok {
		if n < 1 || n > maxMaxConnections {
			return nil, badRequest("max_connections must be between 1 and %d", maxMaxConnections)
		}
		maxConn = int(n)
	}
	var allowed []string
	hasAllowed, err := p.object("allowed_updates", &allowed)
	if err != nil {
		return nil, err
	}
	// Telegram keeps the previous allowed_updates when none are given.
	s.updates.replaceHook(newHook(rawURL, secret, maxConn, allowed, s.log), p.bool("drop_pending_updates"), !hasAllowed)
	return true, nil
}

// validSecret says whether s is a secret_token Telegram accepts: 1 to 256 characters from
// A-Z, a-z, 0-9, _ and -.
func validSecret(s string) bool {
	if len(s) < 1 || len(s) > maxSecretToken {
		return false
	}
	for _, c := range []byte(s) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func (s *Server) deleteWebhook(p params) (any, error) {
	s.updates.replaceHook(nil, p.bool("drop_pending_updates"), false)
	return true, nil
}

// WebhookInfo is the webhook as getWebhookInfo describes it, with the emulator's counters
// for the current registration.
type WebhookInfo struct {
	gotgbot.WebhookInfo
	Posts    int64 // POSTs answered or failed, retries included
	Failures int64 // POSTs answered with a non-2xx status or failed to connect
}

// WebhookInfo returns the registered webhook (an empty Url when none is set) and its
// counters.
func (s *Server) WebhookInfo() WebhookInfo {
	q := &s.updates
	q.mu.Lock()
	defer q.mu.Unlock()
	info := WebhookInfo{WebhookInfo: gotgbot.WebhookInfo{PendingUpdateCount: int64(q.undone)}}
	if h := q.hook; h != nil {
		info.Url = h.url
		info.MaxConnections = int64(h.maxConn)
		info.AllowedUpdates = append([]string(nil), h.allowed...)
		info.LastErrorDate = h.lastErrorDate
		info.LastErrorMessage = h.lastErrorMessage
		info.Posts = h.posts
		info.Failures = h.failures
	}
	return info
}

// chatOf returns the key whose order webhook delivery keeps for the update raw: its chat
// (a callback query's message's chat), else the user who caused it, else 0. Any update
// type, known or future, carries its payload in one field, so the payload is looked for
// in every field.
func chatOf(raw []byte) int64 {
	type party struct {
		ID int64 `json:"id"`
	}
	type payload struct {
		Chat    *party   `json:"chat"`
		From    *party   `json:"from"`
		User    *party   `json:"user"` // poll_answer, message_reaction
		Message *payload `json:"message"`
	}
	var fields map[string]*payload
	// Fields that are not objects (update_id) fail to decode and are skipped; what did
	// decode is kept, and only the order of delivery depends on it.
	_ = json.Unmarshal(raw, &fields)
	for name, p := range fields {
		if p == nil || name == "update_id" {
			continue
		}
		switch {
		case p.Message != nil && p.Message.Chat != nil:
			return p.Message.Chat.ID
		case p.Chat != nil:
			return p.Chat.ID
		case p.From != nil:
			return p.From.ID
		case p.User != nil:
			return p.User.ID
		}
	}
	return 0
}
