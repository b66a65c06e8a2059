// Package intake takes updates in from Telegram and hands them to the runtime (a
// Deliverer), in one of two ways, and tells Telegram an update is taken only when losing
// it is no longer possible.
//
// Poller long-polls getUpdates and confirms an update (moves the offset past it) only once
// it is finished, its replies accepted: a crash or a redeploy makes Telegram send the
// unfinished ones again, and the poller recognises those it already has. gotgbot's own
// Updater confirms updates as soon as it fetches them.
//
// With a journal and a Lease (NewJournaledPoller, PollerConfig.Lease), several processes
// share one journal and poll one at a time: the lease's holder calls getUpdates, renewing
// the lease as it goes, and fences every append with the lease's token; the others stand
// by, trying to acquire it. A holder stops fetching at once when it loses the lease, and
// releases it when it stops, so that a standby takes over without waiting for it to expire.
//
// Webhook is the http.Handler Telegram POSTs updates to in webhook mode. It checks the
// secret token before reading the body, answers 200 once an update is in the runtime
// (Telegram counts it delivered then), recognises re-sent updates by update_id, and on
// Drain answers 503 so that Telegram keeps new updates for the next process. Refusals are
// counted by reason (Stats) and logged a few lines a second at most. It is served by the
// caller, on bot/ops's hardened server in cmd/bot.
//
// DecodeUpdate decodes an update's JSON for both, telling an update the client cannot
// decode (valid JSON with an update_id, of a newer shape) from a malformed body.
package intake
