package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/troupebot/troupe/emulator"
)

// token is the bot token the harness's emulator accepts; it looks like a real one.
const token = "100000001:LOADTEST-emulator-token"

// stopGrace is how long a bot has to stop after the run.
const stopGrace = 15 * time.Second

// load runs one load test of the bot t and returns its report. Progress lines go to
// progress (nil for none). It fails only when the test cannot run: the emulator does not
// start, the bot never polls or stops during the run.
func load(ctx context.Context, cfg config, t target, progress io.Writer) (*Report, error) {
	a := newAuditor(cfg.users, cfg.seed)
	emu, err := emulator.New(emulator.Config{
		Token: token, OnSend: a.onSend, DiscardSent: true, Faults: cfg.faults(),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, err
	}
	defer emu.Close()
	env := botEnv{apiURL: emu.URL(), token: token, chaos: cfg.chaosRate > 0}
	if cfg.botLog {
		env.log = os.Stderr
	}
	bot, err := t.start(env)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			bot.stop(stopGrace)
		}
	}()

	// Run until ctx ends or the bot stops by itself.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-bot.exited():
			cancel(errNoBot)
		case <-ctx.Done():
		}
	}()
	sctx, scancel := context.WithTimeout(ctx, cfg.startTimeout)
	err = cfg.mode.waitReady(sctx, emu)
	scancel()
	if errors.Is(context.Cause(ctx), errNoBot) {
		return nil, exitReason(bot)
	}
	if err != nil {
		return nil, err
	}

	botUse := startSampler(bot.usage, 200*time.Millisecond)
	self, _ := selfUsage()
	a.begin()
	tl := &timeline{a: a}
	monitorDone := make(chan struct{})
	stopMonitor := make(chan struct{})
	go func() {
		defer close(monitorDone)
		monitor(tl, progress, stopMonitor)
	}()
	d := &driver{
		a: a, emu: emu, w: newWorkload(cfg.mix, cfg.chaosRate),
		messages: cfg.messages, rate: cfg.rate, stopAt: cfg.duration,
		replyTimeout: cfg.replyTimeout, idle: cfg.drain,
		workers: 2 * runtime.GOMAXPROCS(0),
	}
	runErr := d.run(ctx)
	elapsed := time.Duration(a.now())
	close(stopMonitor)
	<-monitorDone
	tl.cut(elapsed)
	botCPU, peak, base := botUse.finish()
	selfEnd, _ := selfUsage()
	missing, pressesMissing, _ := a.tally()
	stats := emu.Stats()

	if errors.Is(context.Cause(ctx), errNoBot) {
		stopped = true
		return nil, exitReason(bot)
	}
	if runErr != nil {
		return nil, runErr
	}
	interrupted := ctx.Err() != nil
	stopped = true
	if err := bot.stop(stopGrace); err != nil && progress != nil {
		fmt.Fprintf(progress, "loadtest: warning: %v\n", err)
	}

	r := &Report{
		Bot: t.name(), BotInProcess: bot.inProcess(), Mode: string(cfg.mode), Loop: cfg.loop(),
		Users: cfg.users, MessagesPerUser: cfg.messages, Rate: cfg.rate, Mix: cfg.mix.String(),
		ChaosRate: cfg.chaosRate, Seed: cfg.seed,

		MessagesSent: a.messagesSent.Load(), CallbacksSent: a.pressesSent.Load(),
		Replies: a.replies.Load(), APIRequests: stats.Requests,

		Missing: missing, Duplicates: a.duplicates.Load(), OutOfOrder: a.outOfOrder.Load(),
		CounterBreaks: a.counterBreaks.Load(), BadPhotos: a.badPhotos.Load(),
		CallbacksAnswered: a.callbackAnswers.Load(), CallbacksMissing: pressesMissing,
		// The emulator refuses a second answer to a query, as Telegram does, so duplicates
		// are counted there.
		CallbacksDuplicated: stats.RefusedAnswers,
		RateLimitViolations: stats.LimitViolations,
		Unmatched:           a.unmatched.Load(), Photos: a.photos.Load(), Edits: a.edits.Load(),
		TimedOut: a.timedOut.Load(),

		Errors429: stats.Injected429 + stats.LimitViolations, Errors5xx: stats.Injected5xx,
		Dropped: stats.Dropped, RateLimitsEnforced: cfg.enforceLimits,

		LatencyMS: a.lat.total(), DurationS: round2(elapsed.Seconds()),
		BotPeakRSS: peak, BotStartRSS: base, BotCPUSeconds: round2(botCPU.Seconds()),
		Machine: machine(), Interrupted: interrupted, Series: tl.seconds,
	}
	r.UpdatesSent = r.MessagesSent + r.CallbacksSent
	done := a.answered.Load() + a.pressesAnswered.Load()
	if last := time.Duration(a.lastAnswer.Load()); last > 0 {
		r.ThroughputUPS = round2(float64(done) / last.Seconds())
	}
	if r.UpdatesSent > 0 {
		r.BotCPUPerUpdate = round2(float64(botCPU.Microseconds()) / float64(r.UpdatesSent))
		if !r.BotInProcess {
			harness := selfEnd.cpu - self.cpu
			r.HarnessCPUSeconds = round2(harness.Seconds())
			r.HarnessCPUPerUpdate = round2(float64(harness.Microseconds()) / float64(r.UpdatesSent))
		}
	}
	r.BotRSSPerUser = round2(float64(max(peak-base, 0)) / float64(cfg.users))
	r.judge()
	return r, nil
}

// monitor cuts the time series every second and prints a progress line, until stop.
func monitor(tl *timeline, progress io.Writer, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		at := time.Duration(tl.a.now())
		s := tl.cut(at)
		if progress != nil {
			a := tl.a
			fmt.Fprintf(progress, "loadtest: %3.0fs  sent %d  replied %d  %d/s  p99 %.1f ms so far\n",
				at.Seconds(), a.messagesSent.Load()+a.pressesSent.Load(),
				a.answered.Load()+a.pressesAnswered.Load(), s.Answered, a.lat.total().P99)
		}
	}
}

// machine describes this machine for the report.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU()}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			m.CPUModel = strings.TrimSpace(v)
			break
		}
	}
	return m
}
