// Package bot is the Telegram edge of Troupe and the bot it ships: it wires intake (package
// intake: long polling by default, or in webhook mode a handler Telegram POSTs updates to,
// [Bot.WebhookHandler], which the caller serves), the actor runtime (package actors)
// running the notebook conversation (package notebook), and the outbound sender (package
// outbound) that talks to the Bot API through Troupe's JSON client (package botapi).
//
// An update flows: intake fetches it, or receives it, and delivers it to the runtime; the
// user's actor runs the notebook on the user's committed context, commits the result and
// hands the actions to [Bot.Perform]; Perform turns them into Bot API calls queued per chat
// on the sender; when the last of them is accepted, the update is done, and only then does
// the poller confirm it to Telegram. A webhook cannot wait that long (Telegram counts an
// update delivered at the 200): it answers once the update is in its user's mailbox, and
// on shutdown refuses new updates (503, retried by Telegram) while it finishes those it
// took.
package bot
