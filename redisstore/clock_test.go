package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/troupebot/troupe/internal/redistest"
)

// A commit stamps the record with the server's time, whatever the local clock says: before
// the clock knows the server's (commit.lua reads TIME) and after, through the offset.
func TestCommitTimeIsTheServers(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	for i, skew := range []time.Duration{0, -72 * time.Hour, 30 * 24 * time.Hour} {
		for _, synced := range []bool{false, true} {
			st, err := New(Config[int64]{URL: srv.URL, Codec: Int64Codec{}, Prefix: "clock" + strconv.Itoa(i) + strconv.FormatBool(synced)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			st.clock.local = func() time.Time { return time.Now().Add(skew) }
			if synced {
				st.clock.sync()
				if st.clock.synced.Load() == 0 {
					t.Fatalf("skew %v: the clock did not sync", skew)
				}
			} else {
				// Busy as if a sync were under way: the commit must not wait for one.
				st.clock.busy.Store(true)
				if got := st.clock.arg(); got != "" {
					t.Fatalf("skew %v: an unsynced clock gave %v, want \"\" (ask the server)", skew, got)
				}
			}
			r, err := st.Load(ctx, 1)
			if err == nil {
				_, err = st.Commit(ctx, 1, r, Change[int64]{UpdateID: 5, State: 1})
			}
			if err != nil {
				t.Fatalf("skew %v, synced %v: %v", skew, synced, err)
			}
			server, err := st.rdb.Time(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			stamp, err := st.rdb.HGet(ctx, st.keysOf(1).rec.(string), "t").Int64()
			if err != nil {
				t.Fatalf("skew %v, synced %v: the record's t: %v", skew, synced, err)
			}
			if d := server.Unix() - stamp; d < 0 || d > 5 {
				t.Fatalf("skew %v, synced %v: the record's t is %d, the server's clock %d", skew, synced, stamp, server.Unix())
			}
		}
	}
}

// An offset older than clockSyncEvery is asked for again, in the background, and the old one
// used meanwhile.
func TestClockSyncsAgainWhenOld(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	st, err := Open(context.Background(), Config[int64]{URL: srv.URL, Codec: Int64Codec{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	first := st.clock.synced.Load()
	if first == 0 {
		t.Fatal("Open did not learn the server's clock")
	}
	asked := make(chan struct{})
	st.clock.ask = func(ctx context.Context) (time.Time, error) {
		defer close(asked)
		return st.serverTime(ctx)
	}
	later := time.Now().Add(2 * clockSyncEvery)
	st.clock.local = func() time.Time { return later }
	if got, ok := st.clock.arg().(int64); !ok || got < later.Unix()-5 {
		t.Fatalf("an old offset gave %v, want the old offset applied to the local clock", got)
	}
	select {
	case <-asked:
	case <-time.After(10 * time.Second):
		t.Fatal("an old offset was not asked for again")
	}
}
