package echobot

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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/troupebot/troupe/internal/backoff"
)

// requestTimeout bounds a request other than a long poll.
const requestTimeout = 10 * time.Second

// maxAttempts bounds the tries of one reply that meets 5xx or a broken connection.
const maxAttempts = 5

// sendRetry spaces those tries: 50, 100, 150, 200 ms. No jitter: the load test wants the
// same work from run to run, and the emulator is no crowd to spread.
var sendRetry = backoff.Policy{Initial: 50 * time.Millisecond, Max: (maxAttempts - 1) * 50 * time.Millisecond, Linear: true}

// client is a minimal Bot API client: JSON bodies, one transport keeping conns
// connections open.
type client struct {
	http *http.Client
	base string // <api>/bot<token>/
}

func newClient(apiURL, token string, conns int) *client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = conns, conns
	return &client{http: &http.Client{Transport: t}, base: strings.TrimSuffix(apiURL, "/") + "/bot" + token + "/"}
}

// apiError is a Bot API refusal.
type apiError struct {
	method     string
	code       int
	desc       string
	retryAfter int
}

func (e *apiError) Error() string { return fmt.Sprintf("%s: %d %s", e.method, e.code, e.desc) }

type response struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// call posts body (of contentType) to method and returns the result.
func (c *client) call(ctx context.Context, method, contentType string, body []byte, timeout time.Duration) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: build request: %w", method, err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := c.http.Do(req)
	if err != nil {
		// net/http quotes the URL, which holds the token.
		return nil, fmt.Errorf("%s: %s", method, strings.ReplaceAll(err.Error(), c.base, "<api>/"))
	}
	defer resp.Body.Close()
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer buffers.Put(buf)
	if _, err := io.Copy(buf, resp.Body); err != nil {
		return nil, fmt.Errorf("%s: read response: %w", method, err)
	}
	var r response
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d: decode response: %w", method, resp.StatusCode, err)
	}
	if !r.OK {
		if r.ErrorCode == http.StatusUnauthorized {
			return nil, ErrUnauthorized
		}
		return nil, &apiError{method: method, code: r.ErrorCode, desc: r.Description, retryAfter: r.Parameters.RetryAfter}
	}
	return r.Result, nil
}

// wireUpdate is the part of a Telegram update the bot reads.
type wireUpdate struct {
	UpdateID int64 `json:"update_id"`
	Message  *struct {
		MessageID int64 `json:"message_id"`
		Chat      struct {
			ID int64 `json:"id"`
		} `json:"chat"`
		Text string `json:"text"`
	} `json:"message"`
	CallbackQuery *struct {
		ID   string `json:"id"`
		From struct {
			ID int64 `json:"id"`
		} `json:"from"`
		Message *struct {
			MessageID int64 `json:"message_id"`
			Chat      struct {
				ID int64 `json:"id"`
			} `json:"chat"`
		} `json:"message"`
		Data string `json:"data"`
	} `json:"callback_query"`
}

func (c *client) getUpdates(ctx context.Context, offset int64, timeout time.Duration) ([]Update, error) {
	return c.getUpdatesLimit(ctx, offset, timeout, 100)
}

func (c *client) getUpdatesLimit(ctx context.Context, offset int64, timeout time.Duration, limit int) ([]Update, error) {
	body := fmt.Appendf(nil, `{"offset":%d,"limit":%d,"timeout":%d,"allowed_updates":["message","callback_query"]}`, offset, limit, int(timeout/time.Second))
	raw, err := c.call(ctx, "getUpdates", "application/json", body, timeout+requestTimeout)
	if err != nil {
		return nil, err
	}
	var wire []wireUpdate
	if err := json.Unmarshal(raw, &wire); err != nil {
		return nil, fmt.Errorf("getUpdates at offset %d: decode: %w", offset, err)
	}
	ups := make([]Update, 0, len(wire))
	for _, w := range wire {
		u := Update{ID: w.UpdateID}
		switch {
		case w.Message != nil:
			u.ChatID, u.MessageID, u.Text = w.Message.Chat.ID, w.Message.MessageID, w.Message.Text
		case w.CallbackQuery != nil:
			q := w.CallbackQuery
			u.ChatID, u.CallbackID, u.Data = q.From.ID, q.ID, q.Data
			if q.Message != nil {
				u.ChatID, u.MessageID = q.Message.Chat.ID, q.Message.MessageID
			}
		}
		ups = append(ups, u)
	}
	return ups, nil
}

// send makes the call r, retrying after 429 (as retry_after says), 5xx and broken
// connections.
func (c *client) send(ctx context.Context, r Reply) error {
	contentType, body, err := encode(r)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		_, err := c.call(ctx, r.Method, contentType, body, requestTimeout)
		if err == nil {
			return nil
		}
		wait := sendRetry.Delay(attempt, 0)
		if ae, ok := err.(*apiError); ok {
			switch {
			case ae.code == http.StatusTooManyRequests:
				wait = time.Duration(max(ae.retryAfter, 1)) * time.Second
			case ae.code < 500:
				return err // the request itself is wrong; trying again will not help
			}
		}
		if attempt == maxAttempts || backoff.Sleep(ctx, wait) != nil {
			return err
		}
	}
}

type replyParameters struct {
	MessageID                int64 `json:"message_id"`
	AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
}

type inlineButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

type inlineKeyboard struct {
	InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
}

type sendMessage struct {
	ChatID          int64            `json:"chat_id"`
	Text            string           `json:"text"`
	ReplyParameters *replyParameters `json:"reply_parameters,omitempty"`
	ReplyMarkup     *inlineKeyboard  `json:"reply_markup,omitempty"`
}

type answerCallbackQuery struct {
	CallbackQueryID string `json:"callback_query_id"`
	Text            string `json:"text,omitempty"`
}

// encode builds the body of r: JSON, or multipart for a photo.
func encode(r Reply) (contentType string, body []byte, err error) {
	var rp *replyParameters
	if r.ReplyTo != 0 {
		rp = &replyParameters{MessageID: r.ReplyTo, AllowSendingWithoutReply: true}
	}
	switch r.Method {
	case "sendMessage":
		m := sendMessage{ChatID: r.ChatID, Text: r.Text, ReplyParameters: rp}
		if len(r.Buttons) > 0 {
			row := make([]inlineButton, len(r.Buttons))
			for i, b := range r.Buttons {
				row[i] = inlineButton{Text: b.Text, CallbackData: b.Data}
			}
			m.ReplyMarkup = &inlineKeyboard{InlineKeyboard: [][]inlineButton{row}}
		}
		body, err = json.Marshal(m)
		return "application/json", body, err
	case "answerCallbackQuery":
		body, err = json.Marshal(answerCallbackQuery{CallbackQueryID: r.CallbackID, Text: r.Text})
		return "application/json", body, err
	case "sendPhoto":
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("chat_id", strconv.FormatInt(r.ChatID, 10))
		if rp != nil {
			raw, _ := json.Marshal(rp)
			w.WriteField("reply_parameters", string(raw))
		}
		if r.Text != "" {
			w.WriteField("caption", r.Text)
		}
		fw, err := w.CreateFormFile("photo", "chart.png")
		if err != nil {
			return "", nil, fmt.Errorf("sendPhoto to chat %d: %w", r.ChatID, err)
		}
		fw.Write(r.Photo)
		if err := w.Close(); err != nil {
			return "", nil, fmt.Errorf("sendPhoto to chat %d: %w", r.ChatID, err)
		}
		return w.FormDataContentType(), buf.Bytes(), nil
	}
	return "", nil, fmt.Errorf("echobot: unknown method %q", r.Method)
}

// chartPNG is the bot's chart: a small, valid PNG made once.
var chartPNG = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 16))
	for x := range 32 {
		img.Set(x, 15-x/2, color.RGBA{0, 90, 200, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}()
