package redact

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
)

// Handler returns a slog.Handler that passes records to next with the secret replaced by
// Mask in the message, in every attribute's key and value, in the attributes and group
// names given to WithAttrs and WithGroup, and in group values at any depth. An attribute
// whose value is not a string (an error, a Stringer, any other value) is checked in its
// formatted text, and when that holds the secret it becomes the redacted text, a string.
//
// A record without the secret goes to next as it came, after one strings.Contains per
// message and string value and one formatting of each error or other value: see
// BenchmarkHandler for what that costs a log line. Wrapping a Handler of the same Redactor
// again returns it as is.
func (r Redactor) Handler(next slog.Handler) slog.Handler {
	if r.secret == "" {
		return next
	}
	if h, ok := next.(*handler); ok && h.r == r {
		return h
	}
	return &handler{next: next, r: r}
}

type handler struct {
	next slog.Handler
	r    Redactor
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	dirty := h.r.Reveals(rec.Message)
	if !dirty {
		rec.Attrs(func(a slog.Attr) bool {
			_, dirty = h.r.attr(a)
			return !dirty
		})
	}
	if !dirty {
		return h.next.Handle(ctx, rec)
	}
	clean := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		a, _ = h.r.attr(a)
		clean.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, clean)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean, _ := h.r.attrs(attrs)
	return &handler{next: h.next.WithAttrs(clean), r: h.r}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(h.r.String(name)), r: h.r}
}

// attrs returns attrs redacted, and whether any of them changed; attrs itself when none did.
func (r Redactor) attrs(attrs []slog.Attr) ([]slog.Attr, bool) {
	var out []slog.Attr
	for i, a := range attrs {
		if c, changed := r.attr(a); changed {
			if out == nil {
				out = slices.Clone(attrs)
			}
			out[i] = c
		}
	}
	if out == nil {
		return attrs, false
	}
	return out, true
}

// attr returns a redacted, and whether that differs from a. A LogValuer is resolved
// first, so that what it stands for is checked, not the value that asks for it.
func (r Redactor) attr(a slog.Attr) (slog.Attr, bool) {
	changed := r.Reveals(a.Key)
	a.Key = r.String(a.Key)
	if a.Value.Kind() == slog.KindLogValuer {
		a.Value = a.Value.Resolve()
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); r.Reveals(s) {
			a.Value, changed = slog.StringValue(r.String(s)), true
		}
	case slog.KindGroup:
		if group, ok := r.attrs(a.Value.Group()); ok {
			a.Value, changed = slog.GroupValue(group...), true
		}
	case slog.KindAny:
		if s, ok := r.leak(a.Value.Any()); ok {
			a.Value, changed = slog.StringValue(r.String(s)), true
		}
	}
	return a, changed
}

// leak returns a text a handler may write for v that holds the secret, if there is one.
// slog's JSON handler writes an error's text and marshals any other value; its text handler
// writes a TextMarshaler's text and formats anything else with fmt (which asks an error
// for its text unless the error formats itself): each is checked. A value that panics when
// formatted is checked by what it panics with, which is what slog writes instead.
func (r Redactor) leak(v any) (text string, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			text = fmt.Sprint(p)
			ok = r.Reveals(text)
		}
	}()
	reveals := func(s string) (string, bool) { return s, r.Reveals(s) }
	switch x := v.(type) {
	case nil:
		return "", false
	case []byte:
		return reveals(string(x))
	case error:
		if s, ok := reveals(x.Error()); ok {
			return s, true
		}
		if _, formats := v.(fmt.Formatter); !formats {
			return "", false
		}
		return reveals(fmt.Sprintf("%+v", v))
	}
	if tm, isTM := v.(encoding.TextMarshaler); isTM {
		if b, err := tm.MarshalText(); err == nil && r.Reveals(string(b)) {
			return string(b), true
		}
	}
	if s, ok := reveals(fmt.Sprintf("%+v", v)); ok {
		return s, true
	}
	if b, err := json.Marshal(v); err == nil {
		return reveals(string(b))
	}
	return "", false
}
