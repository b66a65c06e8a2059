package router_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/router"
)

// mark is middleware that appends name to the state on the way in, so the state tells
// the order middleware ran in.
func mark(name string) router.Middleware[string] {
	return func(next bot.Logic[string]) bot.Logic[string] {
		return bot.LogicFunc[string](func(s string, u *bot.Update) (string, []bot.Action) {
			return next.Handle(s+name+">", u)
		})
	}
}

// trail is a handler that appends its name to the trail the middleware left.
func trail(name string) bot.LogicFunc[string] {
	return func(s string, _ *bot.Update) (string, []bot.Action) { return s + name, nil }
}

func TestMiddlewareOrder(t *testing.T) {
	r := router.New[string]()
	r.Use(mark("a"), mark("b"))
	r.Command("x", trail("x"), mark("c"), mark("d"))
	r.Fallback(trail("fallback"), mark("f"))
	r.Use(mark("e")) // a later Use goes inside the earlier ones

	tests := []struct {
		name string
		u    *bot.Update
		want string
	}{
		{"route", text("/x"), "a>b>e>c>d>x"},
		{"fallback", text("hi"), "a>b>e>f>fallback"},
		{"other bot's command: Use still sees it", text("/x@otherbot"), "a>b>e>"},
	}
	for _, tc := range tests {
		if got, _ := r.Handle("", tc.u); got != tc.want {
			t.Errorf("%s: trail %q, want %q", tc.name, got, tc.want)
		}
	}
	if got, _ := router.With[string](trail("h"), mark("1"), mark("2")).Handle("", text("")); got != "1>2>h" {
		t.Errorf("With: trail %q, want 1>2>h", got)
	}
}

func TestAdminOnly(t *testing.T) {
	const admin = 200 // bob
	from := func(u *bot.Update, who *gotgbot.User) *bot.Update { u.Sender = who; return u }
	logger := slog.New(slog.DiscardHandler)

	r := router.New[string]()
	r.Command("status", to("status"), router.AdminOnly[string](admin))
	// A guard under other middleware still hides its route.
	r.Command("stats", to("stats"), router.Logging[string](logger), router.AdminOnly[string](7, admin))
	r.Callback("admin:", to("admin:"), router.AdminOnly[string](admin))
	r.Callback("a", to("a"))
	r.Fallback(to("unknown command"))

	tests := []struct {
		name string
		u    *bot.Update
		want string
	}{
		{"admin", from(text("/status"), bob), "status"},
		{"non-admin", from(text("/status"), alice), "unknown command"},
		{"no sender", from(text("/status"), nil), "unknown command"},
		{"admin, guard under logging", from(text("/stats"), bob), "stats"},
		{"non-admin, guard under logging", from(text("/stats"), alice), "unknown command"},
		{"admin callback", from(callback("admin:x"), bob), "admin:"},
		{"non-admin callback takes the next prefix", from(callback("admin:x"), alice), "a"},
	}
	for _, tc := range tests {
		if got, _ := route(r, tc.u); got != tc.want {
			t.Errorf("%s: routed to %q, want %q", tc.name, got, tc.want)
		}
	}

	whole := router.New[string]()
	whole.Use(router.AdminOnly[string](admin))
	whole.Fallback(to("fallback"))
	if got, acts := whole.Handle("kept", from(text("hi"), alice)); got != "kept" || acts != nil {
		t.Errorf("non-admin through an admin-only router: (%q, %v), want dropped", got, acts)
	}
	if got, _ := route(whole, from(text("hi"), bob)); got != "fallback" {
		t.Errorf("admin through an admin-only router: routed to %q", got)
	}

	// Outside a router, a guard drops what it declines.
	g := router.With[string](to("h"), router.Only[string](func(u *bot.Update) bool { return router.KindOf(u) == router.Message }))
	if got, _ := g.Handle("", callback("x")); got != "" {
		t.Errorf("Only outside a router handled a declined update: %q", got)
	}
	if got, _ := g.Handle("", text("x")); got != "h" {
		t.Errorf("Only outside a router: %q, want h", got)
	}
}

// logLines runs each update through l and returns what the logger wrote, one map per line.
func logLines(t *testing.T, level slog.Level, wrap func(*slog.Logger) bot.Logic[string], us ...*bot.Update) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))
	l := wrap(log)
	for _, u := range us {
		l.Handle("", u)
	}
	var lines []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestLogging(t *testing.T) {
	routes := func() *router.Router[string] {
		r := router.New[string]()
		r.Command("note", to("note"))
		r.Callback("page:", trail(""))
		r.Command("status", to("status"), router.AdminOnly[string](bob.Id))
		return r
	}
	secret := "/note my bank PIN is 1234"
	updates := []*bot.Update{text(secret), callback("page:2"), text("hello there"), text("/note@otherbot x")}
	want := []struct {
		kind, route string
		actions     float64
	}{
		{"message", "/note", 1},
		{"callback_query", "callback page:", 0},
		{"message", "none", 0},
		{"message", "other bot's command", 0},
	}
	cases := map[string]func(*slog.Logger) bot.Logic[string]{
		"Use": func(log *slog.Logger) bot.Logic[string] {
			r := routes()
			r.Use(router.Logging[string](log))
			return r
		},
		"around the router": func(log *slog.Logger) bot.Logic[string] {
			return router.With[string](routes(), router.Logging[string](log))
		},
		"around a guard around the router": func(log *slog.Logger) bot.Logic[string] {
			yes := router.Only[string](func(*bot.Update) bool { return true })
			return router.With[string](routes(), router.Logging[string](log), yes)
		},
	}
	for name, wrap := range cases {
		t.Run(name, func(t *testing.T) {
			lines := logLines(t, slog.LevelDebug, wrap, updates...)
			if len(lines) != len(want) {
				t.Fatalf("%d log lines, want one per update (%d): %v", len(lines), len(want), lines)
			}
			for i, w := range want {
				l := lines[i]
				if l["level"] != "DEBUG" || l["kind"] != w.kind || l["route"] != w.route || l["actions"] != w.actions || l["key"] != float64(alice.Id) {
					t.Errorf("line %d = %v, want debug, kind %s, route %q, %v actions, key %d", i, l, w.kind, w.route, w.actions, alice.Id)
				}
				for k, v := range l {
					if s, ok := v.(string); ok && strings.Contains(s, "PIN") || strings.Contains(k, "PIN") {
						t.Errorf("line %d logs what the user wrote: %v", i, l)
					}
				}
			}
		})
	}

	if lines := logLines(t, slog.LevelInfo, cases["Use"], updates...); len(lines) != 0 {
		t.Errorf("at info level Logging wrote %v", lines)
	}

	// A guard declining around the whole router, and middleware Logging cannot see through.
	declined := logLines(t, slog.LevelDebug, func(log *slog.Logger) bot.Logic[string] {
		r := routes()
		r.Use(router.Logging[string](log), router.AdminOnly[string](bob.Id))
		return r
	}, text("/note x"))
	if len(declined) != 1 || declined[0]["route"] != "declined" {
		t.Errorf("declined by a Use guard: %v, want route declined", declined)
	}
	opaque := logLines(t, slog.LevelDebug, func(log *slog.Logger) bot.Logic[string] {
		r := routes()
		r.Use(router.Logging[string](log), mark("m"))
		return r
	}, text("/note x"))
	if len(opaque) != 1 || opaque[0]["route"] != "" || opaque[0]["actions"] != 1.0 {
		t.Errorf("through foreign middleware: %v, want an empty route and 1 action", opaque)
	}
}
