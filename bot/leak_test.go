package bot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/internal/logtest"
)

// leakyProxy stands between the bot and the emulator like a proxy, or a self-hosted Bot API
// server, that quotes the request path, token and all, in its errors. fail says how the
// next request for a method is refused ("" passes it on): as a JSON description, or in
// an HTML error page.
type leakyProxy struct {
	emu *emulator.Server
	mu  sync.Mutex
	// plan lists, per method (lower case), how its next requests fail; a method whose list
	// is empty is passed on. always fails every request for a method.
	plan   map[string][]string
	always map[string]string
}

func (p *leakyProxy) next(method string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if how, ok := p.always[method]; ok {
		return how
	}
	if len(p.plan[method]) == 0 {
		return ""
	}
	how := p.plan[method][0]
	p.plan[method] = p.plan[method][1:]
	return how
}

func (p *leakyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p.next(strings.ToLower(path.Base(r.URL.Path))) {
	case "description":
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"ok":false,"error_code":500,"description":"Internal error at %s"}`, r.URL.Path)
	case "refused":
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"ok":false,"error_code":400,"description":"Bad Request: no such chat at %s"}`, r.URL.Path)
	case "page":
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "<html>502 Bad Gateway: upstream "+r.URL.Path+" failed</html>", http.StatusBadGateway)
	default:
		p.emu.ServeHTTP(w, r)
	}
}

// runThrough runs the bot against the proxy until stop is called, which returns Run's error.
func runThrough(tb testing.TB, api string, log *logtest.Buffer) (stop func() error) {
	tb.Helper()
	b, err := bot.New(bot.Config{
		Token: token, APIURL: api, PollTimeout: time.Second, DrainTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, notebook.New(notebook.Options{}))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			tb.Fatal("Run did not return after cancel")
			return nil
		}
	}
	tb.Cleanup(func() { stop() })
	return stop
}

// TestLogsHideTokenFromALeakyAPI runs the bot behind an API that quotes the token in the
// errors of getMe, of JSON requests (sendMessage) and of multipart ones (sendPhoto), and
// checks that nothing the bot logs shows it.
func TestLogsHideTokenFromALeakyAPI(t *testing.T) {
	secret := token[strings.IndexByte(token, ':')+1:]
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	proxy := &leakyProxy{emu: emu, always: map[string]string{"getme": "description"}}
	api := httptest.NewServer(proxy)
	defer api.Close()

	log := new(logtest.Buffer)
	t.Run("getMe", func(t *testing.T) {
		stop := runThrough(t, api.URL, log)
		log.WaitFor(t, `"msg":"getMe failed"`, 30*time.Second)
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	proxy.mu.Lock()
	proxy.always = nil
	proxy.plan = map[string][]string{
		"sendmessage":    {"refused", "page"}, // the first reply fails for good, the second once
		"sendphoto":      {"refused"},
		"sendchataction": {"description"},
	}
	proxy.mu.Unlock()
	t.Run("requests", func(t *testing.T) {
		stop := runThrough(t, api.URL, log)
		for _, text := range []string{"5", "6", "/chart"} {
			p, err := emu.SendText(7, text)
			if err != nil {
				t.Fatal(err)
			}
			waitConfirmed(t, emu, p.UpdateID)
		}
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		var replies []string
		for _, s := range emu.Sent() {
			replies = append(replies, s.Method+" "+s.Text)
		}
		// The second reply got through on its retry; the first and the photo did not.
		if len(replies) != 2 || !strings.HasPrefix(replies[0], "sendMessage Recorded 6") {
			t.Errorf("the emulator got %q, want the second reply and a chat action", replies)
		}
	})

	out := log.String()
	if strings.Contains(out, secret) {
		t.Errorf("the log shows the token:\n%s", out)
	}
	// Each refusal must have reached the log, redacted, or this test proves nothing.
	for _, want := range []string{
		`"msg":"getMe failed"`,
		`unable to sendMessage: Bad Request: no such chat at /bot100:<token>/sendMessage`,
		`unable to sendPhoto: Bad Request: no such chat at /bot100:<token>/sendPhoto`,
		`"msg":"send failed for good"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log has no %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "<token>"); n < 2 {
		t.Errorf("the log shows the redacted token %d times, want every refusal:\n%s", n, out)
	}
}
