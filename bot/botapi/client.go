// Package botapi is Troupe's Bot API client: a gotgbot.BotClient that sends requests
// without files as JSON and keeps the bot token out of every error it returns, and out of
// every error those wrap, whether the transport, the Bot API's description (a proxy or a
// self-hosted server that quotes the request path) or gotgbot's own client put it there.
//
// gotgbot's own client sends every request as multipart/form-data through a pipe and a
// goroutine; a JSON body costs a fraction of that, and almost every request a bot makes
// (messages, edits, callback answers, getUpdates) carries no file. Requests with a file
// (sendPhoto from memory) still go as multipart, through gotgbot's client.
package botapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// DefaultTimeout bounds a request that names no timeout of its own.
const DefaultTimeout = 15 * time.Second

// maxResponse bounds a response body; the largest Bot API answers (100 updates) are far
// smaller.
const maxResponse = 16 << 20

// Client implements gotgbot.BotClient.
type Client struct {
	http      *http.Client
	apiURL    string
	multipart *gotgbot.BaseBotClient
	urls      sync.Map // a method's URL string → its *url.URL
	nurls     atomic.Int32
}

var _ gotgbot.BotClient = (*Client)(nil)

// New returns a Client for the Bot API at apiURL (https://api.telegram.org when empty),
// sending through hc.
func New(apiURL string, hc *http.Client) *Client {
	if apiURL == "" {
		apiURL = gotgbot.DefaultAPIURL
	}
	apiURL = strings.TrimSuffix(apiURL, "/")
	return &Client{
		http:   hc,
		apiURL: apiURL,
		multipart: &gotgbot.BaseBotClient{
			Client:             *hc,
			DefaultRequestOpts: &gotgbot.RequestOpts{APIURL: apiURL, Timeout: DefaultTimeout},
		},
	}
}

// NewTransport returns an HTTP transport that keeps up to conns connections to the Bot API
// open for reuse: a bot under load sends many requests at once, and the standard
// transport keeps only two idle connections per host, so the rest would reconnect
// (a TCP and TLS handshake) every time.
func NewTransport(conns int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conns
	t.MaxIdleConnsPerHost = conns
	t.IdleConnTimeout = 90 * time.Second
	return t
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// RequestWithContext calls method with params and returns its result.
func (c *Client) RequestWithContext(ctx context.Context, token, method string, params map[string]any, opts *gotgbot.RequestOpts) (json.RawMessage, error) {
	if hasFile(params) {
		res, err := c.multipart.RequestWithContext(ctx, token, method, params, opts)
		return res, scrub(token, err)
	}
	if opts != nil {
		for k, v := range opts.OverrideParams {
			params[k] = v
		}
	}
	timeout := DefaultTimeout
	if opts != nil && opts.Timeout != 0 {
		timeout = opts.Timeout // below zero: none, as in gotgbot
	}
	var res json.RawMessage
	err := c.do(ctx, c.GetAPIURL(opts), token, method, params, &res, timeout)
	var te *gotgbot.TelegramError
	if errors.As(err, &te) {
		te.Params = params
	}
	return res, err
}

// Endpoint is the Bot API of one bot: a Client and its token.
type Endpoint struct {
	c     *Client
	token string
}

// For returns the Bot API of the bot with token.
func (c *Client) For(token string) Endpoint { return Endpoint{c: c, token: token} }

// Call sends body and checks the Bot API accepted it, without decoding the result: for
// requests whose answer the caller does not need (a sent message's echo), that decoding
// would be most of what a send costs a bot.
func (e Endpoint) Call(ctx context.Context, method string, body any) error {
	return e.Do(ctx, method, body, nil, DefaultTimeout)
}

// Do sends body, a struct or map that encodes to the method's JSON parameters, within
// timeout, and decodes the result into result (nil: do not decode it). Failures are the
// errors RequestWithContext returns: *gotgbot.TelegramError for the Bot API's own, an
// *HTTPError for an answer that is not the Bot API's.
func (e Endpoint) Do(ctx context.Context, method string, body, result any, timeout time.Duration) error {
	return e.c.do(ctx, e.c.apiURL, e.token, method, body, result, timeout)
}

// do is every JSON request: encode body, post it to apiURL within timeout (none when not
// above zero), and read the answer into result, or only check it when result is nil. Its
// errors are scrubbed of the token, whatever made them.
func (c *Client) do(ctx context.Context, apiURL, token, method string, body, result any, timeout time.Duration) (err error) {
	defer func() { err = scrub(token, err) }()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer buffers.Put(buf)
	if err := json.NewEncoder(buf).Encode(body); err != nil {
		return fmt.Errorf("encode %s request: %w", method, err)
	}
	u, err := c.methodURL(apiURL + "/bot" + token + "/" + method)
	if err != nil {
		return fmt.Errorf("build %s request: %w", method, err)
	}
	// An empty URL costs no parse; the cached one replaces it.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "", bytes.NewReader(buf.Bytes()))
	if err != nil {
		return fmt.Errorf("build %s request: %w", method, err)
	}
	req.URL, req.Host = u, u.Host
	req.Header = jsonHeader
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponse)); err != nil {
		return &HTTPError{Method: method, Status: resp.StatusCode, Err: fmt.Errorf("read response: %w", err)}
	}
	answer := buf.Bytes()
	if result == nil && resp.StatusCode == http.StatusOK && bytes.HasPrefix(answer, []byte(`{"ok":true`)) {
		return nil // accepted; what it echoes is not wanted
	}
	if rs, ok := result.(*[]json.RawMessage); ok {
		if elems, ok := splitResult(answer); ok {
			*rs = elems
			return nil
		}
	}
	r := struct {
		Ok          bool                        `json:"ok"`
		Result      any                         `json:"result"`
		ErrorCode   int                         `json:"error_code"`
		Description string                      `json:"description"`
		Parameters  *gotgbot.ResponseParameters `json:"parameters"`
	}{Result: result}
	if result == nil {
		r.Result = &json.RawMessage{}
	}
	if err := json.Unmarshal(answer, &r); err != nil {
		return &HTTPError{Method: method, Status: resp.StatusCode, Err: fmt.Errorf("decode response: %w", err)}
	}
	if !r.Ok {
		return &gotgbot.TelegramError{Method: method, Code: r.ErrorCode, Description: r.Description, ResponseParams: r.Parameters}
	}
	return nil
}

// jsonHeader is every JSON request's header. Requests share it: net/http only reads a
// request's header (a RoundTripper must not change the request).
var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// mostURLs bounds the parsed-URL cache; a bot calls a few dozen methods on one API URL.
const mostURLs = 256

// methodURL returns raw parsed, from the cache when it was parsed before: parsing a
// method's URL for every request was a tenth of building it. Each caller gets its own
// copy, which it may change.
func (c *Client) methodURL(raw string) (*url.URL, error) {
	if u, ok := c.urls.Load(raw); ok {
		cp := *u.(*url.URL)
		return &cp, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if c.nurls.Add(1) <= mostURLs {
		c.urls.Store(raw, u)
	}
	cp := *u
	return &cp, nil
}

// HTTPError is a response that is not a Bot API answer.
type HTTPError struct {
	Method string
	Status int
	Err    error
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %v", e.Method, e.Status, e.Err)
}

func (e *HTTPError) Unwrap() error { return e.Err }

// GetAPIURL returns the Bot API base URL.
func (c *Client) GetAPIURL(opts *gotgbot.RequestOpts) string {
	if opts != nil && opts.APIURL != "" {
		return strings.TrimSuffix(opts.APIURL, "/")
	}
	return c.apiURL
}

// FileURL returns the download URL of a file on the Bot API server.
func (c *Client) FileURL(token, tgFilePath string, opts *gotgbot.RequestOpts) string {
	return c.GetAPIURL(opts) + "/file/bot" + token + "/" + tgFilePath
}

// hasFile reports whether params carry anything gotgbot uploads as a multipart file.
func hasFile(params map[string]any) bool {
	for _, v := range params {
		if _, ok := v.(gotgbot.Attach); ok {
			return true
		}
	}
	return false
}
