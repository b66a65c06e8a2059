package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// usage is what a bot has used: CPU time so far and resident memory now.
type usage struct {
	cpu time.Duration
	rss int64 // bytes
}

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// procStat reads a process's CPU time, resident memory and process group from
// /proc/<pid>/stat.
func procStat(pid string) (u usage, pgrp int, err error) {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return usage{}, 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields start after its ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return usage{}, 0, fmt.Errorf("/proc/%s/stat: no command name", pid)
	}
	f := bytes.Fields(raw[i+1:])
	// After the name: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	// cmajflt utime(11) stime(12) cutime cstime priority nice num_threads itrealvalue
	// starttime vsize rss(21).
	if len(f) < 22 {
		return usage{}, 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f))
	}
	num := func(j int) int64 {
		v, _ := strconv.ParseInt(string(f[j]), 10, 64)
		return v
	}
	u.cpu = time.Duration(num(11)+num(12)) * clockTick
	u.rss = num(21) * int64(os.Getpagesize())
	return u, int(num(2)), nil
}

// groupUsage sums the usage of the processes in process group pgid: a spawned bot and
// whatever it started (`go run` builds the bot and runs it as a child).
func groupUsage(pgid int) (usage, error) {
	dir, err := os.ReadDir("/proc")
	if err != nil {
		return usage{}, fmt.Errorf("read /proc: %w", err)
	}
	var total usage
	found := false
	for _, e := range dir {
		name := e.Name()
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		u, pgrp, err := procStat(name)
		if err != nil || pgrp != pgid {
			continue // gone meanwhile, or not ours
		}
		found = true
		total.cpu += u.cpu
		total.rss += u.rss
	}
	if !found {
		return usage{}, fmt.Errorf("process group %d: no process left", pgid)
	}
	return total, nil
}

// selfUsage is this process's usage (the bot, when it runs in-process, with the harness).
func selfUsage() (usage, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}, fmt.Errorf("getrusage: %w", err)
	}
	u, _, err := procStat("self")
	if err != nil {
		return usage{}, err
	}
	u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return u, nil
}

// sampler follows a bot's usage from a baseline: CPU used since, and the peak resident
// memory, sampled every period.
type sampler struct {
	read func() (usage, error)
	stop chan struct{}
	done chan struct{}

	mu         sync.Mutex
	base, last usage
	peak       int64
}

func startSampler(read func() (usage, error), period time.Duration) *sampler {
	s := &sampler{read: read, stop: make(chan struct{}), done: make(chan struct{})}
	s.base, _ = read()
	s.last, s.peak = s.base, s.base.rss
	go func() {
		defer close(s.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *sampler) sample() {
	u, err := s.read()
	if err != nil {
		return
	}
	s.mu.Lock()
	s.last = u
	s.peak = max(s.peak, u.rss)
	s.mu.Unlock()
}

// finish takes a last sample and returns the CPU used since the baseline, the peak and the
// baseline resident memory.
func (s *sampler) finish() (cpu time.Duration, peak, base int64) {
	close(s.stop)
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last.cpu - s.base.cpu, s.peak, s.base.rss
}
