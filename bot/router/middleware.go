package router

import (
	"context"
	"log/slog"
	"slices"

	"github.com/troupebot/troupe/bot"
)

// Middleware wraps a Logic in another: to log, to guard, to time. It is a plain function,
// so middleware composes as functions do; see [Router.Use] and the mw arguments of the
// route methods.
type Middleware[S any] func(next bot.Logic[S]) bot.Logic[S]

// With wraps l in mw, outermost first: With(l, a, b) is a(b(l)).
func With[S any](l bot.Logic[S], mw ...Middleware[S]) bot.Logic[S] {
	l, _ = wrap(l, mw)
	return l
}

// wrap is With, also collecting the Guards among the layers, which a router consults
// before it chooses a route.
func wrap[S any](l bot.Logic[S], mw []Middleware[S]) (bot.Logic[S], []Guard) {
	var guards []Guard
	for i := len(mw) - 1; i >= 0; i-- {
		l = mw[i](l)
		if g, ok := l.(Guard); ok {
			guards = append(guards, g)
		}
	}
	return l, guards
}

// Guard is a Logic that may decline an update. When middleware given to a route returns
// a Guard, the router asks it before choosing the route, and goes on as if the route were
// not there if it declines: to the next matching route, the On route for the update's
// kind, the fallback. Admit may be called more than once for an update, so it should be
// a plain check, with no effects.
type Guard interface {
	Admit(u *bot.Update) bool
}

// Only is middleware that admits the updates admit accepts (a [Guard]). On a route, the
// others go on to the routes after it; around a whole router (Use, With) they are
// dropped: (s, nil).
func Only[S any](admit func(u *bot.Update) bool) Middleware[S] {
	return func(next bot.Logic[S]) bot.Logic[S] { return &guard[S]{admit: admit, next: next} }
}

// AdminOnly is middleware that admits only updates sent by one of the users ids (their
// Update.Sender). On a route, anyone else finds the route missing: r.Command("status", h,
// AdminOnly[S](ids...)) pretends /status does not exist for non-admins, so they get the
// router's fallback, as for any unknown command.
func AdminOnly[S any](ids ...int64) Middleware[S] {
	admins := slices.Clone(ids)
	return Only[S](func(u *bot.Update) bool {
		return u.Sender != nil && slices.Contains(admins, u.Sender.Id)
	})
}

type guard[S any] struct {
	admit func(*bot.Update) bool
	next  bot.Logic[S]
}

func (g *guard[S]) Admit(u *bot.Update) bool { return g.admit(u) }

func (g *guard[S]) Handle(s S, u *bot.Update) (S, []bot.Action) {
	if !g.admit(u) {
		return s, nil
	}
	return g.next.Handle(s, u)
}

func (g *guard[S]) handleRoute(s S, u *bot.Update) (S, []bot.Action, string) {
	if !g.admit(u) {
		return s, nil, routeDeclined
	}
	return handleRoute(g.next, s, u)
}

// Logging is middleware that logs one debug line per update: its kind, key and update
// id, the route that took it, and how many actions it produced. It never logs what the
// user wrote. It names the route when it wraps a Router, through Use or directly, with
// only this package's middleware in between; otherwise route is empty.
func Logging[S any](log *slog.Logger) Middleware[S] {
	return func(next bot.Logic[S]) bot.Logic[S] { return &logging[S]{log: log, next: next} }
}

type logging[S any] struct {
	log  *slog.Logger
	next bot.Logic[S]
}

func (l *logging[S]) Handle(s S, u *bot.Update) (S, []bot.Action) {
	s, acts, _ := l.handleRoute(s, u)
	return s, acts
}

func (l *logging[S]) handleRoute(s S, u *bot.Update) (S, []bot.Action, string) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, slog.LevelDebug) {
		return handleRoute(l.next, s, u)
	}
	s, acts, route := handleRoute(l.next, s, u)
	var id int64
	if u.Update != nil {
		id = u.UpdateId
	}
	l.log.LogAttrs(ctx, slog.LevelDebug, "update routed",
		slog.String("kind", KindOf(u).String()),
		slog.Int64("key", u.Key),
		slog.Int64("update_id", id),
		slog.String("route", route),
		slog.Int("actions", len(acts)))
	return s, acts, route
}

// routed is a Logic that can say which route handled an update: a Router, and this
// package's middleware around one.
type routed[S any] interface {
	handleRoute(s S, u *bot.Update) (S, []bot.Action, string)
}

var (
	_ routed[int] = (*Router[int])(nil)
	_ routed[int] = dispatcher[int]{}
	_ routed[int] = (*guard[int])(nil)
	_ routed[int] = (*logging[int])(nil)
	_ Guard       = (*guard[int])(nil)
)

func handleRoute[S any](l bot.Logic[S], s S, u *bot.Update) (S, []bot.Action, string) {
	if r, ok := l.(routed[S]); ok {
		return r.handleRoute(s, u)
	}
	s, acts := l.Handle(s, u)
	return s, acts, ""
}
