package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/emulator"
)

// hit is one POST the emulator made to a webhook, and the status it was answered with.
type hit struct {
	UpdateID    int64
	Chat        int64
	Secret      []string // X-Telegram-Bot-Api-Secret-Token values
	ContentType string
	Status      int
}

// endpoint is a bot's webhook for the emulator to POST to: answer decides each status
// (it may block), and every POST is recorded once answered.
type endpoint struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
	// answered receives every hit; buffered so that a test need not drain it.
	answered chan hit
}

func newEndpoint(tb testing.TB, answer func(r *http.Request, h hit) int) *endpoint {
	tb.Helper()
	e := &endpoint{answered: make(chan hit, 10000)}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var u struct {
			UpdateID int64 `json:"update_id"`
			Message  *struct {
				Chat struct {
					ID int64 `json:"id"`
				} `json:"chat"`
			} `json:"message"`
			CallbackQuery *struct {
				Message struct {
					Chat struct {
						ID int64 `json:"id"`
					} `json:"chat"`
				} `json:"message"`
			} `json:"callback_query"`
		}
		if err := json.Unmarshal(body, &u); err != nil {
			tb.Errorf("webhook body %q: %v", body, err)
		}
		h := hit{UpdateID: u.UpdateID, Secret: r.Header.Values("X-Telegram-Bot-Api-Secret-Token"), ContentType: r.Header.Get("Content-Type")}
		switch {
		case u.Message != nil:
			h.Chat = u.Message.Chat.ID
		case u.CallbackQuery != nil:
			h.Chat = u.CallbackQuery.Message.Chat.ID
		}
		h.Status = answer(r, h)
		e.mu.Lock()
		e.hits = append(e.hits, h)
		e.mu.Unlock()
		e.answered <- h
		if h.Status < 0 {
			panic(http.ErrAbortHandler) // closes the connection without an answer
		}
		w.WriteHeader(h.Status)
	}))
	tb.Cleanup(e.Close)
	return e
}

func accept(*http.Request, hit) int { return http.StatusOK }

func (e *endpoint) Hits() []hit {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.hits)
}

// await returns the next POST answered, or fails the test after a deadline.
func (e *endpoint) await(tb testing.TB) hit {
	tb.Helper()
	select {
	case h := <-e.answered:
		return h
	case <-time.After(10 * time.Second):
		tb.Fatal("no webhook POST within 10s")
		return hit{}
	}
}

func waitConfirmed(tb testing.TB, s *emulator.Server, id int64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitConfirmed(ctx, id); err != nil {
		tb.Fatalf("%v (webhook: %+v)", err, s.WebhookInfo())
	}
}

func setWebhook(tb testing.TB, s *emulator.Server, params map[string]any) {
	tb.Helper()
	mustOK(tb, callJSON(tb, s, "setWebhook", params))
}

func sendText(tb testing.TB, s *emulator.Server, user int64, text string) emulator.Pushed {
	tb.Helper()
	p, err := s.SendText(user, text)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestSetWebhookValidation(t *testing.T) {
	s := newServer(t)
	e := newEndpoint(t, accept)
	tests := []struct {
		name   string
		params map[string]any
		desc   string
	}{
		{"no url", map[string]any{"secret_token": "x"}, `Bad Request: parameter "url" is required`},
		{"not http", map[string]any{"url": "ftp://127.0.0.1/hook"}, `Bad Request: bad webhook: invalid URL "ftp://127.0.0.1/hook"`},
		{"no host", map[string]any{"url": "http:///hook"}, `Bad Request: bad webhook: invalid URL "http:///hook"`},
		{"not a URL", map[string]any{"url": "::"}, `Bad Request: bad webhook: invalid URL "::"`},
		{"secret with space", map[string]any{"url": e.URL, "secret_token": "a b"}, "Bad Request: secret token contains unallowed characters"},
		{"secret not ASCII", map[string]any{"url": e.URL, "secret_token": "pässword"}, "Bad Request: secret token contains unallowed characters"},
		{"secret too long", map[string]any{"url": e.URL, "secret_token": strings.Repeat("a", 257)}, "Bad Request: secret token contains unallowed characters"},
		{"no connections", map[string]any{"url": e.URL, "max_connections": 0}, "Bad Request: max_connections must be between 1 and 100"},
		{"too many connections", map[string]any{"url": e.URL, "max_connections": 101}, "Bad Request: max_connections must be between 1 and 100"},
		{"connections not a number", map[string]any{"url": e.URL, "max_connections": "many"}, `Bad Request: max_connections must be an integer, got "many"`},
		{"allowed_updates not a list", map[string]any{"url": e.URL, "allowed_updates": "message"}, "Bad Request: can't parse allowed_updates JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := callJSON(t, s, "setWebhook", tt.params)
			if r.OK || r.ErrorCode != http.StatusBadRequest || r.Description != tt.desc {
				t.Errorf("got %v %d %q, want 400 %q", r.OK, r.ErrorCode, r.Description, tt.desc)
			}
		})
	}
	if info := s.WebhookInfo(); info.Url != "" {
		t.Fatalf("a refused setWebhook set %q", info.Url)
	}

	info := func(t *testing.T) gotgbot.WebhookInfo {
		t.Helper()
		var wi gotgbot.WebhookInfo
		if err := json.Unmarshal(mustOK(t, callJSON(t, s, "getWebhookInfo", nil)), &wi); err != nil {
			t.Fatal(err)
		}
		return wi
	}
	t.Run("everything", func(t *testing.T) {
		secret := strings.Repeat("Az09_-", 42) + "abcd" // 256 characters
		setWebhook(t, s, map[string]any{"url": e.URL + "/hook", "secret_token": secret, "max_connections": 100, "allowed_updates": []string{"message", "callback_query"}})
		wi := info(t)
		if wi.Url != e.URL+"/hook" || wi.MaxConnections != 100 || !slices.Equal(wi.AllowedUpdates, []string{"message", "callback_query"}) || wi.HasCustomCertificate {
			t.Errorf("getWebhookInfo = %+v", wi)
		}
	})
	t.Run("form encoding keeps allowed_updates", func(t *testing.T) {
		// gotgbot sends a form; a setWebhook without allowed_updates keeps the previous ones.
		mustOK(t, callForm(t, s, "setWebhook", url.Values{"url": {e.URL + "/other"}}))
		wi := info(t)
		if wi.Url != e.URL+"/other" || wi.MaxConnections != 40 || !slices.Equal(wi.AllowedUpdates, []string{"message", "callback_query"}) {
			t.Errorf("getWebhookInfo = %+v, want the default 40 connections and the previous allowed_updates", wi)
		}
		mustOK(t, callForm(t, s, "setWebhook", url.Values{"url": {e.URL}, "allowed_updates": {`["message"]`}}))
		if wi := info(t); !slices.Equal(wi.AllowedUpdates, []string{"message"}) {
			t.Errorf("allowed_updates = %q", wi.AllowedUpdates)
		}
	})
	t.Run("empty url removes", func(t *testing.T) {
		setWebhook(t, s, map[string]any{"url": ""})
		if wi := info(t); wi.Url != "" || wi.MaxConnections != 0 {
			t.Errorf("getWebhookInfo = %+v", wi)
		}
	})
}

func TestWebhookPushesInOrder(t *testing.T) {
	for _, secret := range []string{"", "s3cret_-X"} {
		t.Run("secret="+secret, func(t *testing.T) {
			s := newServer(t)
			e := newEndpoint(t, accept)
			setWebhook(t, s, map[string]any{"url": e.URL, "secret_token": secret})
			var want []int64
			for i := range 5 {
				want = append(want, sendText(t, s, 7, fmt.Sprint(i)).UpdateID)
			}
			waitConfirmed(t, s, want[len(want)-1])
			var got []int64
			for _, h := range e.Hits() {
				got = append(got, h.UpdateID)
				if h.ContentType != "application/json" {
					t.Errorf("update %d: Content-Type %q", h.UpdateID, h.ContentType)
				}
				if wantSecret := []string{secret}; secret == "" && h.Secret != nil || secret != "" && !slices.Equal(h.Secret, wantSecret) {
					t.Errorf("update %d: secret header %q, want %q", h.UpdateID, h.Secret, secret)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("posted %v, want %v", got, want)
			}
			if info := s.WebhookInfo(); info.PendingUpdateCount != 0 || info.Posts != 5 || info.Failures != 0 || info.LastErrorDate != 0 {
				t.Errorf("webhook info = %+v", info)
			}
		})
	}
}

// TestWebhookRetries fails an update until a later update of another chat got through: the
// failing one is retried until accepted, holds back the later update of its own chat, and
// does not hold back the other chat.
func TestWebhookRetries(t *testing.T) {
	s := newServer(t)
	var otherChatIn atomic.Bool
	var failures atomic.Int64
	e := newEndpoint(t, func(_ *http.Request, h hit) int {
		switch {
		case h.Chat == 8:
			otherChatIn.Store(true)
		case h.UpdateID == 1 && (!otherChatIn.Load() || failures.Load() < 2):
			failures.Add(1)
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	setWebhook(t, s, map[string]any{"url": e.URL, "max_connections": 2})
	first := sendText(t, s, 7, "first")
	other := sendText(t, s, 8, "other chat")
	// A callback query in chat 7, pushed as a whole update: its order key comes from
	// callback_query.message.chat.
	press, err := s.PushUpdate(gotgbot.Update{CallbackQuery: &gotgbot.CallbackQuery{
		Id: "q1", From: emulator.User(7), ChatInstance: "7", Data: "x",
		Message: &gotgbot.Message{MessageId: first.MessageID, Chat: gotgbot.Chat{Id: 7, Type: "private"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	waitConfirmed(t, s, press)

	var order []int64
	for _, h := range e.Hits() {
		if h.Status == http.StatusOK {
			order = append(order, h.UpdateID)
		}
	}
	if i, j, k := slices.Index(order, other.UpdateID), slices.Index(order, first.UpdateID), slices.Index(order, press); i < 0 || !(i < j && j < k) {
		t.Errorf("accepted in order %v: want chat 8's update %d before chat 7's %d, and chat 7's %d after it", order, other.UpdateID, first.UpdateID, press)
	}
	if len(order) != 3 {
		t.Errorf("accepted %v, want each update once", order)
	}
	info := s.WebhookInfo()
	if info.Failures != failures.Load() || info.Failures < 2 || info.Posts != info.Failures+3 {
		t.Errorf("posts %d, failures %d; the endpoint failed %d", info.Posts, info.Failures, failures.Load())
	}
	if info.LastErrorMessage != "Wrong response from the webhook: 500 Internal Server Error" || time.Since(time.Unix(info.LastErrorDate, 0)) > time.Minute {
		t.Errorf("last error %d %q", info.LastErrorDate, info.LastErrorMessage)
	}
	var wi gotgbot.WebhookInfo
	if err := json.Unmarshal(mustOK(t, callJSON(t, s, "getWebhookInfo", nil)), &wi); err != nil || wi.LastErrorMessage != info.LastErrorMessage || wi.PendingUpdateCount != 0 {
		t.Errorf("getWebhookInfo = %+v, %v", wi, err)
	}
}

func TestWebhookConnectionDropped(t *testing.T) {
	s := newServer(t)
	var attempts atomic.Int64
	e := newEndpoint(t, func(*http.Request, hit) int {
		if attempts.Add(1) == 1 {
			return -1 // no answer: the connection is closed
		}
		return http.StatusOK
	})
	setWebhook(t, s, map[string]any{"url": e.URL})
	p := sendText(t, s, 3, "hello")
	waitConfirmed(t, s, p.UpdateID)
	info := s.WebhookInfo()
	if info.Failures != 1 || !strings.HasPrefix(info.LastErrorMessage, "Connection failed: ") {
		t.Errorf("failures %d, last error %q", info.Failures, info.LastErrorMessage)
	}
}

func TestGetUpdatesConflictsWithWebhook(t *testing.T) {
	s := newServer(t)
	e := newEndpoint(t, func(*http.Request, hit) int { return http.StatusServiceUnavailable })

	poll := callAsync(s, "getUpdates", map[string]any{"timeout": 10})
	waitPolling(t, s)
	setWebhook(t, s, map[string]any{"url": e.URL})
	select {
	case r := <-poll:
		if r.err != nil || r.ErrorCode != http.StatusConflict || r.Description != "Conflict: terminated by setWebhook request" {
			t.Errorf("long poll got %d %q (%v), want 409 terminated by setWebhook", r.ErrorCode, r.Description, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("setWebhook did not end the long poll")
	}

	p := sendText(t, s, 4, "held")
	e.await(t) // the webhook refused it once at least
	r := callJSON(t, s, "getUpdates", map[string]any{"offset": p.UpdateID + 1})
	if r.ErrorCode != http.StatusConflict || r.Description != "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" {
		t.Errorf("getUpdates with a webhook set: %d %q", r.ErrorCode, r.Description)
	}
	if s.Confirmed() >= p.UpdateID {
		t.Error("a refused getUpdates confirmed its offset")
	}

	// Deleted, the webhook's undelivered update is there for getUpdates.
	mustOK(t, callJSON(t, s, "deleteWebhook", nil))
	if us := getUpdates(t, s, nil); len(us) != 1 || us[0].UpdateID != p.UpdateID {
		t.Errorf("getUpdates after deleteWebhook = %+v, want update %d", us, p.UpdateID)
	}
}

// TestPollingAfterWebhook: the webhook accepted a later update of another chat while an
// earlier one kept failing; once the webhook is deleted, getUpdates returns only the
// undelivered update, and Confirmed stays below it.
func TestPollingAfterWebhook(t *testing.T) {
	s := newServer(t)
	e := newEndpoint(t, func(_ *http.Request, h hit) int {
		if h.Chat == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	// One connection, one deliverer: once the stuck update is posted again after the other
	// was accepted, the emulator has taken that acceptance in.
	setWebhook(t, s, map[string]any{"url": e.URL, "max_connections": 1})
	stuck := sendText(t, s, 1, "stuck")
	through := sendText(t, s, 2, "through")
	for accepted := false; ; {
		h := e.await(t)
		accepted = accepted || h.UpdateID == through.UpdateID && h.Status == http.StatusOK
		if accepted && h.UpdateID == stuck.UpdateID {
			break
		}
	}
	mustOK(t, callJSON(t, s, "deleteWebhook", nil))
	if c := s.Confirmed(); c != stuck.UpdateID-1 {
		t.Errorf("confirmed %d, want %d: update %d is not delivered", c, stuck.UpdateID-1, stuck.UpdateID)
	}
	for _, offset := range []int64{0, -1, math.MinInt64} {
		if us := getUpdates(t, s, map[string]any{"offset": offset}); len(us) != 1 || us[0].UpdateID != stuck.UpdateID {
			t.Errorf("getUpdates(offset %d) = %+v, want only update %d", offset, us, stuck.UpdateID)
		}
	}
	getUpdates(t, s, map[string]any{"offset": stuck.UpdateID + 1})
	if c := s.Confirmed(); c != through.UpdateID {
		t.Errorf("confirmed %d, want %d", c, through.UpdateID)
	}
}

func TestDeleteWebhookStopsPushing(t *testing.T) {
	s := newServer(t)
	e := newEndpoint(t, accept)
	setWebhook(t, s, map[string]any{"url": e.URL})
	a := sendText(t, s, 1, "a")
	waitConfirmed(t, s, a.UpdateID)
	mustOK(t, callJSON(t, s, "deleteWebhook", nil))
	// deleteWebhook returns once the deliverers have stopped, so nothing can post b later.
	b := sendText(t, s, 1, "b")
	if us := getUpdates(t, s, nil); len(us) != 1 || us[0].UpdateID != b.UpdateID {
		t.Errorf("getUpdates = %+v, want only update %d", us, b.UpdateID)
	}
	if hits := e.Hits(); len(hits) != 1 || hits[0].UpdateID != a.UpdateID {
		t.Errorf("posted %+v after deleteWebhook, want only update %d before it", hits, a.UpdateID)
	}
	if info := s.WebhookInfo(); info.Url != "" || info.PendingUpdateCount != 1 {
		t.Errorf("webhook info = %+v", info)
	}
}

func TestDropPendingUpdates(t *testing.T) {
	t.Run("setWebhook", func(t *testing.T) {
		s := newServer(t)
		e := newEndpoint(t, accept)
		var old int64
		for range 3 {
			old = sendText(t, s, 2, "old").UpdateID
		}
		setWebhook(t, s, map[string]any{"url": e.URL, "drop_pending_updates": true})
		if s.Confirmed() != old {
			t.Errorf("confirmed %d after dropping up to %d", s.Confirmed(), old)
		}
		fresh := sendText(t, s, 2, "new")
		waitConfirmed(t, s, fresh.UpdateID)
		if hits := e.Hits(); len(hits) != 1 || hits[0].UpdateID != fresh.UpdateID {
			t.Errorf("posted %+v, want only update %d", hits, fresh.UpdateID)
		}
	})
	t.Run("deleteWebhook", func(t *testing.T) {
		s := newServer(t)
		e := newEndpoint(t, func(*http.Request, hit) int { return http.StatusServiceUnavailable })
		setWebhook(t, s, map[string]any{"url": e.URL})
		sendText(t, s, 2, "a")
		sendText(t, s, 3, "b")
		e.await(t)
		if n := s.WebhookInfo().PendingUpdateCount; n != 2 {
			t.Errorf("pending %d, want 2", n)
		}
		mustOK(t, callJSON(t, s, "deleteWebhook", map[string]any{"drop_pending_updates": true}))
		if n := s.WebhookInfo().PendingUpdateCount; n != 0 {
			t.Errorf("pending %d after dropping", n)
		}
		if us := getUpdates(t, s, nil); len(us) != 0 {
			t.Errorf("getUpdates = %+v after dropping", us)
		}
	})
}

// TestWebhookConcurrency pushes 50 chats × 20 updates through 8 connections, failing some
// first attempts: the emulator must use all 8 connections and no more (and reuse them),
// never post two updates of one chat at once, and deliver each chat's updates in order,
// each once.
func TestWebhookConcurrency(t *testing.T) {
	const (
		maxConn = 8
		chats   = 50
		perChat = 20
	)
	s := newServer(t)
	var (
		cur, peak atomic.Int64
		full      = make(chan struct{})
		fullOnce  sync.Once
		busy      sync.Map // chat -> *atomic.Bool
		tried     sync.Map // update_id -> struct{}
		conns     sync.Map // the webhook's TCP connections, by remote address
		mu        sync.Mutex
		accepted  = make(map[int64][]int64) // chat -> update ids in order
	)
	e := newEndpoint(t, func(r *http.Request, h hit) int {
		conns.Store(r.RemoteAddr, true)
		n := cur.Add(1)
		defer cur.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if n == maxConn {
			fullOnce.Do(func() { close(full) })
		}
		b, _ := busy.LoadOrStore(h.Chat, new(atomic.Bool))
		if !b.(*atomic.Bool).CompareAndSwap(false, true) {
			t.Errorf("chat %d: update %d posted while another of the chat was in flight", h.Chat, h.UpdateID)
			return http.StatusOK
		}
		defer b.(*atomic.Bool).Store(false)
		// Hold the first wave until all connections are in use, so the test sees them.
		select {
		case <-full:
		case <-time.After(10 * time.Second):
			t.Errorf("never %d POSTs at once (peak %d)", maxConn, peak.Load())
		}
		if _, again := tried.LoadOrStore(h.UpdateID, struct{}{}); !again && h.UpdateID%7 == 0 {
			return http.StatusBadGateway
		}
		mu.Lock()
		accepted[h.Chat] = append(accepted[h.Chat], h.UpdateID)
		mu.Unlock()
		return http.StatusOK
	})
	setWebhook(t, s, map[string]any{"url": e.URL, "max_connections": maxConn})
	want := make(map[int64][]int64)
	var last int64
	for i := range perChat {
		for c := int64(1); c <= chats; c++ {
			p := sendText(t, s, c, fmt.Sprint(i))
			want[c] = append(want[c], p.UpdateID)
			last = p.UpdateID
		}
	}
	waitConfirmed(t, s, last)

	if p := peak.Load(); p != maxConn {
		t.Errorf("peak concurrent POSTs %d, want max_connections = %d", p, maxConn)
	}
	// A peak above max_connections needs a race to show; the connections it needs do not,
	// since they are opened by the first wave, which the endpoint holds.
	n := 0
	conns.Range(func(any, any) bool { n++; return true })
	if n > maxConn {
		t.Errorf("%d connections to the webhook, want at most max_connections = %d", n, maxConn)
	}
	mu.Lock()
	defer mu.Unlock()
	for c, ids := range want {
		if !slices.Equal(accepted[c], ids) {
			t.Errorf("chat %d accepted %v, want %v", c, accepted[c], ids)
		}
	}
	if info := s.WebhookInfo(); info.PendingUpdateCount != 0 || info.Failures == 0 {
		t.Errorf("webhook info = %+v, want nothing pending and some failures retried", info)
	}
}

func TestCloseCancelsDelivery(t *testing.T) {
	s := newServer(t)
	entered := make(chan struct{}, 1)
	e := newEndpoint(t, func(r *http.Request, _ hit) int {
		entered <- struct{}{}
		<-r.Context().Done() // never answers; only the emulator closing ends the POST
		return http.StatusOK
	})
	setWebhook(t, s, map[string]any{"url": e.URL})
	sendText(t, s, 1, "stuck")
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the update was not posted")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a webhook POST in flight")
	}
	e.await(t) // the stuck handler saw its request cancelled
}

// BenchmarkWebhookDelivery measures the emulator's side of webhook delivery: updates of
// 1,000 chats pushed and POSTed to an endpoint that accepts them at once.
func BenchmarkWebhookDelivery(b *testing.B) {
	s, err := emulator.New(emulator.Config{Token: token, DiscardSent: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	e := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer e.Close()
	setWebhook(b, s, map[string]any{"url": e.URL, "max_connections": 40})
	b.ReportAllocs()
	b.ResetTimer()
	var last int64
	for i := range b.N {
		p, err := s.SendText(int64(i%1000)+1, "hello")
		if err != nil {
			b.Fatal(err)
		}
		last = p.UpdateID
	}
	waitConfirmed(b, s, last)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}
