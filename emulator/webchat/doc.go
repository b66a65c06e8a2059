// Package webchat is the web sandbox's page server: a Telegram-like chat in the browser
// on an in-process Bot API emulator, with the operator's view live beside it.
//
// The person at the page plays several users (private chats) and a group chat. What they
// type goes to the bot as those users' updates through the emulator's user side
// ([emulator.Server.SendText], [emulator.Server.PressButton]); what the bot sends reaches
// the page through [emulator.Server.Subscribe]: messages, edits in place, callback answers
// as toasts, photos as the PNG bytes the bot uploaded. Nothing is polled by the page: one
// server-sent event stream (/api/events) carries the chats, the operator's figures
// ([Status], which the command wiring the bot implements) and a note whenever the
// throughput chart (drawn by render/, served as PNG) or a load run changed.
//
// Everything the page needs is embedded (go:embed): no CDN, no build step, nothing read
// from or written to the filesystem. Bad input gets a clean refusal with a sentence the
// page shows: a text over Telegram's 4096 characters, an unknown user or chat, a button
// press the bot never offered, a page past the bound on open event streams.
//
// The load-test button runs a short closed-loop run (users × messages) on users of its
// own, far from the page's ids, and audits every reply: each must name the message it
// answers.
package webchat
