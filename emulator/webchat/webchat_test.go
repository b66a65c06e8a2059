package webchat_test

import (
	"bytes"
	"image"
	_ "image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/troupebot/troupe/emulator/webchat"
)

// TestSendShowsReplyInOrder: a message from the page reaches the real bot, and the page's
// transcript (and its stream) has the message, then the reply naming it.
func TestSendShowsReplyInOrder(t *testing.T) {
	p := newPage(t, webchat.Config{})
	st, _ := p.stream()
	var hello struct {
		Users []int64        `json:"users"`
		Items []webchat.Item `json:"items"`
	}
	st.next("hello", &hello, nil)
	if len(hello.Users) != 3 || len(hello.Items) != 0 {
		t.Fatalf("hello = %+v; want 3 users and no items", hello)
	}
	sent := p.mustPost("/api/send", map[string]any{"user": 1, "chat": 1, "text": "5"})
	var user, reply webchat.Item
	st.next("item", &user, nil)
	st.next("item", &reply, nil)
	if user.Kind != "user" || user.Text != "5" || float64(user.MessageID) != sent["message_id"] {
		t.Errorf("first item = %+v; want the user's 5 (message %v)", user, sent["message_id"])
	}
	if reply.Kind != "bot" || reply.ReplyTo != user.MessageID || !strings.HasPrefix(reply.Text, "Recorded 5") {
		t.Errorf("second item = %+v; want the bot's reply to message %d", reply, user.MessageID)
	}
	if h := p.history(1); len(h) != 2 || h[0].Seq != user.Seq || h[1].Seq != reply.Seq {
		t.Errorf("history = %+v; want the two items streamed", h)
	}
	if h := p.history(2); len(h) != 0 {
		t.Errorf("user 2's chat has %+v; want nothing", h)
	}
}

// TestSendRefusals: every bad message gets a refusal with a sentence for the page, and the
// bot never sees it; the page and the bot carry on.
func TestSendRefusals(t *testing.T) {
	p := newPage(t, webchat.Config{})
	tests := []struct {
		name string
		body any
		code int
		want string
	}{
		{"over 4096 characters", map[string]any{"user": 1, "chat": 1, "text": strings.Repeat("a", 4097)}, 400, "4097 characters; Telegram takes at most 4096"},
		{"over 4096 UTF-16 units", map[string]any{"user": 1, "chat": 1, "text": strings.Repeat("😀", 2049)}, 400, "4098 characters"},
		{"empty", map[string]any{"user": 1, "chat": 1, "text": "  "}, 400, "empty"},
		{"unknown user", map[string]any{"user": 99, "chat": 99, "text": "5"}, 400, "Unknown user 99"},
		{"another user's chat", map[string]any{"user": 2, "chat": 1, "text": "5"}, 400, "User 2 cannot write in chat 1"},
		{"a load run's user", map[string]any{"user": 1000001, "chat": 1000001, "text": "5"}, 400, "Unknown user"},
		{"not JSON", "user=1", 400, "not the JSON"},
		{"unknown field", map[string]any{"user": 1, "chat": 1, "text": "5", "as_admin": true}, 400, "unknown field"},
		{"body over 64 KB", `{"user":1,"chat":1,"text":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "over 64 KB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := p.post("/api/send", tt.body)
			if msg, _ := out["error"].(string); code != tt.code || !strings.Contains(msg, tt.want) {
				t.Errorf("got %d %q; want %d and an error containing %q", code, msg, tt.code, tt.want)
			}
		})
	}
	if n := len(p.h.Emulator().Sent()); n != 0 {
		t.Errorf("the bot sent %d things; refused messages must not reach it", n)
	}
	// 4096 units exactly is Telegram's limit, not over it.
	p.mustPost("/api/send", map[string]any{"user": 1, "chat": 1, "text": strings.Repeat("😀", 2048)})
	p.mustPost("/api/send", map[string]any{"user": 1, "chat": 1, "text": "5"})
	if h := p.history(1); len(h) != 4 || !strings.HasPrefix(h[3].Text, "Recorded 5") {
		t.Errorf("after the refusals, history = %+v; want two messages answered", h)
	}
	// Another site's page can post a form or text/plain here without asking; JSON it cannot.
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		resp, err := http.Post(p.url+"/api/send", ct, strings.NewReader(`{"user":1,"chat":1,"text":"5"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("a %q POST = %d; want 415", ct, resp.StatusCode)
		}
	}
	if resp, _ := p.get("/api/send"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/send = %d; want 405", resp.StatusCode)
	}
	if resp, _ := p.get("/api/history?chat=7"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("history of an unknown chat = %d; want 404", resp.StatusCode)
	}
}

// TestPressRefusesForgedButtons: a press must name a bot message the emulator remembers
// and data one of its buttons carries; the real confirmation works after the forgeries.
func TestPressRefusesForgedButtons(t *testing.T) {
	p := newPage(t, webchat.Config{})
	st, _ := p.stream()
	p.mustPost("/api/send", map[string]any{"user": 1, "chat": 1, "text": "5"})
	p.mustPost("/api/send", map[string]any{"user": 1, "chat": 1, "text": "/reset"})
	h := p.history(1)
	ask := h[len(h)-1]
	if len(ask.Buttons) == 0 {
		t.Fatalf("/reset answered %+v; want a confirmation keyboard", ask)
	}
	yes := ask.Buttons[0][0].Data
	tests := []struct {
		name string
		body map[string]any
		want string
	}{
		{"data the bot never sent", map[string]any{"user": 1, "chat": 1, "message_id": ask.MessageID, "data": "reset:yes:1@1"}, "no button with that data"},
		{"no such message", map[string]any{"user": 1, "chat": 1, "message_id": 9999, "data": yes}, "No message 9999"},
		{"the user's own message", map[string]any{"user": 1, "chat": 1, "message_id": h[0].MessageID, "data": yes}, "No message"},
		{"another chat's message", map[string]any{"user": 2, "chat": 2, "message_id": ask.MessageID, "data": yes}, "No message"},
		{"unknown user", map[string]any{"user": 42, "chat": 1, "message_id": ask.MessageID, "data": yes}, "Unknown user 42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := p.post("/api/press", tt.body)
			if msg, _ := out["error"].(string); code != http.StatusBadRequest || !strings.Contains(msg, tt.want) {
				t.Errorf("got %d %q; want 400 and an error containing %q", code, msg, tt.want)
			}
		})
	}
	p.mustPost("/api/press", map[string]any{"user": 1, "chat": 1, "message_id": ask.MessageID, "data": yes})
	var toast struct {
		Chat int64  `json:"chat"`
		Text string `json:"text"`
	}
	st.next("toast", &toast, nil)
	if toast.Chat != 1 || toast.Text == "" {
		t.Errorf("toast = %+v; want the callback answer in chat 1", toast)
	}
	var edit webchat.Item
	st.next("edit", &edit, func() bool { return edit.MessageID == ask.MessageID })
	if !edit.Edited || len(edit.Buttons) != 0 || !strings.Contains(edit.Text, "Deleted") {
		t.Errorf("edit = %+v; want the confirmation edited in place, keyboard gone", edit)
	}
	// The keyboard is gone now, so its button is a forgery too.
	if code, _ := p.post("/api/press", map[string]any{"user": 1, "chat": 1, "message_id": ask.MessageID, "data": yes}); code != http.StatusBadRequest {
		t.Errorf("pressing a button the edit removed = %d; want 400", code)
	}
}

// TestChartAndCrash: /chart's photo is served as the PNG the bot sent, 800×500; a crash
// gets the apology and the counter carries on from the last committed value; the
// operator's figures count the restart.
func TestChartAndCrash(t *testing.T) {
	p := newPage(t, webchat.Config{})
	st, _ := p.stream()
	for _, text := range []string{"5", "7 tea", "/chart"} {
		p.mustPost("/api/send", map[string]any{"user": 1, "chat": 1, "text": text})
	}
	h := p.history(1)
	chart := h[len(h)-1]
	if chart.Photo == "" || chart.Width != 800 || chart.Height != 500 {
		t.Fatalf("/chart answered %+v; want an 800×500 photo", chart)
	}
	resp, png := p.get(chart.Photo)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s = %d %s", chart.Photo, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, format, err := image.Decode(bytes.NewReader(png))
	if err != nil || format != "png" || img.Bounds().Dx() != 800 || img.Bounds().Dy() != 500 {
		t.Fatalf("the photo decodes as %v %q %v; want an 800×500 PNG", img.Bounds(), format, err)
	}
	if resp, _ := p.get("/api/photo?chat=1&message=9999"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown photo = %d; want 404", resp.StatusCode)
	}
	p.mustPost("/api/send", map[string]any{"user": 1, "chat": 1, "text": "panic"})
	p.mustPost("/api/send", map[string]any{"user": 1, "chat": 1, "text": "8"})
	h = p.history(1)
	apology, next := h[len(h)-3], h[len(h)-1]
	if !strings.HasPrefix(apology.Text, "Sorry") || !strings.Contains(next.Text, "3 values") {
		t.Errorf("after the crash: %q then %q; want the apology, then the third value", apology.Text, next.Text)
	}
	var f webchat.Figures
	st.next("status", &f, func() bool { return f.Restarts >= 1 })
	resp, tp := p.get("/api/throughput.png")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("throughput chart: %d", resp.StatusCode)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(tp)); err != nil || cfg.Width != 480 {
		t.Errorf("the throughput chart decodes as %+v, %v; want a 480-pixel-wide PNG", cfg, err)
	}
}

// TestLoadRunAudited: the load-test button runs its users on ids of their own; every reply
// names its message, and the page's chats get none of it.
func TestLoadRunAudited(t *testing.T) {
	p := newPage(t, webchat.Config{LoadUsers: 20, LoadMessages: 5})
	st, _ := p.stream()
	code, _ := p.post("/api/loadtest", struct{}{})
	if code != http.StatusAccepted {
		t.Fatalf("POST /api/loadtest = %d; want 202", code)
	}
	var rep struct {
		Running  bool  `json:"running"`
		Sent     int64 `json:"sent"`
		Answered int64 `json:"answered"`
		Wrong    int64 `json:"wrong"`
		Lost     int64 `json:"lost"`
	}
	st.next("load", &rep, func() bool { return !rep.Running })
	if rep.Sent != 100 || rep.Answered != 100 || rep.Wrong != 0 || rep.Lost != 0 {
		t.Errorf("load run = %+v; want 100 sent and answered, none wrong or lost", rep)
	}
	for _, chat := range []int64{1, 2, 3, webchat.GroupChat} {
		if h := p.history(chat); len(h) != 0 {
			t.Errorf("chat %d got %d items from the load run", chat, len(h))
		}
	}
	var f webchat.Figures
	st.next("status", &f, func() bool { return f.Spawned >= 20 })
	// A second run takes fresh users: the bot spawns them anew.
	if code, _ := p.post("/api/loadtest", struct{}{}); code != http.StatusAccepted {
		t.Fatalf("second run = %d; want 202", code)
	}
	st.next("load", &rep, func() bool { return !rep.Running })
	st.next("status", &f, func() bool { return f.Spawned >= 40 })
}

// TestGroupChat: users write in the group; the bot's replies land there, and a press
// there is checked against the group's messages.
func TestGroupChat(t *testing.T) {
	p := newPage(t, webchat.Config{})
	p.mustPost("/api/send", map[string]any{"user": 2, "chat": webchat.GroupChat, "text": "5"})
	p.mustPost("/api/send", map[string]any{"user": 3, "chat": webchat.GroupChat, "text": "6"})
	h := p.history(webchat.GroupChat)
	if len(h) != 4 || h[0].From != 2 || h[2].From != 3 || h[1].ReplyTo != h[0].MessageID || h[3].ReplyTo != h[2].MessageID {
		t.Errorf("group history = %+v; want two users' messages, each answered", h)
	}
}
