// Package emulator is a Bot API server for tests, the sandbox and the load-test harness: a
// real HTTP server that speaks Telegram's wire format, so a bot under test runs its real
// client code against it.
//
// The bot side sees https://api.telegram.org's shape: POST (or GET) /bot<token>/<method>
// with a JSON, urlencoded or multipart body, answered with {"ok":true,"result":…} or
// {"ok":false,"error_code":…,"description":…}. getUpdates keeps Telegram's offset rule: an
// update stays queued, and is returned again, until a getUpdates with a higher offset
// confirms it; with a timeout it long-polls.
//
// Webhooks work as on Telegram: after setWebhook the queued updates are POSTed to the URL,
// with the secret header, by up to max_connections deliverers, one update of a chat at a
// time; a non-2xx answer is retried with backoff, and an update is confirmed when the bot
// answers 2xx. getUpdates then answers 409, as Telegram does.
//
// Faults make it misbehave the way the real Bot API does under load ([Faults],
// [Server.SetFaults]): 429s with retry_after, 5xx, dropped connections, added latency, and
// Telegram's rate limits enforced with 429s; Config.OnFault reports each.
//
// The test side drives the users: [Server.SendText] and [Server.PressButton] push updates as
// a user would cause them, and [Server.Sent], [Server.WaitSent], Config.OnSend and
// [Server.Subscribe] show what the bot sent (photos with their bytes), in the order the
// server accepted it; [Server.Keyboard] tells which buttons a bot message carries now.
// [Server.WaitConfirmed] tells when the bot has confirmed an update, which a bot that
// confirms only finished updates does once their replies are in; [Server.WaitPolling] and [Server.WaitWebhook] tell when a bot is
// ready.
//
// The emulator keeps what a bot needs to be checked, not all of Telegram: per chat it
// numbers messages and remembers the bot's newest messages (for editMessageText), and it
// remembers open callback queries (for answerCallbackQuery).
package emulator
