// Package echobot is the trivial reference bot of the load-test harness: no framework, no
// actors, only net/http with reused connections and small JSON bodies. It long-polls
// getUpdates and answers every update by the echo contract (docs/loadtest.md): a plain
// text gets "#n " and the user's counter, a command gets one reply naming it, "/reset" gets
// a Cancel button whose press is answered once, "/chart" gets a small PNG, and under chaos
// "panic" gets an apology and is not counted.
//
// It exists to measure the harness, not to be a bot: run as a process (cmd/loadtest/echobot)
// under `loadtest -bot-cmd`, it shows the ceiling of the emulator and the harness, which must
// sit far above any real bot's figures. Run in-process with [Config.Tamper], it becomes the
// deliberately wrong bot the harness tests use to show that every audit rule catches its
// defect.
//
// Each chat belongs to one of a fixed set of workers, which answers the chat's updates in
// order; the poller hands a batch to the workers and fetches the next at once, which
// confirms the batch, as gotgbot's updater does. A chat's replies thus never overtake one
// another, and the bot never waits on one slow chat; but an update is confirmed before it
// is answered, which a real bot should not do (the project's bot does not).
package echobot
