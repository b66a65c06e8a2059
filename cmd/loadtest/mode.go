package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"

	"github.com/troupebot/troupe/emulator"
)

// mode is how updates reach the bot.
type mode string

const (
	// polling: the bot long-polls getUpdates.
	polling mode = "polling"
	// webhook: the bot registers a webhook with setWebhook, and the emulator POSTs every
	// update to it as Telegram does, with the secret header, retrying non-2xx answers.
	webhook mode = "webhook"
)

func parseMode(s string) (mode, error) {
	switch mode(s) {
	case polling, webhook:
		return mode(s), nil
	}
	return "", fmt.Errorf("-mode %q: polling or webhook", s)
}

// prepare fills in what the bot needs for the mode: in webhook mode a loopback address to
// listen on, the URL to register and a secret.
func (m mode) prepare(env *botEnv) error {
	if m != webhook {
		return nil
	}
	// A free port now; the bot binds it in a moment. Another process could take it in
	// between, on a busy machine: the run then fails to start, and says so.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("find a port for the bot's webhook: %w", err)
	}
	env.listen = ln.Addr().String()
	ln.Close()
	var secret [16]byte
	rand.Read(secret[:])
	env.webhookURL = "http://" + env.listen + "/webhook"
	env.webhookSecret = hex.EncodeToString(secret[:])
	return nil
}

// waitReady waits until the bot takes updates: in polling mode, until it long-polls; in
// webhook mode, until it registered its webhook.
func (m mode) waitReady(ctx context.Context, emu *emulator.Server) error {
	if m == webhook {
		if err := emu.WaitWebhook(ctx); err != nil {
			return fmt.Errorf("the bot never called setWebhook: %w", err)
		}
		return nil
	}
	if err := emu.WaitPolling(ctx); err != nil {
		return fmt.Errorf("the bot never long-polled getUpdates: %w", err)
	}
	return nil
}
