package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// Config sets up a Server. Only Token is required.
type Config struct {
	// Token is the bot token the server accepts; requests with any other get 401.
	Token string
	// Bot is what getMe returns; the zero value means a bot called "Troupe Emulator Bot"
	// with username "troupe_emulator_bot".
	Bot gotgbot.User
	// Addr is where to listen; empty means a free port on 127.0.0.1.
	Addr string
	// OnSend, if set, is called for every bot request the server accepted (messages,
	// edits, callback answers, photos, chat actions), in accept order, before the response
	// is written. It must not block for long: the bot waits for its response meanwhile.
	OnSend func(Sent)
	// DiscardSent stops the server from keeping every Sent for Sent and WaitSent, for load
	// tests that consume OnSend instead and must not grow without bound.
	DiscardSent bool
	// Faults to inject from the start; SetFaults changes them later. OnFault, if set, is
	// called for every request refused on purpose, before the answer is written.
	Faults  Faults
	OnFault func(Fault)
	// Logger receives the server's own errors; nil means slog.Default().
	Logger *slog.Logger
	// FirstUpdateID is the update_id of the first update; 0 means 1. A bot on a durable
	// store remembers the update ids it committed, as it must for Telegram's, whose ids
	// only grow; an emulator started again against the same store must therefore go on
	// above them (see UpdateIDFromClock), or the store takes its updates for ones it has.
	FirstUpdateID int64
}

// UpdateIDFromClock is a FirstUpdateID above every id an earlier emulator gave out, for
// runs against a store that outlives them: microseconds since 1970, since no run hands out
// updates faster than one a microsecond.
func UpdateIDFromClock() int64 { return time.Now().UnixMicro() }

// Server is a running Bot API emulator.
type Server struct {
	cfg  Config
	log  *slog.Logger
	http *http.Server
	ln   net.Listener
	url  string
	done chan struct{}
	bot  wireUser

	updates updateQueue
	chats   chatTable
	out     outbox
	faults  faultState

	requests       atomic.Int64
	refusedAnswers atomic.Int64
}

// New starts a Server listening on cfg.Addr.
func New(cfg Config) (*Server, error) {
	if cfg.Token == "" {
		return nil, errors.New("emulator: Config.Token is empty")
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: listen on %s: %w", addr, err)
	}
	s := &Server{
		cfg:  cfg,
		log:  cfg.Logger,
		ln:   ln,
		url:  "http://" + ln.Addr().String(),
		done: make(chan struct{}),
		bot:  wireUser{ID: cfg.Bot.Id, IsBot: true, FirstName: cfg.Bot.FirstName, Username: cfg.Bot.Username},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.bot.ID == 0 {
		s.bot = wireUser{ID: 100000001, IsBot: true, FirstName: "Troupe Emulator Bot", Username: "troupe_emulator_bot"}
	}
	s.updates.init(cfg.FirstUpdateID)
	s.chats.init()
	s.out.init(cfg.DiscardSent)
	s.SetFaults(cfg.Faults)
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("emulator stopped serving", slog.Any("err", err))
		}
	}()
	return s, nil
}

// URL is the server's base URL, to be used as the Bot API URL (gotgbot's APIURL).
func (s *Server) URL() string { return s.url }

// Token is the bot token the server accepts.
func (s *Server) Token() string { return s.cfg.Token }

// BotUser is the bot as getMe describes it.
func (s *Server) BotUser() gotgbot.User {
	return gotgbot.User{Id: s.bot.ID, IsBot: true, FirstName: s.bot.FirstName, Username: s.bot.Username}
}

// Close stops the server at once: waiting long polls return, webhook deliveries in flight
// are cancelled, and every connection is closed, in use or not. (A graceful shutdown would
// wait seconds for connections a client opened but never used.)
func (s *Server) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	close(s.done)
	s.updates.replaceHook(nil, false, false) // cancels the webhook's POSTs in flight
	if err := s.http.Close(); err != nil {
		return fmt.Errorf("emulator: close: %w", err)
	}
	return nil
}

// apiError is a Bot API error response.
type apiError struct {
	code        int
	description string
	retryAfter  int
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.description) }

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, description: "Bad Request: " + fmt.Sprintf(format, args...)}
}

// ServeHTTP routes /bot<token>/<method>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || method == "" {
		writeError(w, &apiError{code: http.StatusNotFound, description: "Not Found"})
		return
	}
	if token != s.cfg.Token {
		writeError(w, &apiError{code: http.StatusUnauthorized, description: "Unauthorized"})
		return
	}
	p, err := readParams(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		var ae *apiError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, &apiError{code: http.StatusRequestEntityTooLarge, description: "Request Entity Too Large"})
		case errors.As(err, &ae):
			writeError(w, ae)
		default:
			writeError(w, badRequest("%v", err))
		}
		return
	}
	method = strings.ToLower(method)
	if s.inject(w, method, p) {
		return
	}
	result, err := s.call(r.Context(), method, p)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{code: http.StatusInternalServerError, description: "Internal Server Error: " + err.Error()}
		}
		writeError(w, ae)
		return
	}
	writeResult(w, result)
}

func (s *Server) call(ctx context.Context, method string, p params) (any, error) {
	switch method {
	case "getme":
		return s.bot, nil
	case "getupdates":
		return s.getUpdates(ctx, p)
	case "setwebhook":
		return s.setWebhook(p)
	case "deletewebhook":
		return s.deleteWebhook(p)
	case "getwebhookinfo":
		return s.WebhookInfo().WebhookInfo, nil
	case "setmycommands", "deletemycommands":
		return true, nil
	case "sendmessage":
		return s.sendMessage(p)
	case "editmessagetext":
		return s.editMessageText(p)
	case "answercallbackquery":
		return s.answerCallbackQuery(p)
	case "sendphoto":
		return s.sendPhoto(p)
	case "sendchataction":
		return s.sendChatAction(p)
	case "senddocument":
		return s.sendDocument(p)
	case "deletemessage":
		return s.deleteMessage(p)
	case "answerprecheckoutquery":
		return s.answerPayment(p, preCheckoutQuery, "pre_checkout_query_id")
	case "answershippingquery":
		return s.answerPayment(p, shippingQuery, "shipping_query_id")
	case "answerinlinequery":
		return s.answerInlineQuery(p)
	}
	return nil, &apiError{code: http.StatusNotFound, description: "Not Found: method not found"}
}

type okResponse struct {
	OK     bool `json:"ok"`
	Result any  `json:"result"`
}

type errorResponse struct {
	OK          bool            `json:"ok"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *responseParams `json:"parameters,omitempty"`
}

type responseParams struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

func writeResult(w http.ResponseWriter, result any) {
	var body []byte
	if raw, ok := result.(json.RawMessage); ok {
		body = append(append([]byte(`{"ok":true,"result":`), raw...), '}')
	} else {
		var err error
		body, err = json.Marshal(okResponse{OK: true, Result: result})
		if err != nil {
			writeError(w, &apiError{code: http.StatusInternalServerError, description: "Internal Server Error: " + err.Error()})
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, e *apiError) {
	resp := errorResponse{ErrorCode: e.code, Description: e.description}
	if e.retryAfter > 0 {
		resp.Parameters = &responseParams{RetryAfter: e.retryAfter}
		w.Header().Set("Retry-After", fmt.Sprint(e.retryAfter))
	}
	body, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.code)
	_, _ = w.Write(body)
}

// signal wakes everyone waiting for a change: wait returns a channel closed at the next
// notify.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (g *signal) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	return g.ch
}

// until waits until cond, which reads state guarded by mu, holds, or ctx is done. Taking
// the signal's channel before looking means a change between the look and the wait is not
// missed.
func (g *signal) until(ctx context.Context, mu *sync.Mutex, cond func() bool) error {
	for {
		changed := g.wait()
		mu.Lock()
		ok := cond()
		mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (g *signal) notify() {
	g.mu.Lock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
	g.mu.Unlock()
}
