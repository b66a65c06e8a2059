package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"time"

	"github.com/troupebot/troupe/emulator"
)

// config is one load test, as the flags describe it.
type config struct {
	users, messages int
	rate            float64 // updates per second; 0 means closed loop
	duration        time.Duration
	mix             mix
	chaosRate       float64
	seed            uint64
	mode            mode

	botCmd string
	botLog bool
	// members > 0 runs botCmd as a cluster of that many processes, with plan's changes.
	members int
	plan    plan
	// store is "memory", "redis" (the harness runs redis-server) or a redis:// URL.
	store string

	fail429, fail5xx, failDrop float64
	retryAfter                 int
	latency                    time.Duration
	enforceLimits              bool

	replyTimeout, drain, startTimeout time.Duration

	json, quiet            bool
	cpuProfile, memProfile string
	plot                   string
}

func (c config) faults() emulator.Faults {
	return emulator.Faults{
		Rate429: c.fail429, RetryAfter: c.retryAfter, Rate5xx: c.fail5xx, RateDrop: c.failDrop,
		Latency: c.latency, EnforceLimits: c.enforceLimits,
	}
}

func (c config) loop() string {
	if c.rate > 0 {
		return "open"
	}
	return "closed"
}

// parseConfig reads the command line. Every value is checked here, so a run never starts
// with a setting it cannot honour.
func parseConfig(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "Usage: loadtest [flags]\n\nRuns the Bot API emulator, a bot against it and simulated users, audits every\nreply by the echo contract, and prints a report. See docs/loadtest.md.\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.IntVar(&c.users, "users", 1000, "simulated users, each in its private chat with the bot")
	fs.IntVar(&c.messages, "messages", 10, "messages per user (button presses come on top)")
	fs.Float64Var(&c.rate, "rate", 0, "open loop: send this many messages per second overall, answered or not; 0 means closed loop (each user waits for its answer)")
	fs.DurationVar(&c.duration, "duration", 0, "stop sending after this long even if messages are left; 0 means no limit")
	mixText := fs.String("mix", defaultMix, "relative weights of the kinds of message: text, number, stats, reset (then press Cancel), chart")
	fs.Float64Var(&c.chaosRate, "chaos-rate", 0.02, "fraction of messages that are \"panic\"; the bot runs with chaos on (BOT_CHAOS=true for -bot-cmd)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the users' random choices; a run is repeatable")
	modeText := fs.String("mode", string(polling), "how updates reach the bot: polling, or webhook (the bot registers a webhook on a loopback port; -bot-cmd bots get BOT_MODE, WEBHOOK_URL, WEBHOOK_SECRET and PORT)")

	fs.StringVar(&c.botCmd, "bot-cmd", "", "spawn this bot instead of running the project's bot in-process: sh -c 'exec CMD', with TELEGRAM_API_URL and TELEGRAM_BOT_TOKEN set")
	fs.StringVar(&c.store, "store", "memory", "where the bot keeps users' contexts: memory; redis (the harness runs redis-server from PATH on a free loopback port, in memory only, and stops it at the end); or a redis:// or rediss:// URL of an empty database. -bot-cmd bots get it as BOT_STORE")
	fs.IntVar(&c.members, "members", 0, "run -bot-cmd (the project's bot binary) as a cluster of this many processes on -store: by webhook behind a round-robin load balancer the harness plays, by polling under the polling lease; 0 runs one bot")
	fs.DurationVar(&c.plan.kill, "kill-member", 0, "with -members: SIGKILL the last member (by polling, the lease holder) this long after the load began, and do not restart it")
	fs.DurationVar(&c.plan.join, "join-member", 0, "with -members: start one more member this long after the load began")
	fs.DurationVar(&c.plan.stop, "stop-member", 0, "with -members: SIGTERM the first member (by polling, the lease holder) this long after the load began (it drains and leaves)")
	fs.BoolVar(&c.botLog, "bot-log", false, "pass the bot's logs (or the spawned bot's output) through to stderr")

	fs.Float64Var(&c.fail429, "fail-429", 0, "fraction of the bot's sends answered 429 Too Many Requests")
	fs.IntVar(&c.retryAfter, "retry-after", 1, "retry_after, in seconds, of the injected 429s")
	fs.Float64Var(&c.fail5xx, "fail-5xx", 0, "fraction of the bot's sends answered 500")
	fs.Float64Var(&c.failDrop, "fail-drop", 0, "fraction of the bot's sends whose connection is closed without an answer")
	fs.DurationVar(&c.latency, "latency", 0, "added latency of every send, as a distant Bot API")
	fs.BoolVar(&c.enforceLimits, "enforce-limits", false, "answer sends over Telegram's rate limits (30/s overall, 1/s per chat with a burst of 3) with 429 and retry_after, and audit that the bot kept them")

	fs.DurationVar(&c.replyTimeout, "reply-timeout", 10*time.Second, "closed loop: how long a user waits for an answer before it sends its next message anyway")
	fs.DurationVar(&c.drain, "drain", 10*time.Second, "after the last send, stop waiting for answers once none came for this long")
	fs.DurationVar(&c.startTimeout, "start-timeout", 60*time.Second, "how long the bot may take to start polling")

	fs.BoolVar(&c.json, "json", false, "print the report as one JSON object on stdout")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress lines on stderr")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the load phase to this file (the in-process bot, the emulator and the harness)")
	fs.StringVar(&c.memProfile, "memprofile", "", "write an allocation profile to this file at the end")
	fs.StringVar(&c.plot, "plot", "", "draw throughput and p99 latency second by second into this PNG file")

	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	var err error
	if c.mix, err = parseMix(*mixText); err != nil {
		errs = append(errs, fmt.Errorf("-mix: %w", err))
	}
	if c.mode, err = parseMode(*modeText); err != nil {
		errs = append(errs, err)
	}
	if err := checkStore(c.store); err != nil {
		errs = append(errs, err)
	}
	if c.users < 1 || c.messages < 1 {
		errs = append(errs, fmt.Errorf("-users %d and -messages %d: both must be at least 1", c.users, c.messages))
	}
	if c.users > math.MaxInt32 || c.messages > math.MaxInt32/2 {
		errs = append(errs, fmt.Errorf("-users %d or -messages %d is too large", c.users, c.messages))
	}
	if c.rate < 0 || math.IsInf(c.rate, 0) || math.IsNaN(c.rate) {
		errs = append(errs, fmt.Errorf("-rate %v: a number of updates per second, or 0 for closed loop", c.rate))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"-chaos-rate", c.chaosRate}, {"-fail-429", c.fail429}, {"-fail-5xx", c.fail5xx}, {"-fail-drop", c.failDrop}} {
		if !(f.v >= 0 && f.v <= 1) {
			errs = append(errs, fmt.Errorf("%s %v: a fraction from 0 to 1", f.name, f.v))
		}
	}
	if c.fail429+c.fail5xx+c.failDrop > 1 {
		errs = append(errs, fmt.Errorf("-fail-429, -fail-5xx and -fail-drop add up to more than 1"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"-duration", c.duration}, {"-latency", c.latency}, {"-reply-timeout", c.replyTimeout}, {"-drain", c.drain}, {"-start-timeout", c.startTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must not be negative", d.name, d.v))
		}
	}
	if c.members < 0 || c.plan.kill < 0 || c.plan.join < 0 || c.plan.stop < 0 {
		errs = append(errs, errors.New("-members, -kill-member, -join-member and -stop-member must not be negative"))
	}
	if c.members > 0 {
		if c.botCmd == "" {
			errs = append(errs, errors.New("-members needs -bot-cmd naming the project's bot binary (go build -o /tmp/bot ./cmd/bot)"))
		}
		if c.store == "memory" {
			errs = append(errs, errors.New("-members needs a durable store the members share (-store redis)"))
		}
		if c.plan.kill > 0 && c.plan.stop > 0 && c.members < 3 {
			errs = append(errs, errors.New("-kill-member and -stop-member together need -members 3 or more"))
		}
	} else if c.plan != (plan{}) {
		errs = append(errs, errors.New("-kill-member, -join-member and -stop-member need -members"))
	}
	if c.retryAfter < 1 {
		errs = append(errs, fmt.Errorf("-retry-after %d: at least 1 second", c.retryAfter))
	}
	return c, errors.Join(errs...)
}

// checkStore accepts what -store may be. A URL is checked for its form only: whether a
// server answers there is the bot's to find out, as it is in production.
func checkStore(s string) error {
	if s == "memory" || s == "redis" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return fmt.Errorf("-store %q: memory, redis, or a redis:// or rediss:// URL with a host", redactURL(s))
	}
	return nil
}

// redactURL hides a password in a store URL: errors and reports may be pasted anywhere.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
