package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/troupebot/troupe/emulator"
)

// mode is how updates reach the bot.
type mode string

const (
	// polling: the bot long-polls getUpdates.
	polling mode = "polling"
	// webhook: the emulator would post updates to the bot's webhook. Not built yet: the
	// emulator and the bot gain webhook support in another change; it belongs here.
	webhook mode = "webhook"
)

var errWebhook = errors.New("-mode webhook is not implemented yet (it waits for webhook support in the bot and the emulator); use -mode polling")

func parseMode(s string) (mode, error) {
	switch mode(s) {
	case polling:
		return polling, nil
	case webhook:
		return "", errWebhook
	}
	return "", fmt.Errorf("-mode %q: polling or webhook", s)
}

// waitReady waits until the bot takes updates: in polling mode, until it long-polls.
func (m mode) waitReady(ctx context.Context, emu *emulator.Server) error {
	switch m {
	case polling:
		if err := emu.WaitPolling(ctx); err != nil {
			return fmt.Errorf("the bot never long-polled getUpdates: %w", err)
		}
		return nil
	}
	return errWebhook
}
