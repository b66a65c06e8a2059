package router_test

import (
	"fmt"
	"log/slog"
	"regexp"
	"testing"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/router"
)

// none handles an update without allocating, so that what is measured is routing.
func none(s int, _ *bot.Update) (int, []bot.Action) { return s + 1, nil }

// busy is a router of the size a real bot has: 20 commands, callbacks, text patterns,
// media and a fallback, with logging at info level (so off) around it all.
func busy(tb testing.TB) *router.Router[int] {
	tb.Helper()
	r := router.New[int]()
	for i := range 20 {
		r.Command(fmt.Sprintf("cmd%d", i), none)
	}
	for _, p := range []string{"page:", "reset:", "reset:all", "vote:", "x"} {
		r.Callback(p, none)
	}
	for _, re := range []string{`^\d+$`, `(?i)^hello\b`, `^(\w+)=(\w+)$`} {
		r.Text(regexp.MustCompile(re), none)
	}
	r.Media(router.Photo, none)
	r.Media(router.Voice, none)
	r.On(router.PreCheckoutQuery, none)
	r.Fallback(none)
	r.Use(router.Logging[int](slog.New(slog.DiscardHandler)))
	return r
}

var routed = map[string]*bot.Update{
	"command":             text("/cmd17 some arguments"),
	"command upper, @bot": text("/CMD17@TroupeBot some arguments"),
	"callback":            callback("reset:all:now"),
	"text third pattern":  text("colour=blue"),
}

func TestRoutingDoesNotAllocate(t *testing.T) {
	r := busy(t)
	for name, u := range routed {
		if name == "text third pattern" && raceEnabled {
			continue
		}
		if n := testing.AllocsPerRun(100, func() { r.Handle(0, u) }); n != 0 {
			t.Errorf("routing a %s: %v allocations, want 0", name, n)
		}
	}
}

// BenchmarkRoute routes updates through busy's router.
//
//	go test -run '^$' -bench Route -benchmem ./bot/router
func BenchmarkRoute(b *testing.B) {
	r := busy(b)
	for _, name := range []string{"command", "command upper, @bot", "callback", "text third pattern"} {
		u := routed[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Handle(0, u)
			}
		})
	}
}
