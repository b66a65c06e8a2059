// Package bottest runs an App on the real edge against the Bot API emulator, over real
// HTTP on 127.0.0.1, for tests and runnable examples: the same path a Telegram update takes
// in production (long polling, the user's actor, the outbound sender, the chart pool), with
// a test's hands on the user's side.
//
//	h := bottest.Start(t, counter.New())
//	turn := h.Send(1, "hello")   // user 1 writes; returns once the bot has finished it
//	turn.Texts()                 // ["1 so far."]
//	confirm := h.Send(1, "/reset").Keyboard()
//	h.Tap(1, confirm, "Yes")     // presses the button labelled Yes
//
// Each call pushes one update and waits until the bot has confirmed it, which the edge does
// only once every action of the update was performed, so a [Turn] is exactly what the bot
// did in answer: its messages, photos (decoded as PNGs, so a broken chart fails the test),
// edits and callback answers, in the order the emulator accepted them. A Harness is driven
// by one goroutine at a time; for concurrent users drive [Harness.Emulator] directly.
//
// [Harness.Chat] plays one user and prints the conversation as it goes, for transcripts.
// [Script] starts a Harness for an Example function, where there is no test: a failure
// panics, and the caller stops the bot. Otherwise the test's Cleanup stops the bot
// (checking that Run returned cleanly) and the emulator.
package bottest
