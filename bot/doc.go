// Package bot is the Telegram edge of Troupe: it runs any application ([App]) on the actor
// runtime (package actors). It wires intake (package intake: long polling by default, or in
// webhook mode a handler Telegram POSTs updates to, [Bot.WebhookHandler], which the caller
// serves), the runtime running the App's [Logic], the chart pool, and the outbound sender
// (package outbound) that talks to the Bot API through Troupe's JSON client (package
// botapi). The shipped notebook (package notebook) and the examples are Apps on this API.
//
// An application is a [Logic] over a per-user state S, returning [Action]s built with
// [Reply], [Edit], [Answer], [ChartOf] and the rest; [New] runs it:
//
//	b, err := bot.New(cfg, bot.App[int64]{Name: "echo", Logic: bot.LogicFunc[int64](handle)})
//
// An update flows: intake fetches it, or receives it, and delivers it to the runtime; the
// user's actor runs the App's Logic on the user's committed state (as an [Update]: the
// Telegram update, the bot itself, its key, sender and chat, the time), commits the result
// and hands the actions to the edge, which turns them into Bot API calls queued per chat on
// the sender, and answers any query the actions left unanswered; when the last of them is
// accepted, the update is done, and only then does the poller confirm it to Telegram. A
// crash answers the update with the App's [Apologizer], or a short default; a flood with
// its [Throttler], or a default. Lifecycle events reach [Config.OnEvent] as [Event]s. A webhook cannot wait that long (Telegram counts an
// update delivered at the 200): it answers once the update is in its user's mailbox, and
// on shutdown refuses new updates (503, retried by Telegram) while it finishes those it
// took.
package bot
