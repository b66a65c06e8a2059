package redisstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
)

// BenchmarkStoredBytesPerUser measures what a user costs in Redis's memory: b.N users, each
// with a notebook of `values` labelled values committed one update at a time (one reply in the
// outbox per update, acknowledged), as the bot commits them. It reports used_memory's growth
// per user, which is what sizes a Redis or Valkey instance (docs/operations.md):
//
//	go test ./redisstore -run '^$' -bench StoredBytesPerUser -benchtime 10000x
func BenchmarkStoredBytesPerUser(b *testing.B) {
	for _, values := range []int{1, 20, 200} {
		b.Run(fmt.Sprintf("values=%d", values), func(b *testing.B) {
			srv := redistest.Start(b, redistest.Options{})
			ctx := context.Background()
			st, err := redisstore.Open(ctx, redisstore.Config[notebook.Context]{URL: srv.URL, Codec: notebook.Codec{}})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
			defer rdb.Close()
			before := usedMemory(b, rdb)
			b.ResetTimer()
			for u := range b.N {
				key := int64(100_000 + u)
				r, err := st.Load(ctx, key)
				if err != nil {
					b.Fatal(err)
				}
				for i := range values {
					next := r.State
					next.Series, _, _ = next.Series.Append(notebook.Entry{Value: float64(i) + 0.25, Label: "coffee", At: 1_800_000_000 + int64(i)*60}, notebook.DefaultLimits.MaxValues)
					id := int64(u*values + i + 1)
					if r, err = st.Commit(ctx, key, r, redisstore.Change[notebook.Context]{UpdateID: id, State: next,
						Outbox: [][]byte{[]byte("Recorded 12.25 coffee. 20 values, mean 9.75.")}}); err != nil {
						b.Fatal(err)
					}
					if err := st.Ack(ctx, key, id); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(usedMemory(b, rdb)-before)/float64(b.N), "redis-bytes/user")
		})
	}
}
