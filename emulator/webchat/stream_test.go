package webchat

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/emulator"
)

// TestStreamsBounded: the pages' streams are bounded (DefaultMaxStreams, 100); the 101st
// gets a clean 503 with a sentence; a page that goes away frees its place, and a stream that lags is dropped
// rather than holding the bot's sends up.
func TestStreamsBounded(t *testing.T) {
	emu, err := emulator.New(emulator.Config{Token: "1:T"})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	s, err := New(Config{Emulator: emu})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	open := func(ctx context.Context) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+"/api/events", nil)
		return http.DefaultClient.Do(req)
	}
	var cancels []context.CancelFunc
	for i := range DefaultMaxStreams {
		sctx, scancel := context.WithCancel(ctx)
		cancels = append(cancels, scancel)
		resp, err := open(sctx)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %v %v", i+1, resp, err)
		}
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		if line != "event: hello\n" {
			t.Fatalf("stream %d began with %q; want the hello event", i+1, line)
		}
		defer resp.Body.Close()
	}
	resp, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var refusal map[string]string
	json.NewDecoder(resp.Body).Decode(&refusal)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(refusal["error"], "close a tab") {
		t.Errorf("stream %d got %d %v; want 503 saying to close a tab", DefaultMaxStreams+1, resp.StatusCode, refusal)
	}

	// A page that closes its connection frees its place.
	cancels[0]()
	if err := s.hub.waitStreams(ctx, DefaultMaxStreams-1); err != nil {
		t.Fatal(err)
	}
	resp, err = open(ctx)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a stream after one closed: %v %v; want 200", resp, err)
	}
	defer resp.Body.Close()

	// A stream that lags streamBuffer events is dropped; the others stay.
	st, err := s.hub.open(func([]Item) []byte { return []byte("event: hello\n\n") })
	if err == nil {
		t.Fatal("a stream opened past the bound")
	}
	_ = st
	cancels[1]()
	if err := s.hub.waitStreams(ctx, DefaultMaxStreams-1); err != nil {
		t.Fatal(err)
	}
	lagging, err := s.hub.open(func([]Item) []byte { return []byte("event: hello\n\n") })
	if err != nil {
		t.Fatal(err)
	}
	for range streamBuffer {
		s.hub.publish("toast", map[string]string{"text": "x"})
	}
	select {
	case <-lagging.gone:
	case <-ctx.Done():
		t.Fatal("a stream that read nothing was not dropped")
	}
	if err := s.hub.waitStreams(ctx, DefaultMaxStreams-1); err != nil {
		t.Fatal(err)
	}
}
