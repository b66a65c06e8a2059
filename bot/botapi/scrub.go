package botapi

import (
	"errors"
	"net/url"
	"strconv"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot/redact"
)

// scrub returns err with the token removed from its text and from the text of every error
// in its chain: net/http's errors quote the request URL, which holds the token, and a proxy
// or a self-hosted Bot API server may echo the request path in its error description.
//
// The errors callers look for are rebuilt as copies of their own type, so errors.As still
// finds them: a *gotgbot.TelegramError (its description redacted), a *url.Error (its URL)
// and an *HTTPError. Any other error holding the token is replaced by one that has its
// redacted text, wraps the scrubbed errors it wrapped, and answers errors.Is as the
// original would (a deadline stays a deadline); the original is not reachable from it.
func scrub(token string, err error) error {
	if err == nil {
		return nil
	}
	out, _ := scrubbed(redact.Token(token), err)
	return out
}

// scrubbed returns err scrubbed and whether that is a new error; err itself when nothing in
// its chain holds the secret.
func scrubbed(r redact.Redactor, err error) (error, bool) {
	switch e := err.(type) {
	case nil:
		return nil, false
	case *gotgbot.TelegramError:
		if !r.Reveals(e.Description) && !r.Reveals(e.Method) {
			return err, false
		}
		c := *e
		c.Method, c.Description = r.String(e.Method), r.String(e.Description)
		return &c, true
	case *url.Error:
		inner, changed := scrubbed(r, e.Err)
		if !changed && !r.Reveals(e.URL) && !r.Reveals(e.Op) {
			return err, false
		}
		return &url.Error{Op: r.String(e.Op), URL: r.String(e.URL), Err: inner}, true
	case *HTTPError:
		inner, changed := scrubbed(r, e.Err)
		if !changed && !r.Reveals(e.Method) {
			return err, false
		}
		return &HTTPError{Method: r.String(e.Method), Status: e.Status, Err: inner}, true
	case interface{ Unwrap() error }:
		inner, changed := scrubbed(r, e.Unwrap())
		if !changed && !r.Reveals(err.Error()) {
			return err, false
		}
		return &scrubbedError{msg: r.String(err.Error()), orig: err, wrapped: inner}, true
	case interface{ Unwrap() []error }:
		wrapped := e.Unwrap()
		inner := make([]error, len(wrapped))
		changed := false
		for i, w := range wrapped {
			var c bool
			inner[i], c = scrubbed(r, w)
			changed = changed || c
		}
		if !changed && !r.Reveals(err.Error()) {
			return err, false
		}
		return &scrubbedErrors{msg: r.String(err.Error()), orig: err, wrapped: inner}, true
	}
	if !r.Reveals(err.Error()) {
		return err, false
	}
	return &scrubbedError{msg: r.String(err.Error()), orig: err}, true
}

// scrubbedError stands for an error that held the token, and wraps what it wrapped,
// scrubbed.
type scrubbedError struct {
	msg     string
	orig    error // for Is only: its text holds the token
	wrapped error
}

func (e *scrubbedError) Error() string { return e.msg }

// GoString keeps %#v, which prints unexported fields, from printing the original.
func (e *scrubbedError) GoString() string { return goString(e.msg) }

func (e *scrubbedError) Unwrap() error { return e.wrapped }

// Is answers as the original error would, so that a timeout or a cancellation is still
// recognised, without handing the original out.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.orig, target) }

// scrubbedErrors is scrubbedError for an error that wraps several (errors.Join).
type scrubbedErrors struct {
	msg     string
	orig    error
	wrapped []error
}

func (e *scrubbedErrors) Error() string { return e.msg }

func (e *scrubbedErrors) GoString() string { return goString(e.msg) }

func (e *scrubbedErrors) Unwrap() []error { return e.wrapped }

func (e *scrubbedErrors) Is(target error) bool { return errors.Is(e.orig, target) }

func goString(msg string) string { return "botapi.scrubbed(" + strconv.Quote(msg) + ")" }
