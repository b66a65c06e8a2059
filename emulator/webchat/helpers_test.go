package webchat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/bottest"
	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/emulator/webchat"
)

// wait bounds every wait on the page or the bot in these tests.
const wait = 20 * time.Second

// page is the real notebook bot on the emulator, with the page server over real HTTP.
type page struct {
	tb  testing.TB
	h   *bottest.Harness
	srv *webchat.Server
	url string
}

func newPage(tb testing.TB, cfg webchat.Config) *page {
	tb.Helper()
	h := bottest.Start(tb, notebook.New(notebook.Options{Admins: []int64{1}, Chaos: true}))
	cfg.Emulator = h.Emulator()
	cfg.Chaos = true
	if cfg.Tick == 0 {
		cfg.Tick = 20 * time.Millisecond
	}
	b := h.Bot()
	cfg.Status = webchat.StatusFunc(func() webchat.Figures { return figuresOf(b.Snapshot()) })
	srv, err := webchat.New(cfg)
	if err != nil {
		tb.Fatalf("webchat.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	tb.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return &page{tb: tb, h: h, srv: srv, url: hs.URL}
}

func figuresOf(s bot.Snapshot) webchat.Figures {
	return webchat.Figures{Resident: s.Runtime.Resident, Spawned: s.Runtime.Spawned, Restarts: s.Runtime.Restarts.Total, Replies: s.Sender.Sent, Updates: s.Runtime.Delivered}
}

// post sends body as JSON (a string is sent as it is) and returns the status and the
// decoded answer.
func (p *page) post(path string, body any) (int, map[string]any) {
	p.tb.Helper()
	var raw []byte
	if s, ok := body.(string); ok {
		raw = []byte(s)
	} else {
		raw, _ = json.Marshal(body)
	}
	resp, err := http.Post(p.url+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		p.tb.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		p.tb.Fatalf("POST %s: %d, body not JSON: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// mustPost posts and fails the test unless the answer is 200.
func (p *page) mustPost(path string, body any) map[string]any {
	p.tb.Helper()
	code, out := p.post(path, body)
	if code != http.StatusOK {
		p.tb.Fatalf("POST %s %v: %d %v", path, body, code, out)
	}
	return out
}

func (p *page) get(path string) (*http.Response, []byte) {
	p.tb.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		p.tb.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.tb.Fatalf("GET %s: read: %v", path, err)
	}
	return resp, b
}

func (p *page) history(chat int64) []webchat.Item {
	p.tb.Helper()
	resp, b := p.get("/api/history?chat=" + jsonInt(chat))
	if resp.StatusCode != http.StatusOK {
		p.tb.Fatalf("history of %d: %d %s", chat, resp.StatusCode, b)
	}
	var items []webchat.Item
	if err := json.Unmarshal(b, &items); err != nil {
		p.tb.Fatalf("history of %d: %v", chat, err)
	}
	return items
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// sse is one open event stream, read into events.
type sse struct {
	tb     testing.TB
	events chan sseEvent
	cancel context.CancelFunc
	resp   *http.Response
}

type sseEvent struct {
	name string
	data []byte
}

// stream opens the page's event stream; status is what the server answered.
func (p *page) stream() (*sse, int) {
	p.tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		p.tb.Fatalf("open the event stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode
	}
	s := &sse{tb: p.tb, events: make(chan sseEvent, 1024), cancel: cancel, resp: resp}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = []byte(strings.TrimPrefix(line, "data: "))
			case line == "":
				s.events <- ev
				ev = sseEvent{}
			}
		}
	}()
	p.tb.Cleanup(s.close)
	return s, http.StatusOK
}

func (s *sse) close() { s.cancel() }

// next waits for the next event named name whose data satisfies ok, decoding it into v.
func (s *sse) next(name string, v any, ok func() bool) {
	s.tb.Helper()
	deadline := time.After(wait)
	for {
		select {
		case ev, open := <-s.events:
			if !open {
				s.tb.Fatalf("the event stream ended while waiting for %q", name)
			}
			if ev.name != name {
				continue
			}
			if err := json.Unmarshal(ev.data, v); err != nil {
				s.tb.Fatalf("event %s: %v: %s", name, err, ev.data)
			}
			if ok == nil || ok() {
				return
			}
		case <-deadline:
			s.tb.Fatalf("no %q event within %v", name, wait)
		}
	}
}
