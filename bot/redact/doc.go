// Package redact keeps a secret, the bot token, out of what the bot says about itself: log
// lines and error texts.
//
// A [Redactor] knows one secret and replaces it wherever it appears in a string. Its
// [Redactor.Handler] wraps any slog.Handler so that no record reaches it with the secret in
// its message, its attributes' keys or values (strings, errors, groups, formatted values),
// or in the attributes and groups added with With. The bot wraps its logger with it, so the
// runtime, the sender, the intake, the actors and protoactor itself all log through it; the
// command wraps its own logger too, for what it logs before and after the bot. Errors are
// scrubbed where they are made, in package botapi; this is the net under everything else
// (a panic value, a third party's message).
package redact
