package emulator_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/troupebot/troupe/emulator"
)

func TestInjectedFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults emulator.Faults
		code   int
		desc   string
	}{
		{"429", emulator.Faults{Rate429: 1, RetryAfter: 7}, 429, "Too Many Requests: retry after 7"},
		{"5xx", emulator.Faults{Rate5xx: 1}, 500, "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.SendText(5, "hi")
			s.SetFaults(tt.faults)
			r := callJSON(t, s, "sendMessage", map[string]any{"chat_id": 5, "text": "x"})
			if r.ErrorCode != tt.code || r.Description != tt.desc {
				t.Errorf("got %d %q, want %d %q", r.ErrorCode, r.Description, tt.code, tt.desc)
			}
			// getUpdates is never faulted: a bot can always poll.
			mustOK(t, callJSON(t, s, "getUpdates", nil))
			if len(s.Sent()) != 0 {
				t.Error("a faulted request took effect")
			}
		})
	}
}

func TestRetryAfterParameter(t *testing.T) {
	s := newServer(t)
	s.SendText(5, "hi")
	s.SetFaults(emulator.Faults{Rate429: 1, RetryAfter: 3})
	body, _ := json.Marshal(map[string]any{"chat_id": 5, "text": "x"})
	resp, err := http.Post(s.URL()+"/bot"+token+"/sendMessage", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Parameters struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	json.NewDecoder(resp.Body).Decode(&r)
	if r.Parameters.RetryAfter != 3 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("retry_after = %d, header %q; want 3", r.Parameters.RetryAfter, resp.Header.Get("Retry-After"))
	}
}

func TestDroppedConnection(t *testing.T) {
	s := newServer(t)
	s.SendText(5, "hi")
	s.SetFaults(emulator.Faults{RateDrop: 1})
	body, _ := json.Marshal(map[string]any{"chat_id": 5, "text": "x"})
	resp, err := http.Post(s.URL()+"/bot"+token+"/sendMessage", "application/json", bytes.NewReader(body))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got HTTP %d, want the connection dropped", resp.StatusCode)
	}
	if st := s.Stats(); st.Dropped != 1 || len(s.Sent()) != 0 {
		t.Errorf("stats = %+v, sent %d", st, len(s.Sent()))
	}
}

func TestEnforcedLimits(t *testing.T) {
	s := newServer(t)
	s.SendText(5, "hi")
	s.SendText(6, "hi")
	s.SetFaults(emulator.Faults{EnforceLimits: true, Limits: emulator.Limits{Global: 100, GlobalBurst: 100, Chat: 1, ChatBurst: 2, Group: 1, GroupBurst: 1}})
	var codes []int
	for range 3 {
		codes = append(codes, callJSON(t, s, "sendMessage", map[string]any{"chat_id": 5, "text": "x"}).Status)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("statuses = %v, want the burst of 2 then 429", codes)
	}
	// Another chat has its own bucket; edits and callback answers are not messages.
	mustOK(t, callJSON(t, s, "sendMessage", map[string]any{"chat_id": 6, "text": "x"}))
	mustOK(t, callJSON(t, s, "sendChatAction", map[string]any{"chat_id": 5, "action": "typing"}))
	if st := s.Stats(); st.LimitViolations != 1 {
		t.Errorf("stats = %+v, want one violation", st)
	}
}
