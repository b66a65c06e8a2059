// Package flow runs conversations of several steps — a form, a checkout, a wizard — as
// explicit state in the user's context, not by replaying the user's messages.
//
// A [Flow] is a named list of [Step]s. A step asks (Ask returns its prompt, with buttons
// built by [Turn.Button]) and reads the answer (Handle returns the new application state,
// a [Next] and the actions to send): [Goto] another step, [Again] to re-ask after saying
// what was wrong, [Stay], or [Done]. Both are plain functions of the state and the update,
// so a flow is tested by calling it, like any bot.Logic.
//
// # Where the state lives
//
// Where a user is in a flow is a [State]: the flow's name and version, the step's name,
// when the step was shown (the update's Now), a nonce for the step's buttons, and a small
// map of the answers so far. It is a value inside the application's own state S; the
// [Manager] reaches it through the get and set functions it is built with, so S stays the
// application's type and a flow's progress is committed, and survives a crash of the
// user's actor, like the rest of the user's context (with a durable store, a restart
// too). Nothing is kept between updates but that value: the Manager holds no pointer into
// S, and it never writes into the S it is given — the map of answers is copied on a
// step's first write.
//
// # Composing with the rest of the bot
//
// [Manager.Wrap] turns the flows and the rest of the bot (a router, any bot.Logic[S])
// into one Logic: while the user is in a flow, their messages and button presses in the
// flow's chat go to the flow's current step; everything else (other chats, other kinds of
// update, users in no flow) goes to the rest. Start a flow from any handler, a router's command
// route for instance, with [Manager.Start], which returns the first step's prompt:
//
//	m, _ := flow.NewManager(getFlow, setFlow, flow.Config{}, signup)
//	r.Command("signup", func(s S, u *bot.Update) (S, []bot.Action) { return m.Start(s, u, "signup") })
//	logic := m.Wrap(r)
//
// A step moves within its flow with [Goto]; Start belongs in the rest of the bot (from a
// step's Handle, the Manager overwrites the flow state Start set).
//
// Around every step the Manager keeps these promises:
//
//   - /cancel (Config.Cancel; "/cancel@thisbot" in groups) ends any flow at any step with
//     Config.Canceled. Outside a flow it goes to the rest of the bot.
//   - A step with a Timeout that gets its next update more than Timeout after it was
//     shown ends the flow with Config.TimedOut. The check is lazy: it happens on that next
//     update, by the update's Now, with no timer. The update is then handled as if no flow
//     had been running (the rest of the bot gets it), so a user returning after a day is
//     not asked to finish an old form first.
//   - A step's buttons work only for the showing of the step that built them: the
//     callback data carries the owner's key and the showing's nonce (and fits in
//     Telegram's 64 bytes: [Turn.Button] refuses a payload over [Manager.MaxPayload]). A
//     press of an older step's button, or of a finished flow's, is answered with
//     Config.Expired; another user's button (in a group, anybody may press it) with
//     Config.NotYours. Neither changes anything. A press that reaches a step and is not
//     answered by it gets an empty answer, so the user's client stops spinning.
//   - A state stored by an older Version of a flow is given to the flow's Migrate on the
//     user's next update. When there is no migration, it fails, or the state names a flow
//     or step that no longer exists, the flow ends with Config.Ended and the update goes
//     to the rest of the bot: a change of a flow never wedges a user in it.
package flow
