// Package router dispatches a bot's updates to handlers by what they are: a command, the
// data of a callback button, text matching a pattern, a photo or a voice note, or any of
// Telegram's update types. A [Router] is itself a bot.Logic, as http.ServeMux is an
// http.Handler: it is what an application gives the edge as App.Logic, and routers nest,
// one router's Handle being another's handler.
//
//	r := router.New[State]()
//	r.Command("start", start)
//	r.Command("status", status, router.AdminOnly[State](admins...))
//	r.Callback("reset:", reset)
//	r.Text(regexp.MustCompile(`^\d+$`), number)
//	r.Media(router.Photo, photo)
//	r.On(router.PreCheckoutQuery, checkout)
//	r.Fallback(unknown)
//	r.Use(router.Logging[State](log))
//	app := bot.App[State]{Name: "shop", Logic: r}
//
// A handler has bot.LogicFunc's shape, func(S, *bot.Update) (S, []bot.Action), and is
// as pure as any Logic: it returns the state to commit and the actions to perform. Any
// bot.Logic is a handler through its Handle method.
//
// # Which route takes an update
//
// Routes of different sorts do not compete by registration order but by how specific
// they are. For an update, the router tries in turn:
//
//  1. For a message (the Message kind; [Router.Messages] adds others) that starts with
//     one of our commands: the Command route of that name. A command addressed to another
//     bot ("/start@otherbot" in a shared group) is none of ours: the router drops the
//     update, taking no route, not even the fallback.
//  2. For a text message that is not a command: the Text routes, in registration order.
//  3. For a message carrying media: the Media route of that media ([MediaOf]), also when
//     its caption is a command no Command route took.
//  4. For a callback query: the Callback route with the longest prefix of its data.
//  5. The On route of the update's kind ([KindOf]): On(Message, h) takes the messages
//     the routes above did not, unknown commands among them.
//  6. The Fallback.
//
// An update that none of them takes is left unhandled: the state stays, with no actions.
// A router need not answer queries Telegram waits on (callback, pre-checkout, shipping,
// inline): the edge answers those the application left unanswered, so no client spins.
//
// # Middleware
//
// A [Middleware] is a plain function from Logic to Logic. [Router.Use] wraps the whole
// router, so its middleware sees every update, routed or not; middleware given to a route
// wraps that route's handler alone. Both apply outermost first: after Use(a, b) and
// Command("x", h, c, d), "/x" runs a, b, c, d, then h.
//
// A [Guard] is middleware that may decline an update ([Only], [AdminOnly]). Given to a
// route, it makes the route invisible to the updates it declines: the router carries on
// down the list above, so a non-admin's "/status" reaches the fallback as any unknown
// command does. Around a whole router, a declined update is dropped.
//
// [Logging] logs one debug line per update naming its kind, key and route.
//
// # Cost
//
// Routing does not allocate, beyond what a Text route's regexp does (nothing, for
// MatchString on a warm regexp). Among 20 commands, 5 callback prefixes and 3 patterns,
// with Logging in use at info level, a command takes about 60 ns, an upper-case
// "/CMD@bot" 80 ns, a callback 35 ns and text that matches the third pattern 240 ns, 0
// allocations each (go test -run '^$' -bench Route -benchmem ./bot/router, AMD EPYC, 2
// cores shared).
//
// # Crashes and floods
//
// A Router does not answer crashes or floods itself, so the runtime's defaults apply. To
// answer them, embed the router in a type of your own with Apology or Throttled methods
// (bot.Apologizer, bot.Throttler); the router's Handle is promoted and the type is the
// Logic.
package router
