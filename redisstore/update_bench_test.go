package redisstore_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
)

// serverCPU is the CPU time redis-server used so far, user and system, in seconds.
func serverCPU(tb testing.TB, c *redis.Client) float64 {
	tb.Helper()
	var sum float64
	for _, line := range strings.Split(c.Info(context.Background(), "cpu").Val(), "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatalf("INFO cpu %s = %q: %v", k, v, err)
			}
			sum += f
		}
	}
	return sum
}

// BenchmarkUpdate is what one journaled update costs the store, as the webhook and the
// runtime call it: the update appended alone, its commit with one reply, the reply's Ack and
// the update's Finish. With callers=1 one goroutine runs them; with callers=64, 64 at once,
// each on a user of its own, as the runtime's actors do. It reports round trips, the
// client's µs and redis-server's CPU µs per update.
func BenchmarkUpdate(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	c := raw(b, srv)
	var run atomic.Int64
	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			var trips atomic.Int64 // a command alone, or a pipeline
			prefix := "bench-update" + strconv.FormatInt(run.Add(1), 10)
			st, err := redisstore.Open(context.Background(), redisstore.Config[int64]{URL: srv.URL, Codec: redisstore.Int64Codec{},
				Prefix: prefix, Hooks: []redis.Hook{observer(func([]redis.Cmder) { trips.Add(1) })}, PoolSize: callers + 1})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			j := st.Journal(redisstore.JournalConfig{Cap: 1 << 30, MaxBytes: 1 << 40})
			var ids, users atomic.Int64
			body := []byte(fmt.Sprintf(rawUpdate, 1, 1, 1, 1))
			reply := []byte("#1 coffee 42")
			cpu := serverCPU(b, c)
			trips.Store(0)
			// One user per goroutine: its own key, and its own record to commit after.
			update := func(next func() bool) {
				ctx := context.Background()
				key := users.Add(1)
				r, err := st.Load(ctx, key)
				for err == nil && next() {
					id := ids.Add(1)
					if _, err = j.Append(ctx, []redisstore.Item{{UpdateID: id, Key: key, Raw: body}}); err == nil {
						r, err = st.Commit(ctx, key, r, redisstore.Change[int64]{UpdateID: id, State: r.State + 1, Outbox: [][]byte{reply}})
					}
					if err == nil {
						err = st.Ack(ctx, key, id)
					}
					if err == nil {
						err = j.Finish(ctx, id)
					}
				}
				if err != nil {
					b.Error(err)
				}
			}
			b.ResetTimer()
			if callers == 1 {
				i := 0
				update(func() bool { i++; return i <= b.N })
			} else {
				b.SetParallelism(max(callers/runtime.GOMAXPROCS(0), 1))
				b.RunParallel(func(pb *testing.PB) { update(pb.Next) })
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(b.Elapsed().Microseconds())/n, "µs/update")
			b.ReportMetric(float64(trips.Load())/n, "round-trips/update")
			b.ReportMetric((serverCPU(b, c)-cpu)*1e6/n, "redis-µs/update")
		})
	}
}
