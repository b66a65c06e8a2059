package router

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/troupebot/troupe/bot"
)

// Router is a bot.Logic that hands each update to the handler of the route it matches.
// Register routes before the router handles its first update; from then on it is only
// read, so one Router serves every user's actor at once. The zero value is an empty
// router, ready to use.
type Router[S any] struct {
	commands  map[string]*route[S]
	callbacks []*route[S] // longest prefix first
	texts     []*route[S] // in registration order
	media     [numMedia]*route[S]
	on        [numKinds]*route[S]
	fallback  *route[S]
	// messages has bit k set when command, text and media routes read updates of kind k;
	// zero means Message alone.
	messages uint64
	uses     []Middleware[S]
	chain    bot.Logic[S] // uses around the router's own dispatch; nil without uses
}

var _ bot.Logic[int] = (*Router[int])(nil)

// route is one registered handler and what selects it.
type route[S any] struct {
	name   string // what logs call it: "/start", "callback reset:", "text ^hi", "photo"
	logic  bot.Logic[S]
	guards []Guard
	re     *regexp.Regexp
	prefix string
}

func (rt *route[S]) admits(u *bot.Update) bool {
	for _, g := range rt.guards {
		if !g.Admit(u) {
			return false
		}
	}
	return true
}

// The names Logging gives an update no route handled.
const (
	routeNone     = "none"
	routeOtherBot = "other bot's command"
	routeDeclined = "declined"
)

// New returns an empty router for state S.
func New[S any]() *Router[S] { return &Router[S]{} }

// Handle routes u to the first route that matches it (see the package documentation for
// the order) and returns what that route's handler returns; an update no route matches
// leaves s as it is, with no actions.
func (r *Router[S]) Handle(s S, u *bot.Update) (S, []bot.Action) {
	s, acts, _ := r.handleRoute(s, u)
	return s, acts
}

func (r *Router[S]) handleRoute(s S, u *bot.Update) (S, []bot.Action, string) {
	if r.chain != nil {
		return handleRoute(r.chain, s, u)
	}
	return r.dispatch(s, u)
}

func (r *Router[S]) dispatch(s S, u *bot.Update) (S, []bot.Action, string) {
	rt, why := r.match(u)
	if rt == nil {
		return s, nil, why
	}
	s, acts := rt.logic.Handle(s, u)
	return s, acts, rt.name
}

// match finds u's route, or says why there is none.
func (r *Router[S]) match(u *bot.Update) (*route[S], string) {
	k := KindOf(u)
	if r.readsMessages(k) {
		m := messageOf(u, k)
		name, _, to := parseCommand(m, u.Me)
		switch to {
		case forOther:
			return nil, routeOtherBot
		case forUs:
			if rt := r.command(name); rt != nil && rt.admits(u) {
				return rt, ""
			}
		case notCommand:
			if m.Text != "" {
				for _, rt := range r.texts {
					if rt.re.MatchString(m.Text) && rt.admits(u) {
						return rt, ""
					}
				}
			}
		}
		if rt := r.media[MediaOf(m)]; rt != nil && rt.admits(u) {
			return rt, ""
		}
	}
	if k == CallbackQuery {
		for _, rt := range r.callbacks {
			if strings.HasPrefix(u.CallbackQuery.Data, rt.prefix) && rt.admits(u) {
				return rt, ""
			}
		}
	}
	if rt := r.on[k]; rt != nil && rt.admits(u) {
		return rt, ""
	}
	if r.fallback != nil && r.fallback.admits(u) {
		return r.fallback, ""
	}
	return nil, routeNone
}

func (r *Router[S]) readsMessages(k Kind) bool {
	if r.messages == 0 {
		return k == Message
	}
	return r.messages&(1<<k) != 0
}

// command looks name up case-insensitively without allocating: validName has bounded it
// to 32 ASCII bytes, and a map index by string(bytes) does not copy.
func (r *Router[S]) command(name string) *route[S] {
	var b [32]byte
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return r.commands[string(b[:len(name)])]
}

// Command routes the command "/name" (and "/name@thisbot") to h, whatever the case the
// user typed it in; name is given without the slash. h reads the arguments with [Args].
func (r *Router[S]) Command(name string, h bot.LogicFunc[S], mw ...Middleware[S]) {
	if !validName(name) {
		panic(fmt.Sprintf("router: command %q: a name is 1 to 32 letters, digits or underscores, without the slash", name))
	}
	key := strings.ToLower(name)
	if _, dup := r.commands[key]; dup {
		panic(fmt.Sprintf("router: command %q registered twice", name))
	}
	if r.commands == nil {
		r.commands = make(map[string]*route[S])
	}
	r.commands[key] = newRoute("/"+key, h, mw)
}

// Callback routes callback queries whose data starts with prefix to h. Among the prefixes
// that match, the longest wins: "reset:all" before "reset:" before "".
func (r *Router[S]) Callback(prefix string, h bot.LogicFunc[S], mw ...Middleware[S]) {
	if slices.ContainsFunc(r.callbacks, func(rt *route[S]) bool { return rt.prefix == prefix }) {
		panic(fmt.Sprintf("router: callback prefix %q registered twice", prefix))
	}
	rt := newRoute("callback "+prefix, h, mw)
	rt.prefix = prefix
	i, _ := slices.BinarySearchFunc(r.callbacks, len(prefix), func(rt *route[S], n int) int { return n - len(rt.prefix) })
	r.callbacks = slices.Insert(r.callbacks, i, rt)
}

// Text routes text messages that match re, and are not commands, to h; text routes are
// tried in the order they were registered. h reads the submatches with [Submatches].
func (r *Router[S]) Text(re *regexp.Regexp, h bot.LogicFunc[S], mw ...Middleware[S]) {
	if re == nil {
		panic("router: Text with a nil regexp")
	}
	rt := newRoute("text "+re.String(), h, mw)
	rt.re = re
	r.texts = append(r.texts, rt)
}

// Media routes messages that carry media m (as [MediaOf] says) to h.
func (r *Router[S]) Media(m Media, h bot.LogicFunc[S], mw ...Middleware[S]) {
	if m == NoMedia || m >= numMedia {
		panic(fmt.Sprintf("router: Media(%d): not a media kind", m))
	}
	if r.media[m] != nil {
		panic(fmt.Sprintf("router: media %s registered twice", m))
	}
	r.media[m] = newRoute(m.String(), h, mw)
}

// On routes updates of kind k that no more specific route took to h. On(Unknown, h)
// receives updates of types newer than this build knows.
func (r *Router[S]) On(k Kind, h bot.LogicFunc[S], mw ...Middleware[S]) {
	if k >= numKinds {
		panic(fmt.Sprintf("router: On(%d): not an update kind", k))
	}
	if r.on[k] != nil {
		panic(fmt.Sprintf("router: update kind %s registered twice", k))
	}
	r.on[k] = newRoute(k.String(), h, mw)
}

// Fallback routes every update no other route took to h.
func (r *Router[S]) Fallback(h bot.LogicFunc[S], mw ...Middleware[S]) {
	if r.fallback != nil {
		panic("router: Fallback registered twice")
	}
	r.fallback = newRoute("fallback", h, mw)
}

// Messages says which update kinds command, text and media routes read, Message alone by
// default: Messages(Message, BusinessMessage) serves commands in business chats too. Each
// kind must be one that carries a message (see [MessageOf]).
func (r *Router[S]) Messages(kinds ...Kind) {
	var bits uint64
	for _, k := range kinds {
		if !carriesMessage(k) {
			panic(fmt.Sprintf("router: Messages(%s): that update kind carries no message", k))
		}
		bits |= 1 << k
	}
	r.messages = bits
}

func carriesMessage(k Kind) bool {
	switch k {
	case Message, EditedMessage, ChannelPost, EditedChannelPost, BusinessMessage, EditedBusinessMessage, GuestMessage:
		return true
	}
	return false
}

// Use wraps the whole router in mw, outermost first, after any middleware already in use:
// it sees every update the router gets, routed or not, before the route's own middleware.
func (r *Router[S]) Use(mw ...Middleware[S]) {
	r.uses = append(r.uses, mw...)
	r.chain, _ = wrap(dispatcher[S]{r}, r.uses)
}

// dispatcher is the router without its Use middleware: what that middleware wraps.
type dispatcher[S any] struct{ r *Router[S] }

func (d dispatcher[S]) Handle(s S, u *bot.Update) (S, []bot.Action) {
	s, acts, _ := d.r.dispatch(s, u)
	return s, acts
}

func (d dispatcher[S]) handleRoute(s S, u *bot.Update) (S, []bot.Action, string) {
	return d.r.dispatch(s, u)
}

func newRoute[S any](name string, h bot.LogicFunc[S], mw []Middleware[S]) *route[S] {
	if h == nil {
		panic(fmt.Sprintf("router: route %q with a nil handler", name))
	}
	l, guards := wrap[S](h, mw)
	return &route[S]{name: name, logic: l, guards: guards}
}

// Submatches returns re's leftmost match in the text of u's message and its
// subexpressions' matches, as regexp.FindStringSubmatch does; nil when it does not match.
func Submatches(u *bot.Update, re *regexp.Regexp) []string {
	m := MessageOf(u)
	if m == nil {
		return nil
	}
	return re.FindStringSubmatch(m.Text)
}
