// Command bot is the Troupe bot server. With a token it serves Telegram over long polling;
// without one it starts the sandbox: the bot against an in-process Bot API emulator,
// chatting on the terminal. See docs/configuration.md for every flag and variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/troupebot/troupe/bot"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run is main with its dependencies passed in, so tests run the real command in-process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bot: %v\n", err)
		return 2
	}
	if cfg.version {
		fmt.Fprintln(stdout, version)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cfg.token == "" {
		sb := &sandbox{
			cfg:         cfg,
			in:          stdin,
			out:         stdout,
			log:         slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			interactive: isTerminal(stdin),
		}
		if err := sb.run(ctx); err != nil {
			fmt.Fprintf(stderr, "bot: %v\n", err)
			return 1
		}
		return 0
	}

	log := slog.New(slog.NewJSONHandler(stderr, nil))
	b, err := bot.New(bot.Config{Token: cfg.token, APIURL: cfg.apiURL, Admins: cfg.admins, Chaos: cfg.chaos, Version: version, Logger: log})
	if err != nil {
		log.Error("cannot start", slog.Any("err", err))
		return 1
	}
	if err := b.Run(ctx); err != nil {
		log.Error("stopped", slog.Any("err", err))
		return 1
	}
	return 0
}

// isTerminal reports whether r is an interactive terminal, not a pipe or a file.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
