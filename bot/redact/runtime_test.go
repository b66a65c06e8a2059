package redact_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot/redact"
	"github.com/troupebot/troupe/internal/logtest"
)

type leakedToken struct{ URL string }

// panicky panics with the token in a different shape for each user.
type panicky struct{}

func (panicky) Handle(s int, u *gotgbot.Update) (int, []string) {
	switch u.Message.From.Id {
	case 1:
		panic("GET /bot" + token + "/getMe")
	case 2:
		panic(errors.New("unable to getMe: Internal error at /bot" + token + "/getMe"))
	default:
		panic(leakedToken{URL: "/bot" + token})
	}
}

func (panicky) Apology(*gotgbot.Update, *actors.Crash, time.Duration) []string { return nil }
func (panicky) Throttled(*gotgbot.Update) []string                             { return nil }

// TestRuntimePanicsAreRedacted has user actors panic with the token in the panic value, and
// checks the runtime's crash lines (and protoactor's own, which go to the same handler)
// show it redacted.
func TestRuntimePanicsAreRedacted(t *testing.T) {
	var out logtest.Buffer
	log := slog.New(redact.Token(token).Handler(slog.NewJSONHandler(&out, nil)))
	rt := actors.New(context.Background(), actors.Config{Logger: log}, actors.Logic[int, string](panicky{}),
		actors.PerformFunc[string](func(_ context.Context, _ *gotgbot.Update, _ []string, report actors.Report) {
			report(actors.Finished, nil)
		}),
		actors.NewMemoryStore(actors.MemoryConfig[int]{}))
	var wg sync.WaitGroup
	for user := int64(1); user <= 3; user++ {
		wg.Add(1)
		u := &gotgbot.Update{UpdateId: user, Message: &gotgbot.Message{
			MessageId: 1, Text: "x", From: &gotgbot.User{Id: user}, Chat: gotgbot.Chat{Id: user, Type: "private"},
		}}
		if err := rt.Deliver(u, wg.Done); err != nil {
			t.Fatal(err)
		}
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("the crashed updates were not finished")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}

	lines := out.String()
	if strings.Contains(lines, secret) {
		t.Errorf("the log shows the token:\n%s", lines)
	}
	if n := strings.Count(lines, `"msg":"user actor crashed"`); n != 3 {
		t.Errorf("%d crash lines, want 3:\n%s", n, lines)
	}
	if n := strings.Count(lines, `/bot123456789:`+redact.Mask); n < 3 {
		t.Errorf("the redacted token shows %d times, want once per crash at least:\n%s", n, lines)
	}
}
