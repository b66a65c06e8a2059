// Package bot is the Telegram edge of Troupe and the bot it ships: it wires long-polling
// intake (package intake), the actor runtime (package actors) running the notebook
// conversation (package notebook), and the outbound sender (package outbound) that talks to
// the Bot API through Troupe's JSON client (package botapi).
//
// An update flows: intake fetches it and delivers it to the runtime; the user's actor runs
// the notebook on the user's committed context, commits the result and hands the actions to
// [Bot.Perform]; Perform turns them into Bot API calls queued per chat on the sender; when
// the last of them is accepted, the update is done, and only then may intake confirm it to
// Telegram.
package bot
