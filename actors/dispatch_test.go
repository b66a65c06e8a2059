package actors

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// waitFor spins (yielding) until cond holds, failing after a deadline: the dispatcher's
// goroutines park and exit without telling anyone, so there is no event to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestDispatcherReusesGoroutines(t *testing.T) {
	d := newDispatcher(300, 4, time.Hour)
	defer d.close()
	ran := make(chan struct{})
	for range 100 {
		d.Schedule(func() { ran <- struct{}{} })
		<-ran
		// The goroutine that ran the mailbox goes to wait for the next one. (It counts
		// itself waiting just before it does, so now and then a Schedule still starts
		// a goroutine.)
		waitFor(t, "a goroutine to wait", func() bool { return d.waiting.Load() >= 1 })
	}
	if got := d.started.Load(); got > 20 {
		t.Errorf("%d goroutines started for 100 runs one at a time, want a few", got)
	}
}

func TestDispatcherNeverWaitsForABusyGoroutine(t *testing.T) {
	d := newDispatcher(300, 2, time.Hour)
	defer d.close()
	// Ten mailboxes that block until all ten run: each must get its own goroutine.
	var started sync.WaitGroup
	started.Add(10)
	release := make(chan struct{})
	for range 10 {
		d.Schedule(func() {
			started.Done()
			<-release
		})
	}
	done := make(chan struct{})
	go func() { started.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ten blocked mailboxes did not all start")
	}
	close(release)
	// At most two stay waiting; the rest exit.
	waitFor(t, "two goroutines to wait", func() bool { return d.waiting.Load() == 2 })
}

// runTogether schedules n mailboxes that each wait until all n run, so each has a
// goroutine of its own, and returns once they have all finished their run.
func runTogether(d *dispatcher, n int) {
	var started, finished sync.WaitGroup
	started.Add(n)
	finished.Add(n)
	release := make(chan struct{})
	for range n {
		d.Schedule(func() { started.Done(); <-release; finished.Done() })
	}
	started.Wait()
	close(release)
	finished.Wait()
}

func TestDispatcherCloseLetsGoroutinesExit(t *testing.T) {
	before := runtime.NumGoroutine()
	d := newDispatcher(300, 64, time.Hour)
	runTogether(d, 32)
	waitFor(t, "32 goroutines to wait", func() bool { return d.waiting.Load() == 32 })
	d.close()
	waitFor(t, "the waiting goroutines to exit", func() bool { return d.waiting.Load() == 0 })
	waitFor(t, "the goroutine count to come back", func() bool { return runtime.NumGoroutine() <= before })
	// After close a mailbox still runs, on a goroutine that does not stay.
	ran := make(chan struct{})
	d.Schedule(func() { close(ran) })
	<-ran
	waitFor(t, "the last goroutine to exit", func() bool { return runtime.NumGoroutine() <= before })
}

func TestDispatcherLetsIdleGoroutinesGo(t *testing.T) {
	d := newDispatcher(300, 64, 10*time.Millisecond)
	defer d.close()
	runTogether(d, 32)
	// Nothing more is scheduled: within a few periods none is left waiting.
	waitFor(t, "the idle goroutines to be let go", func() bool { return d.waiting.Load() == 0 })
	// And the dispatcher still runs mailboxes.
	ran := make(chan struct{})
	d.Schedule(func() { close(ran) })
	<-ran
}
