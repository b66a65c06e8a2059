package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
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
	st, err := startStore(cfg.store)
	if err != nil {
		return nil, err
	}
	defer st.stop()
	r, err := loadOn(ctx, cfg, t, st, progress)
	return r, st.withLog(err)
}

// loadOn is load with its store running.
func loadOn(ctx context.Context, cfg config, t target, st *storeRun, progress io.Writer) (*Report, error) {
	a := newAuditor(cfg.users, cfg.seed)
	emu, err := emulator.New(emulator.Config{
		Token: token, OnSend: a.onSend, OnFault: a.onFault, DiscardSent: true, Faults: cfg.faults(),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, err
	}
	defer emu.Close()
	env := botEnv{apiURL: emu.URL(), token: token, chaos: cfg.chaosRate > 0, store: st.url}
	if cfg.botLog {
		env.log = os.Stderr
	}
	if err := cfg.mode.prepare(&env); err != nil {
		return nil, err
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
	var storeUse *sampler
	if st.ours() {
		storeUse = startSampler(st.usage, 200*time.Millisecond)
	}
	self, _ := selfUsage()
	a.begin()
	if ls, ok := bot.(interface{ loadStarted() }); ok {
		ls.loadStarted() // a cluster's planned kills and joins count from here
	}
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
	var storeCPU time.Duration
	if storeUse != nil {
		storeCPU, _, _ = storeUse.finish()
	}
	selfEnd, _ := selfUsage()
	missing, pressesMissing := a.tally()
	stats := emu.Stats()

	if errors.Is(context.Cause(ctx), errNoBot) {
		stopped = true
		return nil, exitReason(bot)
	}
	if runErr != nil {
		return nil, runErr
	}
	if err := st.failed(); err != nil {
		return nil, err
	}
	interrupted := ctx.Err() != nil
	stopped = true
	if err := bot.stop(stopGrace); err != nil && progress != nil {
		fmt.Fprintf(progress, "loadtest: warning: %v\n", err)
	}

	m := measures{
		elapsed: elapsed, botCPU: botCPU, harnessCPU: selfEnd.cpu - self.cpu, peakRSS: peak, startRSS: base,
		missing: missing, pressesMissing: pressesMissing, interrupted: interrupted, series: tl.seconds,
	}
	r := newReport(cfg, t.name(), bot.inProcess(), a, stats, m)
	r.setStore(st, storeCPU)
	if mr, ok := bot.(*membersRun); ok {
		r.Members = mr.reports()
		if k := mr.killedAt(); k > 0 {
			r.KilledAtS, r.RecoveryS = round2(k.Seconds()), round2(a.recovery(k).Seconds())
		}
		r.DuplicatesAllowed = cfg.plan != (plan{})
		r.judge()
	}
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
