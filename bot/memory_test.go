package bot_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/notebook"
)

// BenchmarkResidentMemory measures what a resident user costs: the notebook's runtime with
// N users, each either with an empty context (one /help) or a typical one (20 labelled
// values), then passivates them all and measures again. The difference is the actor; what
// stays is the context in the store. It ignores b.N: run it with -benchtime=1x.
//
//	go test ./bot -run '^$' -bench ResidentMemory -benchtime=1x
func BenchmarkResidentMemory(b *testing.B) {
	for _, users := range []int{10_000, 100_000, 1_000_000} {
		for _, typical := range []bool{false, true} {
			name := fmt.Sprintf("users=%d/context=%s", users, map[bool]string{false: "empty", true: "typical"}[typical])
			b.Run(name, func(b *testing.B) { measureResident(b, users, typical) })
		}
	}
}

func measureResident(b *testing.B, users int, typical bool) {
	var frozen atomic.Int64 // the runtime's clock: frozen while loading, so nothing idles
	frozen.Store(time.Now().UnixNano())
	var passivated atomic.Int64
	allPassivated := make(chan struct{})
	store := actors.NewMemoryStore(actors.MemoryConfig[notebook.Context]{})
	nb := notebookLogic{&notebook.Notebook{}}
	var pending sync.WaitGroup
	perform := actors.PerformFunc[bot.Action](func(_ context.Context, _ *gotgbot.Update, _ []bot.Action, report actors.Report) {
		report(actors.Finished, nil)
	})

	base := heap()
	rt := actors.New(context.Background(), actors.Config{
		IdleTimeout: 4 * time.Millisecond, // the sweep runs every millisecond, against the frozen clock
		Now:         func() time.Time { return time.Unix(0, frozen.Load()) },
		Logger:      slog.New(slog.DiscardHandler),
	}, actors.Logic[notebook.Context, bot.Action](nb), actors.Performer[bot.Action](perform), actors.Store[notebook.Context](store))
	defer rt.Close(context.Background())
	sub := rt.System().EventStream.Subscribe(func(evt any) {
		if _, ok := evt.(*actors.Passivated); ok && passivated.Add(1) == int64(users) {
			close(allPassivated)
		}
	})
	defer rt.System().EventStream.Unsubscribe(sub)

	texts := []string{"/help"}
	if typical {
		texts = texts[:0]
		for i := range 20 {
			texts = append(texts, strconv.Itoa(i*7)+".5 coffee")
		}
	}
	id := int64(0)
	for _, text := range texts {
		for u := range users {
			id++
			pending.Add(1)
			rt.Deliver(&gotgbot.Update{UpdateId: id, Message: &gotgbot.Message{
				MessageId: id, Text: text, From: &gotgbot.User{Id: int64(u + 1)}, Chat: gotgbot.Chat{Id: int64(u + 1), Type: "private"},
			}}, pending.Done)
		}
		pending.Wait()
	}
	resident := heap() - base

	frozen.Add(int64(time.Hour))
	select {
	case <-allPassivated:
	case <-time.After(10 * time.Minute):
		b.Fatalf("%d of %d passivated", passivated.Load(), users)
	}
	stored := heap() - base
	if st := rt.Stats(); st.Resident != 0 {
		b.Fatalf("%d still resident", st.Resident)
	}
	b.ReportMetric(float64(resident)/float64(users), "B/user-resident")
	b.ReportMetric(float64(stored)/float64(users), "B/user-passivated")
	b.ReportMetric(float64(resident-stored)/float64(users), "B/actor")
	runtime.KeepAlive(store)
}

// notebookLogic runs the notebook on the runtime without the edge, as bot.New's adapter does.
type notebookLogic struct{ nb *notebook.Notebook }

var me = &gotgbot.User{Id: 1, IsBot: true, Username: "troupe_bot"}

func (l notebookLogic) Handle(c notebook.Context, u *gotgbot.Update) (notebook.Context, []bot.Action) {
	return l.nb.Handle(c, &bot.Update{Update: u, Me: me})
}

func (l notebookLogic) Apology(u *gotgbot.Update, c *actors.Crash, pause time.Duration) []bot.Action {
	return l.nb.Apology(&bot.Update{Update: u, Me: me}, c, pause)
}

func (l notebookLogic) Throttled(u *gotgbot.Update) []bot.Action {
	return l.nb.Throttled(&bot.Update{Update: u, Me: me})
}

func heap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
