// Command echobot is the load-test harness's trivial reference bot (package
// cmd/loadtest/internal/echobot) as a process, for measuring the harness's own ceiling:
//
//	go build -o /tmp/echobot ./cmd/loadtest/echobot
//	go run ./cmd/loadtest -bot-cmd /tmp/echobot -users 10000 -messages 10
//
// It reads TELEGRAM_API_URL and TELEGRAM_BOT_TOKEN, and BOT_CHAOS=true makes "panic"
// answer with an apology, uncounted, as the project's bot does under -chaos. SIGTERM or
// Ctrl-C stops it after the replies in flight.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/troupebot/troupe/cmd/loadtest/internal/echobot"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	chaos, _ := strconv.ParseBool(os.Getenv("BOT_CHAOS"))
	b, err := echobot.New(echobot.Config{
		APIURL: os.Getenv("TELEGRAM_API_URL"),
		Token:  os.Getenv("TELEGRAM_BOT_TOKEN"),
		Chaos:  chaos,
		Logger: log,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "echobot: %v (set TELEGRAM_API_URL and TELEGRAM_BOT_TOKEN)\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := b.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "echobot: %v\n", err)
		os.Exit(1)
	}
}
