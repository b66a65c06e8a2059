package webchat

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/emulator"
)

//go:embed assets
var assets embed.FS

// Telegram's limit on a message's text, in UTF-16 code units as Telegram counts.
const maxText = 4096

// Defaults of Config.
const (
	DefaultMaxStreams   = 100
	DefaultLoadUsers    = 50
	DefaultLoadMessages = 10
	// GroupChat is the id of the group chat every page user is in.
	GroupChat = -1001
)

// Config sets up a Server. Emulator is required.
type Config struct {
	// Emulator is the Bot API emulator the bot polls; the page's users write through it.
	Emulator *emulator.Server
	// Status gives the operator's figures; nil shows none.
	Status Status
	// Users are the user ids the page plays, each with a private chat; the first is the
	// one a page starts as. Empty means 1, 2 and 3.
	Users []int64
	// Chaos says the bot panics on the text "panic", so the page offers a crash control.
	Chaos bool
	// MaxStreams bounds the pages open at once (their event streams); 0 means
	// DefaultMaxStreams. One more is refused with 503.
	MaxStreams int
	// LoadUsers and LoadMessages size the load-test button's run; 0 means the defaults.
	LoadUsers, LoadMessages int
	// ReplyWait bounds how long a send waits for the bot to finish its update; 0 means 30s.
	ReplyWait time.Duration
	// Tick is how often the operator's figures are sampled; 0 means a second.
	Tick   time.Duration
	Logger *slog.Logger
}

// Server serves the page and its API. It is an http.Handler; Close stops it.
type Server struct {
	cfg   Config
	emu   *emulator.Server
	log   *slog.Logger
	hub   *hub
	tp    throughput
	mux   *http.ServeMux
	users map[int64]bool
	unsub func()

	ctx    context.Context // ends at Close: the ticker, a load run
	cancel context.CancelFunc
	wg     sync.WaitGroup

	figMu   sync.Mutex
	figures Figures

	load loadState
}

// New starts a Server on cfg.Emulator: it subscribes to the bot's sends and starts
// sampling the operator's figures.
func New(cfg Config) (*Server, error) {
	if cfg.Emulator == nil {
		return nil, errors.New("webchat: Config.Emulator is nil")
	}
	if len(cfg.Users) == 0 {
		cfg.Users = []int64{1, 2, 3}
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.LoadUsers <= 0 {
		cfg.LoadUsers = DefaultLoadUsers
	}
	if cfg.LoadMessages <= 0 {
		cfg.LoadMessages = DefaultLoadMessages
	}
	if cfg.ReplyWait <= 0 {
		cfg.ReplyWait = 30 * time.Second
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, emu: cfg.Emulator, log: cfg.Logger, users: make(map[int64]bool)}
	chats := []int64{GroupChat}
	for _, u := range cfg.Users {
		if u <= 0 || u >= loadUserBase {
			return nil, fmt.Errorf("webchat: user id %d: must be between 1 and %d (the load run's users start above)", u, loadUserBase-1)
		}
		s.users[u] = true
		chats = append(chats, u)
	}
	s.hub = newHub(chats, cfg.MaxStreams)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.unsub = s.emu.Subscribe(s.hub.onSent)
	s.routes()
	s.tick()
	s.wg.Go(s.sampleLoop)
	return s, nil
}

// Close ends the streams, a load run and the sampling, and stops watching the emulator.
func (s *Server) Close() {
	s.cancel()
	s.unsub()
	s.hub.closeAll()
	s.wg.Wait()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) routes() {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has it
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	})
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /api/events", s.events)
	m.HandleFunc("GET /api/history", s.historyHandler)
	m.HandleFunc("POST /api/send", jsonOnly(s.send))
	m.HandleFunc("POST /api/press", jsonOnly(s.pressHandler))
	m.HandleFunc("GET /api/photo", s.photoHandler)
	m.HandleFunc("GET /api/throughput.png", s.throughputHandler)
	m.HandleFunc("POST /api/loadtest", jsonOnly(s.loadHandler))
	s.mux = m
}

// jsonOnly refuses a POST that is not JSON. A form or text/plain POST is what another web
// site's page can send to this one without asking (no CORS preflight); JSON needs a
// preflight this server never answers, so only the page itself (or a script) can act.
func jsonOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "Send JSON, with Content-Type: application/json.")
			return
		}
		h(w, r)
	}
}

// chatInfo describes a chat to the page.
type chatInfo struct {
	ID      int64   `json:"id"`
	Title   string  `json:"title"`
	Group   bool    `json:"group"`
	Members []int64 `json:"members"`
}

type hello struct {
	Users      []int64    `json:"users"`
	Chats      []chatInfo `json:"chats"`
	Chaos      bool       `json:"chaos"`
	MaxText    int        `json:"max_text"`
	Items      []Item     `json:"items"`
	Figures    *Figures   `json:"figures,omitempty"`
	Throughput int64      `json:"throughput"`
	Load       loadReport `json:"load"`
}

func (s *Server) chatInfos() []chatInfo {
	var out []chatInfo
	for _, u := range s.cfg.Users {
		out = append(out, chatInfo{ID: u, Title: "User " + strconv.FormatInt(u, 10), Members: []int64{u}})
	}
	return append(out, chatInfo{ID: GroupChat, Title: "Troupe sandbox group", Group: true, Members: s.cfg.Users})
}

// events streams the page's events: hello first (the chats and their history), then
// "item", "edit", "toast", "status", "throughput" and "load" as they happen.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "this server cannot stream events")
		return
	}
	var fig *Figures
	if s.cfg.Status != nil {
		// Read now, not from the last tick: a page opened after a burst shows it.
		f := s.cfg.Status.Figures()
		fig = &f
	}
	st, err := s.hub.open(func(items []Item) []byte {
		h := hello{Users: s.cfg.Users, Chats: s.chatInfos(), Chaos: s.cfg.Chaos, MaxText: maxText, Items: items, Figures: fig, Load: s.load.report()}
		if items == nil {
			h.Items = []Item{}
		}
		_, h.Throughput = s.tp.current()
		return event("hello", h)
	})
	if err != nil {
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusServiceUnavailable, "Too many pages are open on this sandbox; close a tab and reload.")
		return
	}
	defer s.hub.close(st)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	for {
		select {
		case ev := <-st.ch:
			if _, err := w.Write(ev); err != nil {
				return // the page went away
			}
			// Write what else is queued before flushing: a burst is one packet.
			for n := len(st.ch); n > 0; n-- {
				if _, err := w.Write(<-st.ch); err != nil {
					return
				}
			}
			flusher.Flush()
		case <-st.gone:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) historyHandler(w http.ResponseWriter, r *http.Request) {
	chat, err := strconv.ParseInt(r.URL.Query().Get("chat"), 10, 64)
	if err != nil || s.hub.chats[chat] == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("No chat %q on this page.", r.URL.Query().Get("chat")))
		return
	}
	items := s.hub.history(chat)
	if items == nil {
		items = []Item{}
	}
	writeJSON(w, http.StatusOK, items)
}

// maxBody bounds a request body: a 4096-character text is at most 16 KB of UTF-8, and
// JSON escapes can double that.
const maxBody = 64 << 10

type sendRequest struct {
	User int64  `json:"user"`
	Chat int64  `json:"chat"`
	Text string `json:"text"`
}

type pressRequest struct {
	User      int64  `json:"user"`
	Chat      int64  `json:"chat"`
	MessageID int64  `json:"message_id"`
	Data      string `json:"data"`
}

type pushedResponse struct {
	UpdateID  int64 `json:"update_id"`
	MessageID int64 `json:"message_id"`
}

// readJSON decodes the body into v, answering the request itself when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request is over %d KB.", maxBody>>10))
			return false
		}
		writeError(w, http.StatusBadRequest, "The request is not the JSON this page sends: "+err.Error())
		return false
	}
	return true
}

// checkSender refuses a user the page does not play, or a chat that user is not in.
func (s *Server) checkSender(w http.ResponseWriter, user, chat int64) bool {
	switch {
	case !s.users[user]:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Unknown user %d: this page plays users %v.", user, s.cfg.Users))
		return false
	case chat != user && chat != GroupChat:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("User %d cannot write in chat %d: only in their own chat or the group.", user, chat))
		return false
	}
	return true
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if !readJSON(w, r, &req) || !s.checkSender(w, req.User, req.Chat) {
		return
	}
	switch n := utf16Len(req.Text); {
	case strings.TrimSpace(req.Text) == "":
		writeError(w, http.StatusBadRequest, "The message is empty.")
		return
	case n > maxText:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("The message is %d characters; Telegram takes at most %d.", n, maxText))
		return
	}
	p, err := s.hub.push(req.Chat, req.User, req.Text, func() (emulator.Pushed, error) {
		if req.Chat == GroupChat {
			return s.emu.SendMessage(gotgbot.Chat{Id: GroupChat, Type: "group", Title: "Troupe sandbox group"}, emulator.User(req.User), req.Text)
		}
		return s.emu.SendText(req.User, req.Text)
	})
	if err != nil {
		s.log.Error("push a page message", slog.Int64("user", req.User), slog.Int64("chat", req.Chat), slog.Any("err", err))
		writeError(w, http.StatusInternalServerError, "The message could not be sent to the bot.")
		return
	}
	s.answered(w, r, p)
}

func (s *Server) pressHandler(w http.ResponseWriter, r *http.Request) {
	var req pressRequest
	if !readJSON(w, r, &req) || !s.checkSender(w, req.User, req.Chat) {
		return
	}
	// Telegram only sends the data a button of the message carries; so does the page.
	kb, ok := s.emu.Keyboard(req.Chat, req.MessageID)
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("No message %d from the bot in chat %d (or it is too old to press).", req.MessageID, req.Chat))
		return
	}
	if !hasData(kb, req.Data) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Message %d has no button with that data.", req.MessageID))
		return
	}
	p, err := s.hub.press(req.Chat, func() (emulator.Pushed, error) {
		return s.emu.PressButton(req.User, req.Chat, req.MessageID, req.Data)
	})
	if err != nil {
		s.log.Error("push a page button press", slog.Int64("user", req.User), slog.Int64("chat", req.Chat), slog.Any("err", err))
		writeError(w, http.StatusInternalServerError, "The button press could not be sent to the bot.")
		return
	}
	if !s.answered(w, r, p) {
		s.hub.forgetQuery(p.CallbackQueryID)
	}
}

func hasData(kb [][]emulator.Button, data string) bool {
	for _, row := range kb {
		for _, b := range row {
			if b.Data != "" && b.Data == data {
				return true
			}
		}
	}
	return false
}

// answered waits until the bot has finished p's update (its replies are in) and answers
// the page; false when the bot did not within ReplyWait or the page went away.
func (s *Server) answered(w http.ResponseWriter, r *http.Request, p emulator.Pushed) bool {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReplyWait)
	defer cancel()
	if err := s.emu.WaitConfirmed(ctx, p.UpdateID); err != nil {
		if r.Context().Err() != nil {
			return false
		}
		writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("The bot has not finished this within %v; its reply may still come.", s.cfg.ReplyWait))
		return false
	}
	writeJSON(w, http.StatusOK, pushedResponse{UpdateID: p.UpdateID, MessageID: p.MessageID})
	return true
}

func (s *Server) photoHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	chat, err1 := strconv.ParseInt(q.Get("chat"), 10, 64)
	msg, err2 := strconv.ParseInt(q.Get("message"), 10, 64)
	b, ok := s.hub.photo(chat, msg)
	if err1 != nil || err2 != nil || !ok {
		writeError(w, http.StatusNotFound, "No such photo (only the newest are kept).")
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(b))
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(b)
}

func (s *Server) throughputHandler(w http.ResponseWriter, r *http.Request) {
	png, version, err := s.tp.chart(r.Context())
	if err != nil {
		s.log.Error("throughput chart", slog.Any("err", err))
		writeError(w, http.StatusInternalServerError, "The throughput chart could not be drawn.")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("X-Chart-Version", strconv.FormatInt(version, 10))
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(png)
}

// sampleLoop samples the figures every Tick until Close.
func (s *Server) sampleLoop() {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.tick()
		case <-s.ctx.Done():
			return
		}
	}
}

// tick publishes the figures when they changed, and says when the throughput chart did.
func (s *Server) tick() {
	if s.cfg.Status == nil {
		return
	}
	f := s.cfg.Status.Figures()
	s.figMu.Lock()
	changed := f != s.figures
	s.figures = f
	s.figMu.Unlock()
	if changed {
		s.hub.publish("status", f)
	}
	if chartChanged, version := s.tp.sample(f.Replies); chartChanged {
		s.hub.publish("throughput", map[string]int64{"version": version})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with the sentence the page shows.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
