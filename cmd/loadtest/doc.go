// Command loadtest is Troupe's load-test harness: it proves, and lets users check, that a
// bot holds under load, by the numbers and by an audit of every reply.
//
// It starts the Bot API emulator (package emulator) on loopback, runs a bot against it and
// simulates users over real HTTP:
//
//	go run ./cmd/loadtest                                  # a short default run
//	go run ./cmd/loadtest -users 10000 -messages 10 -json  # throughput at scale
//	go run ./cmd/loadtest -rate 2000 -duration 30s         # latency at a fixed rate
//	go run ./cmd/loadtest -bot-cmd './mybot -flag'         # any bot, same work
//
// By default the bot is the project's own edge running the echo App (examples/echo),
// in-process. -bot-cmd spawns any bot instead, as `sh -c 'exec CMD'` with TELEGRAM_API_URL
// and TELEGRAM_BOT_TOKEN (and BOT_CHAOS=true when -chaos-rate asks for crashes) in its
// environment, and BOT_APP=echo, which makes the project's binary run the echo App; its CPU time and peak resident memory
// are read from /proc for its whole process group.
//
// The users send plain texts, numbers, /stats, /chart and /reset (then press the Cancel
// button of the reply) in the proportions of -mix, and "panic" at -chaos-rate. In the closed
// loop (the default) each user sends its next update when the last one was answered; with
// -rate the users send at that rate overall whatever the answers (open loop), each user's
// messages still in order.
//
// Every reply is audited by the echo contract (docs/loadtest.md): each message answered
// exactly once, in send order per user, the counter "#n" continuous, every photo a PNG that
// decodes, every button press answered exactly once, and Telegram's rate limits kept when
// -enforce-limits asks. The report gives the figures (throughput, latency percentiles from
// an HDR histogram, the bot's CPU per update and peak RSS, a per-second time series in
// -json) and the audit's verdict.
//
// Exit status: 0 when the audit passed, 1 when it found any error, 2 when the test could
// not run (bad flags, the bot did not start or stopped).
//
// The parts: workload.go draws what users send; drive.go sends it (closed or open loop)
// and waits for the answers; audit.go checks each reply as the emulator accepts it;
// stats.go keeps the latency histograms and the time series; target.go and proc.go run and
// measure the bot; mode.go sets up polling or webhook mode; report.go prints the result.
// internal/echobot is the trivial reference bot, and the wrong bots of the tests.
package main
