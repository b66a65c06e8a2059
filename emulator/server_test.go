package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupebot/troupe/emulator"
)

const token = "123:test-token"

func newServer(tb testing.TB) *emulator.Server {
	tb.Helper()
	s, err := emulator.New(emulator.Config{Token: token})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

type response struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Status      int             `json:"-"`
}

func do(tb testing.TB, req *http.Request) response {
	tb.Helper()
	r, err := try(req)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// try makes a request and checks the response has the Bot API's shape; it does not fail
// the test, so goroutines can use it.
func try(req *http.Request) (response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	var r response
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("%s: response %q is not JSON: %w", req.URL.Path, body, err)
	}
	r.Status = resp.StatusCode
	if r.OK != (resp.StatusCode == http.StatusOK) || (!r.OK && r.ErrorCode != resp.StatusCode) {
		return r, fmt.Errorf("%s: status %d with body %s", req.URL.Path, resp.StatusCode, body)
	}
	return r, nil
}

// callAsync calls method with a JSON body in a goroutine.
func callAsync(s *emulator.Server, method string, params map[string]any) <-chan result {
	ch := make(chan result, 1)
	body, _ := json.Marshal(params)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/bot"+token+"/"+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	go func() {
		r, err := try(req)
		ch <- result{r, err}
	}()
	return ch
}

type result struct {
	response
	err error
}

// callJSON calls method with a JSON body, the way Troupe's client does.
func callJSON(tb testing.TB, s *emulator.Server, method string, params map[string]any) response {
	tb.Helper()
	body, _ := json.Marshal(params)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/bot"+token+"/"+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return do(tb, req)
}

// callForm calls method with an urlencoded body; objects go as JSON strings.
func callForm(tb testing.TB, s *emulator.Server, method string, params url.Values) response {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/bot"+token+"/"+method, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(tb, req)
}

// callMultipart calls method with a multipart body, the way gotgbot's client does, with
// files as file parts.
func callMultipart(tb testing.TB, s *emulator.Server, method string, fields map[string]string, files map[string][]byte) response {
	tb.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	for k, data := range files {
		part, _ := w.CreateFormFile(k, k+".png")
		part.Write(data)
	}
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/bot"+token+"/"+method, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return do(tb, req)
}

func mustOK(tb testing.TB, r response) json.RawMessage {
	tb.Helper()
	if !r.OK {
		tb.Fatalf("error %d: %s", r.ErrorCode, r.Description)
	}
	return r.Result
}

func TestGetMeEveryEncoding(t *testing.T) {
	s := newServer(t)
	get, _ := http.NewRequest(http.MethodGet, s.URL()+"/bot"+token+"/getMe", nil)
	results := map[string]json.RawMessage{
		"json":      mustOK(t, callJSON(t, s, "getMe", nil)),
		"form":      mustOK(t, callForm(t, s, "getMe", nil)),
		"multipart": mustOK(t, callMultipart(t, s, "getMe", nil, nil)),
		"get":       mustOK(t, do(t, get)),
		"lowercase": mustOK(t, callJSON(t, s, "getme", nil)),
	}
	for name, raw := range results {
		var me struct {
			ID       int64  `json:"id"`
			IsBot    bool   `json:"is_bot"`
			Username string `json:"username"`
		}
		if err := json.Unmarshal(raw, &me); err != nil || !me.IsBot || me.Username != s.BotUser().Username {
			t.Errorf("%s: getMe = %s", name, raw)
		}
	}
}

func TestErrors(t *testing.T) {
	s := newServer(t)
	s.SendText(5, "hi")
	long := strings.Repeat("x", 4097)
	tests := []struct {
		name   string
		method string
		params map[string]any
		code   int
		desc   string
	}{
		{"unknown method", "launchRockets", nil, 404, "Not Found: method not found"},
		{"no chat", "sendMessage", map[string]any{"text": "x"}, 400, "Bad Request: chat_id is empty"},
		{"unknown chat", "sendMessage", map[string]any{"chat_id": 6, "text": "x"}, 400, "Bad Request: chat not found"},
		{"empty text", "sendMessage", map[string]any{"chat_id": 5}, 400, "Bad Request: message text is empty"},
		{"long text", "sendMessage", map[string]any{"chat_id": 5, "text": long}, 400, "Bad Request: message is too long"},
		{"reply to nothing", "sendMessage", map[string]any{"chat_id": 5, "text": "x", "reply_parameters": map[string]any{"message_id": 99}}, 400, "Bad Request: message to be replied not found"},
		{"legacy reply to nothing", "sendMessage", map[string]any{"chat_id": 5, "text": "x", "reply_to_message_id": 99}, 400, "Bad Request: message to be replied not found"},
		{"long callback data", "sendMessage", map[string]any{"chat_id": 5, "text": "x", "reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "b", "callback_data": strings.Repeat("d", 65)}}}}}, 400, "Bad Request: BUTTON_DATA_INVALID"},
		{"bad parse mode", "sendMessage", map[string]any{"chat_id": 5, "text": "x", "parse_mode": "Klingon"}, 400, "Bad Request: unsupported parse_mode"},
		{"chat id not a number", "sendMessage", map[string]any{"chat_id": "@someone", "text": "x"}, 400, "Bad Request: chat not found"},
		{"offset not a number", "getUpdates", map[string]any{"offset": "soon"}, 400, `Bad Request: offset must be an integer, got "soon"`},
		{"edit missing", "editMessageText", map[string]any{"chat_id": 5, "message_id": 1, "text": "x"}, 400, "Bad Request: message to edit not found"},
		{"answer unknown query", "answerCallbackQuery", map[string]any{"callback_query_id": "nope"}, 400, "Bad Request: query is too old and response timeout expired or query ID is invalid"},
		{"bad chat action", "sendChatAction", map[string]any{"chat_id": 5, "action": "dancing"}, 400, "Bad Request: wrong parameter action in request"},
		{"photo by id", "sendPhoto", map[string]any{"chat_id": 5, "photo": "AgAD123"}, 400, "Bad Request: wrong file identifier/HTTP URL specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := callJSON(t, s, tt.method, tt.params)
			if r.OK || r.ErrorCode != tt.code || r.Description != tt.desc {
				t.Errorf("got %v %d %q, want %d %q", r.OK, r.ErrorCode, r.Description, tt.code, tt.desc)
			}
		})
	}
	if n := len(s.Sent()); n != 0 {
		t.Errorf("failed requests were recorded as sent: %d", n)
	}

	t.Run("wrong token", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/bot1:wrong/getMe", nil)
		if r := do(t, req); r.ErrorCode != 401 || r.Description != "Unauthorized" {
			t.Errorf("got %d %q", r.ErrorCode, r.Description)
		}
	})
	t.Run("malformed JSON", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/bot"+token+"/sendMessage", strings.NewReader(`{"chat_id":`))
		req.Header.Set("Content-Type", "application/json")
		if r := do(t, req); r.ErrorCode != 400 || !strings.HasPrefix(r.Description, "Bad Request: can't parse JSON body") {
			t.Errorf("got %d %q", r.ErrorCode, r.Description)
		}
	})
}

type update struct {
	UpdateID int64 `json:"update_id"`
	Message  *struct {
		MessageID int64  `json:"message_id"`
		Text      string `json:"text"`
		Chat      struct {
			ID   int64  `json:"id"`
			Type string `json:"type"`
		} `json:"chat"`
		From struct {
			ID int64 `json:"id"`
		} `json:"from"`
		Entities []struct {
			Type   string `json:"type"`
			Length int    `json:"length"`
		} `json:"entities"`
	} `json:"message"`
	CallbackQuery *struct {
		ID      string `json:"id"`
		Data    string `json:"data"`
		Message struct {
			MessageID int64  `json:"message_id"`
			Text      string `json:"text"`
		} `json:"message"`
	} `json:"callback_query"`
}

func getUpdates(tb testing.TB, s *emulator.Server, params map[string]any) []update {
	tb.Helper()
	var us []update
	if err := json.Unmarshal(mustOK(tb, callJSON(tb, s, "getUpdates", params)), &us); err != nil {
		tb.Fatal(err)
	}
	return us
}

func TestGetUpdatesOffsets(t *testing.T) {
	s := newServer(t)
	for _, text := range []string{"a", "b", "/stats@bot x"} {
		if _, err := s.SendText(5, text); err != nil {
			t.Fatal(err)
		}
	}
	us := getUpdates(t, s, nil)
	if len(us) != 3 || us[0].Message.Text != "a" || us[2].Message.Text != "/stats@bot x" {
		t.Fatalf("updates = %+v", us)
	}
	if e := us[2].Message.Entities; len(e) != 1 || e[0].Type != "bot_command" || e[0].Length != 10 {
		t.Errorf("command entities = %+v", e)
	}
	if us[0].Message.Chat.ID != 5 || us[0].Message.From.ID != 5 || us[0].Message.Chat.Type != "private" {
		t.Errorf("message = %+v", us[0].Message)
	}
	// Until an offset confirms them, updates come again.
	if again := getUpdates(t, s, map[string]any{"limit": 2}); len(again) != 2 || again[0].UpdateID != us[0].UpdateID {
		t.Fatalf("second poll = %+v", again)
	}
	if s.Confirmed() != 0 {
		t.Fatalf("confirmed %d before any offset", s.Confirmed())
	}
	rest := getUpdates(t, s, map[string]any{"offset": us[1].UpdateID})
	if len(rest) != 2 || rest[0].UpdateID != us[1].UpdateID {
		t.Fatalf("after offset: %+v", rest)
	}
	if s.Confirmed() != us[0].UpdateID {
		t.Errorf("confirmed = %d, want %d", s.Confirmed(), us[0].UpdateID)
	}
	// A negative offset keeps only the newest updates.
	if last := getUpdates(t, s, map[string]any{"offset": -1}); len(last) != 1 || last[0].UpdateID != us[2].UpdateID {
		t.Fatalf("offset -1: %+v", last)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitConfirmed(ctx, us[1].UpdateID); err != nil {
		t.Fatal(err)
	}
}

// TestFirstUpdateID: an emulator told where to start numbers its updates from there, and
// its confirmations count from there too.
func TestFirstUpdateID(t *testing.T) {
	const first = 1_764_000_000_000_000
	s, err := emulator.New(emulator.Config{Token: token, FirstUpdateID: first})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Confirmed() != first-1 {
		t.Errorf("confirmed %d before any update, want %d", s.Confirmed(), int64(first-1))
	}
	for _, text := range []string{"a", "b"} {
		if _, err := s.SendText(5, text); err != nil {
			t.Fatal(err)
		}
	}
	us := getUpdates(t, s, nil)
	if len(us) != 2 || us[0].UpdateID != first || us[1].UpdateID != first+1 {
		t.Fatalf("updates = %+v, want ids %d and %d", us, int64(first), int64(first+1))
	}
	getUpdates(t, s, map[string]any{"offset": first + 1})
	if s.Confirmed() != first {
		t.Errorf("confirmed = %d, want %d", s.Confirmed(), int64(first))
	}
	if a, b := emulator.UpdateIDFromClock(), emulator.UpdateIDFromClock(); a <= first || b < a {
		t.Errorf("UpdateIDFromClock gave %d then %d: want above %d and not falling", a, b, int64(first))
	}
}

func TestLongPoll(t *testing.T) {
	s := newServer(t)
	got := callAsync(s, "getUpdates", map[string]any{"timeout": 10})
	// Push once the poll is waiting, so this tests the wake-up, not an immediate answer.
	waitPolling(t, s)
	if _, err := s.SendText(9, "wake"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		var us []update
		if r.err != nil || json.Unmarshal(r.Result, &us) != nil || len(us) != 1 || us[0].Message.Text != "wake" {
			t.Fatalf("long poll returned %s, %v", r.Result, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("long poll did not return when an update arrived")
	}
}

func TestLongPollTimesOutEmpty(t *testing.T) {
	s := newServer(t)
	if us := getUpdates(t, s, map[string]any{"timeout": 1}); len(us) != 0 {
		t.Fatalf("updates = %+v", us)
	}
}

func TestSecondPollerConflicts(t *testing.T) {
	s := newServer(t)
	first := callAsync(s, "getUpdates", map[string]any{"timeout": 10})
	waitPolling(t, s)
	second := callAsync(s, "getUpdates", map[string]any{"timeout": 1})
	select {
	case r := <-first:
		if r.err != nil || r.ErrorCode != http.StatusConflict || !strings.HasPrefix(r.Description, "Conflict: terminated by other getUpdates request") {
			t.Fatalf("first poller got %d %q (%v), want 409", r.ErrorCode, r.Description, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first poller was not ended by the second")
	}
	if r := <-second; r.err != nil || !r.OK {
		t.Errorf("second poller got %d %q (%v), want an empty answer", r.ErrorCode, r.Description, r.err)
	}
}

func waitPolling(tb testing.TB, s *emulator.Server) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitPolling(ctx); err != nil {
		tb.Fatal(err)
	}
}

func TestSendEditAndAnswer(t *testing.T) {
	s := newServer(t)
	p, _ := s.SendText(5, "/reset")
	kb := map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "Yes", "callback_data": "yes"}, {"text": "No", "callback_data": "no"}}}}
	// Objects as JSON strings in a form body, as multipart clients send them.
	raw := mustOK(t, callForm(t, s, "sendMessage", url.Values{
		"chat_id": {"5"}, "text": {"Sure?"},
		"reply_parameters": {`{"message_id":` + jsonInt(p.MessageID) + `}`},
		"reply_markup":     {mustJSON(kb)},
	}))
	var msg struct {
		MessageID int64 `json:"message_id"`
	}
	json.Unmarshal(raw, &msg)
	if msg.MessageID != p.MessageID+1 {
		t.Errorf("bot message id = %d, want %d (one chat, one sequence)", msg.MessageID, p.MessageID+1)
	}
	press, err := s.PressButton(5, 5, msg.MessageID, "yes")
	if err != nil {
		t.Fatal(err)
	}
	us := getUpdates(t, s, nil)
	cq := us[len(us)-1].CallbackQuery
	if cq == nil || cq.Data != "yes" || cq.Message.MessageID != msg.MessageID || cq.Message.Text != "Sure?" {
		t.Fatalf("callback update = %+v", us[len(us)-1])
	}
	mustOK(t, callJSON(t, s, "answerCallbackQuery", map[string]any{"callback_query_id": press.CallbackQueryID, "text": "Done"}))
	if r := callJSON(t, s, "answerCallbackQuery", map[string]any{"callback_query_id": press.CallbackQueryID}); r.OK {
		t.Error("a callback query was answered twice")
	}
	if st := s.Stats(); st.RefusedAnswers != 1 {
		t.Errorf("RefusedAnswers = %d, want 1 for the second answer", st.RefusedAnswers)
	}
	edit := map[string]any{"chat_id": 5, "message_id": msg.MessageID, "text": "Deleted."}
	mustOK(t, callJSON(t, s, "editMessageText", edit))
	if r := callJSON(t, s, "editMessageText", edit); r.OK || !strings.HasPrefix(r.Description, "Bad Request: message is not modified") {
		t.Errorf("same edit twice: %v %q", r.OK, r.Description)
	}
	if r := callJSON(t, s, "editMessageText", map[string]any{"chat_id": 5, "message_id": p.MessageID, "text": "x"}); r.OK {
		t.Error("the bot edited the user's message")
	}

	sent := s.Sent()
	if len(sent) != 3 {
		t.Fatalf("sent = %+v", sent)
	}
	first := sent[0]
	if first.Method != "sendMessage" || first.ReplyTo != p.MessageID || first.Text != "Sure?" || len(first.Buttons) != 1 || first.Buttons[0][1].Data != "no" {
		t.Errorf("sendMessage recorded as %+v", first)
	}
	if sent[1].Method != "answerCallbackQuery" || sent[1].Text != "Done" || sent[2].Method != "editMessageText" || len(sent[2].Buttons) != 0 {
		t.Errorf("recorded %+v, %+v", sent[1], sent[2])
	}
	for i, m := range sent {
		if m.Seq != int64(i+1) {
			t.Errorf("sent[%d].Seq = %d", i, m.Seq)
		}
	}
}

func TestSendPhoto(t *testing.T) {
	s := newServer(t)
	s.SendText(5, "/chart")
	img := image.NewRGBA(image.Rect(0, 0, 80, 50))
	img.Set(3, 3, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	mustOK(t, callMultipart(t, s, "sendPhoto", map[string]string{"chat_id": "5", "caption": "chart"}, map[string][]byte{"photo": buf.Bytes()}))
	mustOK(t, callJSON(t, s, "sendChatAction", map[string]any{"chat_id": 5, "action": "upload_photo"}))

	if r := callMultipart(t, s, "sendPhoto", map[string]string{"chat_id": "5"}, map[string][]byte{"photo": []byte("not an image")}); r.Description != "Bad Request: IMAGE_PROCESS_FAILED" {
		t.Errorf("bad photo: %d %q", r.ErrorCode, r.Description)
	}
	sent := s.Sent()
	if len(sent) != 2 {
		t.Fatalf("sent = %+v", sent)
	}
	ph := sent[0]
	if ph.Method != "sendPhoto" || ph.Width != 80 || ph.Height != 50 || !bytes.Equal(ph.Photo, buf.Bytes()) || ph.Text != "chart" {
		t.Errorf("photo recorded as %+v", ph)
	}
	if decoded, err := png.Decode(bytes.NewReader(ph.Photo)); err != nil || decoded.Bounds().Dx() != 80 {
		t.Errorf("recorded photo does not decode: %v", err)
	}
	if sent[1].Method != "sendChatAction" || sent[1].Action != "upload_photo" {
		t.Errorf("chat action recorded as %+v", sent[1])
	}
}

func TestWaitSentDeadline(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.WaitSent(ctx, 1); err == nil {
		t.Fatal("WaitSent returned without anything sent")
	}
}

func TestPushRaw(t *testing.T) {
	s := newServer(t)
	id, err := s.PushRaw([]byte(`{"message":{"text":12}}`))
	if err != nil {
		t.Fatal(err)
	}
	raw := mustOK(t, callJSON(t, s, "getUpdates", nil))
	if want := `[{"message":{"text":12},"update_id":` + jsonInt(id) + `}]`; string(raw) != want {
		t.Errorf("raw update = %s, want %s", raw, want)
	}
	if _, err := s.PushRaw([]byte(`[1]`)); err == nil {
		t.Error("PushRaw took a non-object")
	}
}

func jsonInt(v int64) string { return mustJSON(v) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestBotMemory checks the emulator remembers a chat's newest 32 bot messages for edits,
// before and after the memory wraps around.
func TestBotMemory(t *testing.T) {
	s := newServer(t)
	s.SendText(5, "hi")
	var ids []int64
	for i := range 40 {
		r := mustOK(t, callJSON(t, s, "sendMessage", map[string]any{"chat_id": 5, "text": fmt.Sprint("m", i)}))
		var m struct {
			MessageID int64 `json:"message_id"`
		}
		json.Unmarshal(r, &m)
		ids = append(ids, m.MessageID)
		// The newest and the oldest remembered one can be edited; the one before cannot.
		mustOK(t, callJSON(t, s, "editMessageText", map[string]any{"chat_id": 5, "message_id": m.MessageID, "text": fmt.Sprint("e", i)}))
		if i >= 31 {
			mustOK(t, callJSON(t, s, "editMessageText", map[string]any{"chat_id": 5, "message_id": ids[i-31], "text": fmt.Sprint("e", i)}))
		}
		if i >= 32 {
			if r := callJSON(t, s, "editMessageText", map[string]any{"chat_id": 5, "message_id": ids[i-32], "text": "x"}); r.Description != "Bad Request: message to edit not found" {
				t.Fatalf("after %d messages, edit of the 33rd newest: %d %q", i+1, r.ErrorCode, r.Description)
			}
		}
	}
}

// TestSubscribeAndKeyboard: subscribers see each accepted send once, in accept order,
// whatever DiscardSent says, and stop seeing them once cancelled; Keyboard shows a bot
// message's buttons as its newest edit left them.
func TestSubscribeAndKeyboard(t *testing.T) {
	s, err := emulator.New(emulator.Config{Token: token, DiscardSent: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var mu sync.Mutex
	var a, b []int64
	cancelA := s.Subscribe(func(m emulator.Sent) { mu.Lock(); a = append(a, m.Seq); mu.Unlock() })
	cancelB := s.Subscribe(func(m emulator.Sent) { mu.Lock(); b = append(b, m.Seq); mu.Unlock() })
	defer cancelB()
	p, _ := s.SendText(5, "/reset")
	kb := map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "Yes", "callback_data": "yes"}}}}
	raw := mustOK(t, callJSON(t, s, "sendMessage", map[string]any{"chat_id": 5, "text": "Sure?", "reply_markup": kb}))
	var msg struct {
		MessageID int64 `json:"message_id"`
	}
	json.Unmarshal(raw, &msg)
	if got, ok := s.Keyboard(5, msg.MessageID); !ok || len(got) != 1 || got[0][0].Data != "yes" {
		t.Errorf("Keyboard(5, %d) = %+v, %v; want the Yes button", msg.MessageID, got, ok)
	}
	if _, ok := s.Keyboard(5, p.MessageID); ok {
		t.Error("Keyboard found the user's own message")
	}
	if _, ok := s.Keyboard(6, msg.MessageID); ok {
		t.Error("Keyboard found a message in a chat that never wrote")
	}
	cancelA()
	mustOK(t, callJSON(t, s, "editMessageText", map[string]any{"chat_id": 5, "message_id": msg.MessageID, "text": "Done."}))
	if got, ok := s.Keyboard(5, msg.MessageID); !ok || len(got) != 0 {
		t.Errorf("after an edit without a keyboard, Keyboard = %+v, %v; want none, true", got, ok)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(a, []int64{1}) || !slices.Equal(b, []int64{1, 2}) {
		t.Errorf("subscribers saw %v and %v; want [1] (cancelled before the edit) and [1 2]", a, b)
	}
}
