package intake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot/ops"
	"github.com/troupebot/troupe/emulator"
)

var quiet = slog.New(slog.DiscardHandler)

// recorder is a Deliverer that keeps every update and its done callback; finishNow makes it
// call done at once, and refuse makes it refuse updates (as a closing runtime does).
type recorder struct {
	mu        sync.Mutex
	got       []*gotgbot.Update
	dones     map[int64]func()
	finishNow bool
	refuse    error
	refused   chan int64 // the updates refused
}

func newRecorder() *recorder {
	return &recorder{dones: make(map[int64]func()), refused: make(chan int64, 1000)}
}

func (r *recorder) Deliver(u *gotgbot.Update, done func()) error {
	r.mu.Lock()
	if r.refuse != nil {
		err := r.refuse
		r.mu.Unlock()
		r.refused <- u.UpdateId
		return err
	}
	r.got = append(r.got, u)
	r.dones[u.UpdateId] = done
	finish := r.finishNow
	r.mu.Unlock()
	if finish {
		done()
	}
	return nil
}

func (r *recorder) set(f func(r *recorder)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

func (r *recorder) updates() []*gotgbot.Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *recorder) finish(id int64) {
	r.mu.Lock()
	done := r.dones[id]
	r.mu.Unlock()
	done()
}

const testSecret = "s3cret_-token"

func serve(tb testing.TB, d Deliverer, cfg WebhookConfig) (*Webhook, string) {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	w := NewWebhook(d, cfg)
	srv := httptest.NewServer(w)
	tb.Cleanup(srv.Close)
	return w, srv.URL
}

// post sends body with the given secret header (none if nil) and returns the status.
func post(tb testing.TB, url string, secret *string, body io.Reader) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != nil {
		req.Header.Set(SecretTokenHeader, *secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func ptr(s string) *string { return &s }

func textUpdate(id int64, user int64, text string) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":7,"from":{"id":%d,"is_bot":false,"first_name":"Ann"},"chat":{"id":%[2]d,"type":"private"},"date":1700000000,"text":%q,"entities":[{"type":"bot_command","offset":0,"length":6}]}}`, id, user, text)
}

func TestWebhookRefuses(t *testing.T) {
	big := `{"update_id":1,"message":{"text":"` + strings.Repeat("x", 2000) + `"}}`
	tests := []struct {
		name   string
		method string
		secret *string
		body   io.Reader
		status int
		want   WebhookRejects
	}{
		{"wrong secret", "", ptr("s3cret_-tokeN"), strings.NewReader(textUpdate(1, 5, "hi")), 401, WebhookRejects{Secret: 1}},
		{"secret of another length", "", ptr("s3cret"), strings.NewReader(textUpdate(1, 5, "hi")), 401, WebhookRejects{Secret: 1}},
		{"no secret", "", nil, strings.NewReader(textUpdate(1, 5, "hi")), 401, WebhookRejects{Secret: 1}},
		{"empty secret", "", ptr(""), strings.NewReader(textUpdate(1, 5, "hi")), 401, WebhookRejects{Secret: 1}},
		{"oversized", "", ptr(testSecret), strings.NewReader(big), 413, WebhookRejects{Size: 1}},
		// No Content-Length: only reading finds the body too big.
		{"oversized chunked", "", ptr(testSecret), iotest.OneByteReader(strings.NewReader(big)), 413, WebhookRejects{Size: 1}},
		{"malformed JSON", "", ptr(testSecret), strings.NewReader(`{"update_id":1,`), 400, WebhookRejects{JSON: 1}},
		{"trailing garbage", "", ptr(testSecret), strings.NewReader(`{"update_id":1} x`), 400, WebhookRejects{JSON: 1}},
		{"not an object", "", ptr(testSecret), strings.NewReader(`[1]`), 400, WebhookRejects{JSON: 1}},
		{"null", "", ptr(testSecret), strings.NewReader(`null`), 400, WebhookRejects{JSON: 1}},
		{"empty body", "", ptr(testSecret), strings.NewReader(``), 400, WebhookRejects{JSON: 1}},
		{"no update_id", "", ptr(testSecret), strings.NewReader(`{"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"}}}`), 400, WebhookRejects{JSON: 1}},
		{"null update_id", "", ptr(testSecret), strings.NewReader(`{"update_id":null}`), 400, WebhookRejects{JSON: 1}},
		{"update_id not a number", "", ptr(testSecret), strings.NewReader(`{"update_id":"1"}`), 400, WebhookRejects{JSON: 1}},
		{"GET", http.MethodGet, ptr(testSecret), nil, 405, WebhookRejects{Method: 1}},
		{"PUT", http.MethodPut, ptr(testSecret), strings.NewReader(textUpdate(1, 5, "hi")), 405, WebhookRejects{Method: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			w, url := serve(t, rec, WebhookConfig{Secret: testSecret, MaxBody: 1024})
			var resp *http.Response
			if tt.method != "" {
				req, _ := http.NewRequest(tt.method, url, tt.body)
				req.Header.Set(SecretTokenHeader, *tt.secret)
				var err error
				if resp, err = http.DefaultClient.Do(req); err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			} else {
				resp = post(t, url, tt.secret, tt.body)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", resp.Header.Get("Allow"))
			}
			if n := len(rec.updates()); n != 0 {
				t.Errorf("%d updates delivered", n)
			}
			if st := w.Stats(); st.Rejected != tt.want || st.Received != 1 || st.Delivered != 0 {
				t.Errorf("stats %+v, want rejected %+v", st, tt.want)
			}
		})
	}
}

// TestWebhookRefusesBeforeTheBody sends a wrong secret with a body that is huge, or that
// never ends, trickled: the answer comes at once, without waiting for the body (the
// server's read timeout is a minute), and the connection is closed rather than drained.
func TestWebhookRefusesBeforeTheBody(t *testing.T) {
	for _, tt := range []struct {
		name, framing, start string
	}{
		{"huge body", "Content-Length: 1073741824", `{"update_id":1,`},
		// Small enough that net/http would drain it to keep the connection.
		{"slow body", "Content-Length: 200000", `{"update_id":1,`},
		{"endless chunked body", "Transfer-Encoding: chunked", "f\r\n{\"update_id\":1,\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWebhook(newRecorder(), WebhookConfig{Secret: testSecret, Logger: quiet})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := ops.NewServer(w, ops.ServerConfig{ReadTimeout: time.Minute, WriteTimeout: time.Minute, Logger: quiet})
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: x\r\n%s: wrong\r\n%s\r\n\r\n%s", SecretTokenHeader, tt.framing, tt.start)
			stop := make(chan struct{})
			defer close(stop)
			go func() { // the trickle goes on until the connection is gone
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := io.WriteString(c, "1\r\n \r\n"); err != nil {
							return
						}
					}
				}
			}()

			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
			io.Copy(io.Discard, resp.Body)
			if _, err := r.ReadByte(); errors.Is(err, os.ErrDeadlineExceeded) {
				t.Error("the connection stayed open after the refusal")
			}
			if st := w.Stats(); st.Rejected != (WebhookRejects{Secret: 1}) {
				t.Errorf("rejected %+v, want 1 for the secret", st.Rejected)
			}
		})
	}
}

// TestWebhookRefusalLogIsRateLimited: a flood of refusals is counted in full and logged a
// few lines at a time, the lines saying how many they stand for.
func TestWebhookRefusalLogIsRateLimited(t *testing.T) {
	logged := make(chan int64, 1000) // how many refusals each line stands for
	log := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		var line struct{ Suppressed int64 }
		json.Unmarshal(p, &line)
		logged <- 1 + line.Suppressed
		return len(p), nil
	}), nil))
	w, url := serve(t, newRecorder(), WebhookConfig{Secret: testSecret, Logger: log})
	const flood = 200
	for range flood {
		if resp := post(t, url, ptr("wrong"), strings.NewReader(textUpdate(1, 5, "hi"))); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if st := w.Stats(); st.Rejected.Secret != flood {
		t.Errorf("%d refusals counted, want %d", st.Rejected.Secret, flood)
	}
	deadline := time.After(10 * time.Second)
	var lines, total int64
	for total < flood {
		select {
		case n := <-logged:
			lines++
			total += n
		case <-deadline:
			t.Fatalf("%d lines stand for %d refusals, want %d", lines, total, flood)
		}
	}
	if total != flood || lines > flood/4 {
		t.Errorf("%d lines stand for %d refusals, want a few lines for %d", lines, total, flood)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestWebhookRejectsByReason(t *testing.T) {
	r := WebhookRejects{Method: 1, Secret: 2, Size: 3, JSON: 4, Draining: 5, Closed: 6, Pending: 7, Journal: 8, Busy: 9}
	var got []string
	for reason, n := range r.ByReason() {
		got = append(got, fmt.Sprint(reason, "=", n))
	}
	want := []string{"method=1", "secret=2", "size=3", "json=4", "draining=5", "closed=6", "pending=7", "journal=8", "busy=9"}
	if !slices.Equal(got, want) {
		t.Errorf("ByReason = %v, want %v", got, want)
	}
}

func TestWebhookDelivers(t *testing.T) {
	rec := newRecorder()
	w, url := serve(t, rec, WebhookConfig{Secret: testSecret})
	if resp := post(t, url, ptr(testSecret), strings.NewReader(textUpdate(41, 5, "/start now"))); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cb := `{"update_id":42,"callback_query":{"id":"q9","from":{"id":6,"is_bot":false,"first_name":"Bo"},"chat_instance":"1","data":"yes","message":{"message_id":3,"date":0,"chat":{"id":6,"type":"private"}}}}`
	if resp := post(t, url, ptr(testSecret), strings.NewReader(cb)); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := rec.updates()
	if len(got) != 2 {
		t.Fatalf("delivered %d updates, want 2", len(got))
	}
	m := got[0].Message
	if got[0].UpdateId != 41 || m == nil || m.Text != "/start now" || m.Chat.Id != 5 || m.From == nil || m.From.Id != 5 || m.From.FirstName != "Ann" ||
		m.Date != 1700000000 || len(m.Entities) != 1 || m.Entities[0].Type != "bot_command" {
		t.Errorf("message update decoded as %+v, message %+v", got[0], m)
	}
	q := got[1].CallbackQuery
	if got[1].UpdateId != 42 || q == nil || q.Data != "yes" || q.From.Id != 6 || q.Message == nil || q.Message.GetChat().Id != 6 || q.Message.GetMessageId() != 3 {
		t.Errorf("callback update decoded as %+v, query %+v", got[1], q)
	}
	if st := w.Stats(); st.Received != 2 || st.Delivered != 2 || st.InFlight != 2 || st.Rejected != (WebhookRejects{}) {
		t.Errorf("stats %+v", st)
	}
	rec.finish(41)
	rec.finish(41) // a second call must not count twice
	if st := w.Stats(); st.InFlight != 1 {
		t.Errorf("in flight %d after one update finished, want 1", st.InFlight)
	}
}

// TestWebhookSkipsUndecodable: valid JSON with an update_id that gotgbot cannot decode (a
// newer Bot API) is answered 200 and skipped, as the poller does; a 400 would make Telegram
// send it forever.
func TestWebhookSkipsUndecodable(t *testing.T) {
	rec := newRecorder()
	w, url := serve(t, rec, WebhookConfig{})
	for _, body := range []string{
		`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"forward_origin":{"type":"hologram"}}}`,
		`{"update_id":2,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"text":12}}`,
	} {
		if resp := post(t, url, nil, strings.NewReader(body)); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", body, resp.StatusCode)
		}
	}
	if st := w.Stats(); st.Undecodable != 2 || st.Delivered != 0 || st.Rejected != (WebhookRejects{}) || len(rec.updates()) != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestWebhookNoSecretConfigured(t *testing.T) {
	rec := newRecorder()
	_, url := serve(t, rec, WebhookConfig{})
	for i, secret := range []*string{nil, ptr("anything")} {
		if resp := post(t, url, secret, strings.NewReader(textUpdate(int64(i+1), 5, "hi"))); resp.StatusCode != http.StatusOK {
			t.Errorf("secret %v: status %d", secret, resp.StatusCode)
		}
	}
}

func TestWebhookDuplicates(t *testing.T) {
	rec := newRecorder()
	w, url := serve(t, rec, WebhookConfig{Window: 3})
	for _, id := range []int64{1, 2, 1, 3, 2, 4, 1} {
		// With a window of 3, 1 is forgotten once 2, 3 and 4 came after it.
		if resp := post(t, url, nil, strings.NewReader(textUpdate(id, 5, "x"))); resp.StatusCode != http.StatusOK {
			t.Errorf("update %d: status %d", id, resp.StatusCode)
		}
	}
	var ids []int64
	for _, u := range rec.updates() {
		ids = append(ids, u.UpdateId)
	}
	if want := []int64{1, 2, 3, 4, 1}; !slices.Equal(ids, want) {
		t.Errorf("delivered %v, want %v", ids, want)
	}
	if st := w.Stats(); st.Duplicates != 2 || st.Delivered != 5 {
		t.Errorf("stats %+v, want 2 duplicates", st)
	}
}

// blocker is a Deliverer whose Deliver blocks until released, as a runtime applying
// backpressure would.
type blocker struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blocker) Deliver(u *gotgbot.Update, done func()) error {
	b.entered <- struct{}{}
	<-b.release
	return nil
}

func TestWebhookDuplicateWhileDelivering(t *testing.T) {
	b := &blocker{entered: make(chan struct{}, 1), release: make(chan struct{})}
	w, url := serve(t, b, WebhookConfig{})
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(textUpdate(9, 5, "x")))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	select {
	case <-b.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("first POST not delivered")
	}
	if resp := post(t, url, nil, strings.NewReader(textUpdate(9, 5, "x"))); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("re-sent while delivering: status %d, want 503", resp.StatusCode)
	}
	close(b.release)
	select {
	case status := <-first:
		if status != http.StatusOK {
			t.Errorf("first POST: status %d", status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first POST not answered")
	}
	if resp := post(t, url, nil, strings.NewReader(textUpdate(9, 5, "x"))); resp.StatusCode != http.StatusOK {
		t.Errorf("re-sent after delivery: status %d, want 200", resp.StatusCode)
	}
	if st := w.Stats(); st.Delivered != 1 || st.Duplicates != 1 || st.Rejected.Pending != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestWebhookRuntimeClosing(t *testing.T) {
	rec := newRecorder()
	rec.refuse = errors.New("runtime closed")
	w, url := serve(t, rec, WebhookConfig{})
	if resp := post(t, url, nil, strings.NewReader(textUpdate(1, 5, "x"))); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	// The refused update is not remembered: Telegram's retry is delivered.
	rec.set(func(r *recorder) { r.refuse = nil })
	if resp := post(t, url, nil, strings.NewReader(textUpdate(1, 5, "x"))); resp.StatusCode != http.StatusOK {
		t.Errorf("retry: status %d, want 200", resp.StatusCode)
	}
	if st := w.Stats(); st.Delivered != 1 || st.Duplicates != 0 || st.Rejected.Closed != 1 || st.InFlight != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestWebhookDrain(t *testing.T) {
	rec := newRecorder()
	w, url := serve(t, rec, WebhookConfig{})
	for _, id := range []int64{1, 2} {
		if resp := post(t, url, nil, strings.NewReader(textUpdate(id, 5, "x"))); resp.StatusCode != http.StatusOK {
			t.Fatalf("update %d: status %d", id, resp.StatusCode)
		}
	}
	// A drain whose deadline passes reports the unfinished updates.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Drain(short); err == nil || !strings.Contains(err.Error(), "2 updates unfinished") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Drain = %v, want 2 unfinished and the deadline", err)
	}
	if resp := post(t, url, nil, strings.NewReader(textUpdate(3, 5, "x"))); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("while draining: status %d, want 503", resp.StatusCode)
	}
	// Re-sent updates are refused too: Telegram must try again later.
	if resp := post(t, url, nil, strings.NewReader(textUpdate(1, 5, "x"))); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("re-sent while draining: status %d, want 503", resp.StatusCode)
	}

	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	drained := make(chan error, 1)
	go func() { drained <- w.Drain(ctx) }()
	rec.finish(1)
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v with update 2 unfinished", err)
	default:
	}
	rec.finish(2)
	select {
	case err := <-drained:
		if err != nil {
			t.Errorf("Drain = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return once every update was done")
	}
	if st := w.Stats(); st.Delivered != 2 || st.InFlight != 0 || st.Rejected.Draining != 2 {
		t.Errorf("stats %+v", st)
	}
	if err := w.Drain(ctx); err != nil {
		t.Errorf("second Drain = %v", err)
	}
}

// TestWebhookDoneDuringDeliver: the runtime finishes some updates inside Deliver (those it
// has no actor for); Drain must see them done.
func TestWebhookDoneDuringDeliver(t *testing.T) {
	rec := newRecorder()
	rec.finishNow = true
	w, url := serve(t, rec, WebhookConfig{})
	if resp := post(t, url, nil, strings.NewReader(textUpdate(1, 5, "x"))); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Drain(ctx); err != nil {
		t.Errorf("Drain = %v", err)
	}
}

// TestWebhookWithEmulator runs the emulator's webhook delivery against the handler: every
// update arrives once, each user's in order, with the secret; updates the runtime refused
// come again and are taken.
func TestWebhookWithEmulator(t *testing.T) {
	const token = "77:hook-token"
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	rec := newRecorder()
	rec.finishNow = true
	rec.refuse = errors.New("not yet")
	w, url := serve(t, rec, WebhookConfig{Secret: testSecret})

	hook, _ := json.Marshal(map[string]any{"url": url + "/webhook", "secret_token": testSecret, "max_connections": 4})
	resp, err := http.Post(emu.URL()+"/bot"+token+"/setWebhook", "application/json", bytes.NewReader(hook))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("setWebhook: %v %v", resp, err)
	}
	resp.Body.Close()
	// The first update is refused until the runtime "opens".
	first, _ := emu.SendText(1, "0")
	want := map[int64][]int64{1: {first.UpdateID}}
	var last int64
	for i := 1; i < 10; i++ {
		for user := int64(1); user <= 3; user++ {
			p, err := emu.SendText(user, fmt.Sprint(i))
			if err != nil {
				t.Fatal(err)
			}
			want[user] = append(want[user], p.UpdateID)
			last = p.UpdateID
		}
	}
	select {
	case <-rec.refused:
	case <-time.After(10 * time.Second):
		t.Fatal("the emulator never posted")
	}
	rec.set(func(r *recorder) { r.refuse = nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := emu.WaitConfirmed(ctx, last); err != nil {
		t.Fatal(err)
	}
	got := make(map[int64][]int64)
	for _, u := range rec.updates() {
		got[u.Message.From.Id] = append(got[u.Message.From.Id], u.UpdateId)
	}
	for user, ids := range want {
		if !slices.Equal(got[user], ids) {
			t.Errorf("user %d: delivered %v, want %v", user, got[user], ids)
		}
	}
	if st := w.Stats(); st.Rejected.Secret != 0 || st.Duplicates != 0 || st.InFlight != 0 {
		t.Errorf("stats %+v", st)
	}
}

// FuzzWebhook posts arbitrary bodies and secrets: the handler must not panic, must answer
// one of its statuses, and must answer 200 only to a body that is an update.
func FuzzWebhook(f *testing.F) {
	f.Add([]byte(textUpdate(1, 5, "hi")), testSecret, true)
	f.Add([]byte(`{"update_id":2,"callback_query":{"id":"q","from":{"id":1,"is_bot":false,"first_name":"a"},"chat_instance":"1","message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"}}}}`), testSecret, true)
	f.Add([]byte(`{"update_id":3,"message":{"reply_to_message":{"date":5,"chat":{}},"pinned_message":{"date":0},"forward_origin":{"type":"user"}}}`), testSecret, true)
	f.Add([]byte(`{"update_id":1,`), testSecret, true)
	f.Add([]byte(`null`), testSecret, true)
	f.Add([]byte(textUpdate(1, 5, "hi")), "wrong", true)
	f.Add([]byte(strings.Repeat("[", 5000)), testSecret, true)
	f.Add([]byte(``), testSecret, false)
	f.Add([]byte(`{"update_id":4,"message":{"text":12}}`), testSecret, true)
	w := NewWebhook(deliverFunc(func(u *gotgbot.Update, done func()) error {
		if u == nil {
			panic("nil update delivered")
		}
		done()
		return nil
	}), WebhookConfig{Secret: testSecret, MaxBody: 4096, Window: 16, Logger: quiet})
	allowed := []int{200, 400, 401, 405, 413, 503}
	f.Fuzz(func(t *testing.T, body []byte, secret string, isPost bool) {
		method := http.MethodPost
		if !isPost {
			method = http.MethodGet
		}
		req := httptest.NewRequest(method, "/webhook", bytes.NewReader(body))
		req.Header.Set(SecretTokenHeader, secret)
		rw := httptest.NewRecorder()
		w.ServeHTTP(rw, req)
		if !slices.Contains(allowed, rw.Code) {
			t.Fatalf("status %d", rw.Code)
		}
		if rw.Code == http.StatusOK && (!isPost || secret != testSecret || !json.Valid(body)) {
			t.Fatalf("200 to %s %q with secret %q", method, body, secret)
		}
	})
}

type deliverFunc func(u *gotgbot.Update, done func()) error

func (f deliverFunc) Deliver(u *gotgbot.Update, done func()) error { return f(u, done) }

// printer is a Deliverer that prints each update and finishes it at once.
type printer struct{}

func (printer) Deliver(u *gotgbot.Update, done func()) error {
	fmt.Println("update", u.UpdateId, u.Message.Text)
	done()
	return nil
}

func ExampleNewWebhook() {
	wh := NewWebhook(printer{}, WebhookConfig{Secret: "s3cret"})
	mux := http.NewServeMux()
	mux.Handle("/webhook", wh) // the path of -webhook-url
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// What Telegram sends.
	body := `{"update_id":1,"message":{"message_id":1,"date":1700000000,"chat":{"id":5,"type":"private"},"text":"hi"}}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", strings.NewReader(body))
	req.Header.Set(SecretTokenHeader, "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)

	// On shutdown: refuse new updates, wait for the taken ones.
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	fmt.Println(wh.Drain(ctx))
	// Output:
	// update 1 hi
	// 200 OK
	// <nil>
}

// BenchmarkWebhook measures the handler alone, without HTTP: check, read, decode,
// de-duplicate and deliver one text update.
func BenchmarkWebhook(b *testing.B) {
	// The window is smaller than the bodies' ids cycle, so no update is a duplicate.
	w := NewWebhook(deliverFunc(func(u *gotgbot.Update, done func()) error { done(); return nil }), WebhookConfig{Secret: testSecret, Window: 16, Logger: quiet})
	bodies := make([][]byte, 1024)
	for i := range bodies {
		bodies[i] = []byte(textUpdate(int64(i+1), 5, "hello there"))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set(SecretTokenHeader, testSecret)
		rw := httptest.NewRecorder()
		w.ServeHTTP(rw, req)
		if rw.Code != http.StatusOK {
			b.Fatalf("status %d", rw.Code)
		}
		i++
	}
	if st := w.Stats(); st.Duplicates != 0 {
		b.Fatalf("%d duplicates", st.Duplicates)
	}
}

// TestWebhookBoundsInFlight: past MaxInFlight unfinished updates the webhook answers 503 and
// delivers nothing, so a flood cannot grow the mailboxes; a finished update makes room.
func TestWebhookBoundsInFlight(t *testing.T) {
	rec := newRecorder()
	w, url := serve(t, rec, WebhookConfig{Secret: testSecret, MaxInFlight: 2})
	for id := int64(1); id <= 3; id++ {
		resp := post(t, url, ptr(testSecret), strings.NewReader(textUpdate(id, 5, "/start")))
		resp.Body.Close()
		want := http.StatusOK
		if id == 3 {
			want = http.StatusServiceUnavailable
		}
		if resp.StatusCode != want {
			t.Errorf("update %d: %d, want %d", id, resp.StatusCode, want)
		}
	}
	if st := w.Stats(); st.Rejected.Busy != 1 || len(rec.updates()) != 2 {
		t.Errorf("stats %+v, %d delivered; want 1 busy and 2 delivered", st, len(rec.updates()))
	}
	rec.finish(1)
	resp := post(t, url, ptr(testSecret), strings.NewReader(textUpdate(3, 5, "/start")))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("update 3 after one finished: %d, want 200", resp.StatusCode)
	}
}
