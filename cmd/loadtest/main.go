package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses: the audit passed, found errors, or the test could not run.
const (
	exitPass  = 0
	exitAudit = 1
	exitError = 2
)

// run is main with its outputs passed in.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitPass
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return exitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var t target = troupe
	switch {
	case cfg.members > 0:
		t = members{line: cfg.botCmd, n: cfg.members, plan: cfg.plan}
	case cfg.botCmd != "":
		t = command{line: cfg.botCmd}
	}
	var progress io.Writer = stderr
	if cfg.quiet {
		progress = nil
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "loadtest: -cpuprofile: %v\n", err)
			return exitError
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "loadtest: -cpuprofile %s: %v\n", cfg.cpuProfile, err)
			return exitError
		}
	}
	r, err := load(ctx, cfg, t, progress)
	if cfg.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return exitError
	}
	if cfg.memProfile != "" {
		if err := writeAllocs(cfg.memProfile); err != nil {
			fmt.Fprintf(stderr, "loadtest: -memprofile: %v\n", err)
			return exitError
		}
	}
	if cfg.plot != "" {
		if err := plot(ctx, cfg.plot, r); err != nil {
			fmt.Fprintf(stderr, "loadtest: %v\n", err)
			return exitError
		}
	}
	if cfg.json {
		if err := r.writeJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "loadtest: %v\n", err)
			return exitError
		}
	} else {
		r.writeText(stdout)
	}
	if !r.Pass {
		return exitAudit
	}
	return exitPass
}

func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
