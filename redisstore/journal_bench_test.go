package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
)

// rawUpdate is a text message as the Bot API sends it, about 250 bytes.
const rawUpdate = `{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"Ada","username":"ada","language_code":"en"},"chat":{"id":%d,"first_name":"Ada","username":"ada","type":"private"},"date":1764633600,"text":"coffee 42"}}`

func benchItem(id int64) redisstore.Item {
	key := 1_000_000 + id%1000
	return redisstore.Item{UpdateID: id, Key: key, Raw: fmt.Appendf(nil, rawUpdate, id, id, key, key)}
}

// usedMemory is the server's used_memory, in bytes.
func usedMemory(tb testing.TB, c *redis.Client) int64 {
	tb.Helper()
	for _, line := range strings.Split(c.Info(context.Background(), "memory").Val(), "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatalf("used_memory %q: %v", v, err)
			}
			return n
		}
	}
	tb.Fatal("INFO memory has no used_memory")
	return 0
}

// BenchmarkJournal appends updates of a text message in batches of 1 and 100, then finishes
// them in batches of the same size, reporting per update: bytes of command arguments sent,
// redis-server's CPU µs, and Redis memory while pending (after Finish, each leaves its id in
// the remembered set).
func BenchmarkJournal(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	c := raw(b, srv)
	var run int
	for _, batch := range []int{1, 100} {
		for _, op := range []string{"append", "finish"} {
			b.Run(fmt.Sprintf("%s/batch=%d", op, batch), func(b *testing.B) {
				run++
				hook := &sentBytes{}
				j := openJournal(b, srv.URL, func(cfg *redisstore.JournalConfig) {
					cfg.Prefix, cfg.Hooks, cfg.Cap, cfg.MaxBytes = "bench"+strconv.Itoa(run), []redis.Hook{hook.hook()}, 1<<30, 1<<40
				})
				ctx := context.Background()
				n := b.N * batch
				items := make([]redisstore.Item, n)
				ids := make([]int64, n)
				for i := range items {
					items[i] = benchItem(int64(i) + 1)
					ids[i] = int64(i) + 1
				}
				if op == "finish" {
					for i := 0; i < n; i += 1000 {
						if _, err := j.Append(ctx, items[i:min(i+1000, n)]); err != nil {
							b.Fatal(err)
						}
					}
				}
				mem := usedMemory(b, c)
				cpu := serverCPU(b, c)
				hook.n.Store(0)
				b.ResetTimer()
				for i := range b.N {
					lo, hi := i*batch, (i+1)*batch
					var err error
					if op == "append" {
						_, err = j.Append(ctx, items[lo:hi])
					} else {
						err = j.Finish(ctx, ids[lo:hi]...)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/update")
				b.ReportMetric(float64(hook.n.Load())/float64(n), "bytes-sent/update")
				b.ReportMetric((serverCPU(b, c)-cpu)*1e6/float64(n), "redis-µs/update")
				if op == "append" {
					b.ReportMetric(float64(usedMemory(b, c)-mem)/float64(n), "redis-bytes/update")
				}
			})
		}
	}
}
