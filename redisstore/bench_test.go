package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
)

// observer is a go-redis hook that shows each round trip's commands (one alone, or a
// pipeline) to a func before they are sent.
type observer func(cmds []redis.Cmder)

func (o observer) DialHook(next redis.DialHook) redis.DialHook { return next }

func (o observer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		o([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (o observer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		o(cmds)
		return next(ctx, cmds)
	}
}

// sentBytes sums the bytes of every command's arguments.
type sentBytes struct{ n atomic.Int64 }

func (h *sentBytes) hook() redis.Hook {
	return observer(func(cmds []redis.Cmder) {
		for _, c := range cmds {
			h.count(c)
		}
	})
}

func (h *sentBytes) count(cmd redis.Cmder) {
	for _, a := range cmd.Args() {
		switch v := a.(type) {
		case string:
			h.n.Add(int64(len(v)))
		case []byte:
			h.n.Add(int64(len(v)))
		default:
			h.n.Add(int64(len(fmt.Sprint(v))))
		}
	}
}

// BenchmarkCommit commits one recorded value per iteration on a notebook whose series holds
// 10 or 10,000 values (full, so each commit also drops the oldest), reporting bytes of
// command arguments sent to Redis per commit, compactions included.
func BenchmarkCommit(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	var run int64 // each run of a sub-benchmark writes a key of its own
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("values=%d", n), func(b *testing.B) {
			hook := &sentBytes{}
			st, err := redisstore.Open(context.Background(), redisstore.Config[notebook.Context]{
				URL: srv.URL, Codec: notebook.Codec{}, Hooks: []redis.Hook{hook.hook()}})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			run++
			key := run
			var c notebook.Context
			for i := range n {
				c.Series, _, _ = c.Series.Append(notebook.Entry{Value: float64(i) + 0.5, At: 1_700_000_000 + int64(i)}, n)
			}
			r, err := st.Load(ctx, key)
			if err != nil {
				b.Fatal(err)
			}
			if r, err = st.Commit(ctx, key, r, redisstore.Change[notebook.Context]{UpdateID: 1, State: c}); err != nil {
				b.Fatal(err)
			}
			hook.n.Store(0)
			b.ResetTimer()
			for i := range b.N {
				next := r.State
				next.Series, _, _ = next.Series.Append(notebook.Entry{Value: float64(i), Label: "coffee", At: 1_800_000_000 + int64(i)}, n)
				if r, err = st.Commit(ctx, key, r, redisstore.Change[notebook.Context]{UpdateID: int64(i) + 2, State: next,
					Outbox: [][]byte{[]byte("Recorded 42 coffee. 10000 values, mean 4999.5.")}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(hook.n.Load())/float64(b.N), "bytes/commit")
		})
	}
}
