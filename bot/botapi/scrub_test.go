package botapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

const secretToken = "4242:SECRET-token-value"

// chain returns err and every error it wraps, depth first.
func chain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch e := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, chain(e.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, w := range e.Unwrap() {
			out = append(out, chain(w)...)
		}
	}
	return out
}

// checkScrubbed fails when the token shows in the text of err or of any error it wraps,
// however it is printed.
func checkScrubbed(tb testing.TB, err error, token string) {
	tb.Helper()
	secret := token[strings.LastIndexByte(token, ':')+1:]
	for i, e := range chain(err) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			if s := fmt.Sprintf(verb, e); strings.Contains(s, secret) {
				tb.Errorf("error %d of the chain (%T) printed with %s shows the token: %s", i, e, verb, s)
			}
		}
	}
}

type timeoutErr struct{ msg string }

func (e timeoutErr) Error() string   { return e.msg }
func (e timeoutErr) Timeout() bool   { return true }
func (e timeoutErr) Temporary() bool { return true }

var errSentinel = errors.New("sentinel")

type matchesSentinel string

func (e matchesSentinel) Error() string        { return string(e) }
func (e matchesSentinel) Is(target error) bool { return target == errSentinel }

func TestScrub(t *testing.T) {
	path := "/bot" + secretToken + "/getMe"
	te := &gotgbot.TelegramError{Method: "getMe", Code: 500, Description: "Internal error at " + path}
	ue := &url.Error{Op: "Post", URL: "http://api" + path, Err: context.DeadlineExceeded}
	tests := []struct {
		name  string
		err   error
		check func(error) bool // what must still hold of the scrubbed error
	}{
		{"telegram error", te, func(err error) bool {
			var got *gotgbot.TelegramError
			return errors.As(err, &got) && got.Code == 500 && got.Method == "getMe" && te.Description == "Internal error at "+path
		}},
		{"wrapped telegram error", fmt.Errorf("getMe: %w", te), func(err error) bool {
			var got *gotgbot.TelegramError
			return errors.As(err, &got) && got.Code == 500
		}},
		{"url error keeps the deadline", ue, func(err error) bool {
			var ne net.Error
			return errors.Is(err, context.DeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
		}},
		{"url error quoting the token in its cause", &url.Error{Op: "Post", URL: "http://api/…", Err: errors.New("redirect to " + path)}, func(err error) bool {
			var got *url.Error
			return errors.As(err, &got) && got.Op == "Post"
		}},
		{"http error", &HTTPError{Method: "getMe", Status: 502, Err: errors.New("body " + path)}, func(err error) bool {
			var got *HTTPError
			return errors.As(err, &got) && got.Status == 502
		}},
		{"unknown type keeps Is", fmt.Errorf("x: %w", matchesSentinel("at "+path)), func(err error) bool {
			return errors.Is(err, errSentinel)
		}},
		{"unknown net error keeps Is of its cause", fmt.Errorf("y: %w", fmt.Errorf("%w: %w", timeoutErr{"at " + path}, context.Canceled)), func(err error) bool {
			return errors.Is(err, context.Canceled)
		}},
		{"joined", errors.Join(errors.New("clean"), te, ue), func(err error) bool {
			var got *gotgbot.TelegramError
			return errors.As(err, &got) && errors.Is(err, context.DeadlineExceeded)
		}},
		{"a wrapper that hides its cause's text", hider{te}, func(err error) bool {
			var got *gotgbot.TelegramError
			return errors.As(err, &got) && err.Error() == "hidden"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scrub(secretToken, tt.err)
			checkScrubbed(t, got, secretToken)
			if !strings.Contains(got.Error(), "<token>") && got.Error() != "hidden" {
				t.Errorf("scrubbed error %q does not say where the token was", got)
			}
			if !tt.check(got) {
				t.Errorf("scrubbed error %#v lost what callers look for", got)
			}
		})
	}
}

type hider struct{ err error }

func (h hider) Error() string { return "hidden" }
func (h hider) Unwrap() error { return h.err }

func TestScrubLeavesCleanErrorsAlone(t *testing.T) {
	for _, err := range []error{nil, context.Canceled, &gotgbot.TelegramError{Method: "getMe", Code: 401, Description: "Unauthorized"}, fmt.Errorf("a: %w", errSentinel)} {
		if got := scrub(secretToken, err); got != err {
			t.Errorf("scrub(%v) = %#v, want the error itself", err, got)
		}
	}
}

// leakyAPI is a Bot API server, a proxy or a self-hosted one, that quotes the request path,
// token and all, in its errors: as a JSON description, URL-escaped in one, and in an
// HTML error page. It answers the method named in the path's last segment by how.
func leakyAPI(tb testing.TB, how func(method string) string) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the multipart body is written as it is read
		switch how(path.Base(r.URL.Path)) {
		case "description":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"ok":false,"error_code":500,"description":"Internal error at %s"}`, r.URL.Path)
		case "escaped":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"ok":false,"error_code":400,"description":"Bad Request: no route %s"}`, url.QueryEscape(r.URL.Path))
		case "page":
			http.Error(w, "<html>502 Bad Gateway: upstream "+r.URL.Path+" failed</html>", http.StatusBadGateway)
		case "redirect":
			http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
		case "hang":
			<-r.Context().Done()
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func TestErrorsOfALeakyAPIHideToken(t *testing.T) {
	png := gotgbot.InputFileByReader("chart.png", strings.NewReader("not really a png"))
	requests := []struct {
		name string
		call func(context.Context, *gotgbot.Bot) error
	}{
		{"getMe", func(ctx context.Context, b *gotgbot.Bot) error { _, err := b.GetMeWithContext(ctx, nil); return err }},
		{"sendMessage", func(ctx context.Context, b *gotgbot.Bot) error {
			_, err := b.SendMessageWithContext(ctx, 1, "hi", nil)
			return err
		}},
		{"sendPhoto (multipart)", func(ctx context.Context, b *gotgbot.Bot) error {
			_, err := b.SendPhotoWithContext(ctx, 1, png, nil)
			return err
		}},
	}
	tests := []struct {
		how   string
		check func(error) bool
	}{
		{"description", func(err error) bool {
			var te *gotgbot.TelegramError
			return errors.As(err, &te) && te.Code == 500 && strings.Contains(te.Description, "Internal error at /bot4242:<token>/")
		}},
		{"escaped", func(err error) bool {
			var te *gotgbot.TelegramError
			return errors.As(err, &te) && te.Code == 400 && strings.Contains(te.Description, "<token>")
		}},
		{"page", func(err error) bool { return err != nil }},
		{"redirect", func(err error) bool {
			var ue *url.Error
			// gotgbot's own client masks the URL its way first.
			return errors.As(err, &ue) && strings.Contains(strings.ToLower(ue.URL), "<token>")
		}},
		{"hang", func(err error) bool {
			var ne net.Error
			return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
		}},
	}
	for _, tt := range tests {
		for _, req := range requests {
			t.Run(tt.how+"/"+req.name, func(t *testing.T) {
				api := leakyAPI(t, func(string) string { return tt.how })
				client := New(api.URL, &http.Client{})
				b, err := gotgbot.NewBot(secretToken, &gotgbot.BotOpts{BotClient: client, DisableTokenCheck: true})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				err = req.call(ctx, b)
				if err == nil {
					t.Fatal("no error")
				}
				checkScrubbed(t, err, secretToken)
				if !tt.check(err) {
					t.Errorf("err = %v (%T): not what callers look for", err, err)
				}
			})
		}
	}
}
