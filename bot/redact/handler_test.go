package redact_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot/redact"
)

const (
	token  = "123456789:AAH-secret_part-of-the-token"
	secret = "AAH-secret_part-of-the-token"
)

type wrapped struct{ Inner *struct{ Token string } }

type valuer struct{ s string }

func (v valuer) LogValue() slog.Value { return slog.StringValue("resolved " + v.s) }

type panics struct{}

func (*panics) String() string { panic("formatting " + token) }

type text struct{}

func (text) MarshalText() ([]byte, error) { return []byte("text of " + token), nil }

func TestHandlerRedacts(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
	}{
		{"message", func(l *slog.Logger) { l.Info("GET /bot" + token + "/getMe") }},
		{"escaped in a message", func(l *slog.Logger) { l.Info("GET /bot123456789%3A" + secret + "/getMe") }},
		{"string", func(l *slog.Logger) { l.Info("m", slog.String("url", "/bot"+token)) }},
		{"key", func(l *slog.Logger) { l.Info("m", slog.Int(token, 1)) }},
		{"error", func(l *slog.Logger) {
			l.Warn("m", slog.Any("err", fmt.Errorf("getMe: %w", errors.New("at /bot"+token))))
		}},
		{"panic value", func(l *slog.Logger) { l.Error("m", slog.Any("panic", "boom "+token)) }},
		{"group", func(l *slog.Logger) { l.Info("m", slog.Group("g", slog.Group("h", slog.String("s", token)))) }},
		{"log valuer", func(l *slog.Logger) { l.Info("m", slog.Any("v", valuer{token})) }},
		{"log valuer in a group", func(l *slog.Logger) { l.Info("m", slog.Group("g", slog.Any("v", valuer{token}))) }},
		{"struct", func(l *slog.Logger) { l.Info("m", slog.Any("v", struct{ T string }{token})) }},
		{"nested pointer", func(l *slog.Logger) { l.Info("m", slog.Any("v", wrapped{&struct{ Token string }{token}})) }},
		{"bytes", func(l *slog.Logger) { l.Info("m", slog.Any("v", []byte(token))) }},
		{"text marshaler", func(l *slog.Logger) { l.Info("m", slog.Any("v", text{})) }},
		{"panicking stringer", func(l *slog.Logger) { l.Info("m", slog.Any("v", &panics{})) }},
		{"with", func(l *slog.Logger) { l.With("token", token).Info("m") }},
		{"with group", func(l *slog.Logger) { l.WithGroup("g"+token).Info("m", "k", "v") }},
		{"args", func(l *slog.Logger) { l.Info("m", "k", token, "n", 1) }},
		{"many attrs", func(l *slog.Logger) {
			l.Info("m", "a", 1, "b", 2, "c", 3, "d", 4, "e", 5, "f", 6, "g", token)
		}},
	}
	handlers := map[string]func(io.Writer) slog.Handler{
		"json": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		"text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
	}
	for hname, newHandler := range handlers {
		for _, tt := range tests {
			t.Run(hname+"/"+tt.name, func(t *testing.T) {
				var buf bytes.Buffer
				tt.log(slog.New(redact.Token(token).Handler(newHandler(&buf))))
				out := buf.String()
				if strings.Contains(out, secret) {
					t.Errorf("log shows the secret: %s", out)
				}
				if !strings.Contains(out, redact.Mask) {
					t.Errorf("log has no %s where the token was: %s", redact.Mask, out)
				}
			})
		}
	}
}

// TestHandlerPassesCleanRecords checks that a record without the secret is written exactly
// as the wrapped handler writes it alone, attributes, groups and source included.
func TestHandlerPassesCleanRecords(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	write := func(h slog.Handler) string {
		var buf bytes.Buffer
		opts := &slog.HandlerOptions{AddSource: true, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				a.Value = slog.TimeValue(at)
			}
			return a
		}}
		if h == nil {
			h = slog.NewJSONHandler(&buf, opts)
		} else {
			h = redact.Token(token).Handler(slog.NewJSONHandler(&buf, opts))
		}
		l := slog.New(h).With("app", "notebook").WithGroup("req")
		l.Warn("getMe failed", slog.Int64("user", 42), slog.Any("err", errors.New("connection refused")),
			slog.Group("g", slog.String("s", "x")), slog.Any("v", valuer{"clean"}), slog.Duration("d", time.Second))
		return buf.String()
	}
	if plain, wrapped := write(nil), write(slog.DiscardHandler); plain != wrapped {
		t.Errorf("wrapped handler wrote\n%s\nthe plain one\n%s", wrapped, plain)
	}
}

func TestRedactor(t *testing.T) {
	tests := []struct {
		token, in, want string
	}{
		{token, "a " + token + " b", "a 123456789:" + redact.Mask + " b"},
		{token, "x" + secret + secret, "x" + redact.Mask + redact.Mask},
		{token, "no secret here 123456789", "no secret here 123456789"},
		{"1:short", "bot1:short and short", "bot" + redact.Mask + " and short"},
		{"no-colon-token", "/botno-colon-token/getMe", "/bot" + redact.Mask + "/getMe"},
		{"", "anything", "anything"},
	}
	for _, tt := range tests {
		if got := redact.Token(tt.token).String(tt.in); got != tt.want {
			t.Errorf("Token(%q).String(%q) = %q, want %q", tt.token, tt.in, got, tt.want)
		}
	}
}

func TestHandlerOfNoSecretIsTheHandler(t *testing.T) {
	h := slog.NewJSONHandler(io.Discard, nil)
	if got := redact.Token("").Handler(h); got != slog.Handler(h) {
		t.Errorf("Handler with no secret = %T, want the handler itself", got)
	}
	once := redact.Token(token).Handler(h)
	if twice := redact.Token(token).Handler(once); twice != once {
		t.Error("wrapping twice for the same token added a second wrapper")
	}
}

func TestEnabledFollowsNext(t *testing.T) {
	h := redact.Token(token).Handler(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled does not follow the wrapped handler's level")
	}
}

// BenchmarkHandler measures a typical log line (a message, an id, an error, a string) with
// and without the wrapper, and a line that must be rewritten.
//
//	go test ./bot/redact -run '^$' -bench Handler -benchmem
func BenchmarkHandler(b *testing.B) {
	err := fmt.Errorf("sendMessage: %w", errors.New("HTTP 502: decode response"))
	cases := []struct {
		name string
		h    func() slog.Handler
		msg  string
	}{
		{"plain", func() slog.Handler { return slog.NewJSONHandler(io.Discard, nil) }, "send failed"},
		{"redacting/clean", func() slog.Handler { return redact.Token(token).Handler(slog.NewJSONHandler(io.Discard, nil)) }, "send failed"},
		{"redacting/dirty", func() slog.Handler { return redact.Token(token).Handler(slog.NewJSONHandler(io.Discard, nil)) }, "send failed at /bot" + token},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			l := slog.New(c.h())
			b.ReportAllocs()
			for b.Loop() {
				l.Warn(c.msg, slog.Int64("chat", 42), slog.Any("err", err), slog.String("method", "sendMessage"))
			}
		})
	}
}

// nop takes every record and does nothing with it, to measure the wrapper alone.
type nop struct{}

func (nop) Enabled(context.Context, slog.Level) bool  { return true }
func (nop) Handle(context.Context, slog.Record) error { return nil }
func (h nop) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nop) WithGroup(string) slog.Handler           { return h }

// BenchmarkRedactingOnly measures what the wrapper adds to one record, without the wrapped
// handler's own work: the figure the log line pays.
//
//	go test ./bot/redact -run '^$' -bench RedactingOnly -benchmem -count 5
func BenchmarkRedactingOnly(b *testing.B) {
	err := fmt.Errorf("sendMessage: %w", errors.New("HTTP 502: decode response"))
	h := redact.Token(token).Handler(nop{})
	for _, c := range []struct{ name, msg string }{{"clean", "send failed"}, {"dirty", "send failed at /bot" + token}} {
		b.Run(c.name, func(b *testing.B) {
			rec := slog.NewRecord(time.Now(), slog.LevelWarn, c.msg, 0)
			rec.AddAttrs(slog.Int64("chat", 42), slog.Any("err", err), slog.String("method", "sendMessage"))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = h.Handle(ctx, rec)
			}
		})
	}
}

func ExampleRedactor_Handler() {
	const token = "123456789:AAH-secret_part-of-the-token"
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	log := slog.New(redact.Token(token).Handler(h))
	log.Warn("getMe failed", slog.Any("err", errors.New("Internal error at /bot"+token+"/getMe")))
	// Output: level=WARN msg="getMe failed" err="Internal error at /bot123456789:<token>/getMe"
}
