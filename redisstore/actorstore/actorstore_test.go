package actorstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
	"github.com/troupebot/troupe/redisstore/actorstore"
)

// The store's refusals reach the runtime as its own sentinels, the store's error kept.
func TestRefusalsAreTheRuntimes(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	rs, err := redisstore.Open(ctx, redisstore.Config[int64]{URL: srv.URL, Codec: redisstore.Int64Codec{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	j := actorstore.NewJournal(rs.Journal(redisstore.JournalConfig{}))
	st := actorstore.New(rs)
	if err := j.Append(ctx, []intake.Journaled{{UpdateID: 1, Key: 4, Raw: []byte("{}")}, {UpdateID: 2, Key: 4, Raw: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	r, err := st.Load(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Commit(ctx, 4, r, actors.Change[int64]{UpdateID: 2, State: 2})
	if !errors.Is(err, actors.ErrOutOfOrder) || !errors.Is(err, redisstore.ErrOutOfOrder) {
		t.Fatalf("commit of update 2 while 1 is journaled: %v, want actors.ErrOutOfOrder wrapping the store's", err)
	}
	r, err = st.Commit(ctx, 4, r, actors.Change[int64]{UpdateID: 1, State: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(ctx, 4, r, actors.Change[int64]{UpdateID: 1, State: 1}); !errors.Is(err, actors.ErrDuplicate) {
		t.Fatalf("commit of update 1 again: %v, want actors.ErrDuplicate", err)
	}
	stale := r
	stale.Token = redisstore.Record[int64]{}
	if _, err := st.Commit(ctx, 4, stale, actors.Change[int64]{UpdateID: 2, State: 2}); !errors.Is(err, actors.ErrStale) {
		t.Fatalf("commit on an old version: %v, want actors.ErrStale", err)
	}
}
