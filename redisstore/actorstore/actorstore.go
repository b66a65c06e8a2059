// Package actorstore runs the actor runtime on the durable store: it adapts a
// redisstore.Store to actors.Store, translating records and the store's refusals, and a
// redisstore.Journal to intake.Journal. It is the one place that knows both sides, so that
// neither the runtime nor the store imports the other; cmd/bot wires it.
package actorstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/redisstore"
)

// Store is a redisstore.Store as the runtime uses it.
type Store[S any] struct{ rs *redisstore.Store[S] }

var (
	_ actors.Store[int]  = Store[int]{}
	_ actors.AckDeferrer = Store[int]{}
)

// New adapts rs.
func New[S any](rs *redisstore.Store[S]) Store[S] { return Store[S]{rs: rs} }

// Load returns key's committed record with its outbox.
func (st Store[S]) Load(ctx context.Context, key int64) (actors.Record[S], error) {
	r, err := st.rs.Load(ctx, key)
	if err != nil {
		return actors.Record[S]{}, refusal(err)
	}
	return record(r), nil
}

// Commit commits ch after prev, fenced and deduplicated.
func (st Store[S]) Commit(ctx context.Context, key int64, prev actors.Record[S], ch actors.Change[S]) (actors.Record[S], error) {
	p, _ := prev.Token.(redisstore.Record[S]) // the zero Record for a key never loaded
	r, err := st.rs.Commit(ctx, key, p, redisstore.Change[S]{UpdateID: ch.UpdateID, State: ch.State, Outbox: ch.Outbox, Skipped: ch.Skipped})
	if err != nil {
		return prev, refusal(err)
	}
	return record(r), nil
}

// Ack removes the outbox entries of one update.
func (st Store[S]) Ack(ctx context.Context, key, updateID int64) error {
	return refusal(st.rs.Ack(ctx, key, updateID))
}

// AckEntry removes one outbox entry: that reply was accepted (or failed for good).
func (st Store[S]) AckEntry(ctx context.Context, key int64, e actors.Entry) error {
	return refusal(st.rs.AckEntry(ctx, key, redisstore.Entry{UpdateID: e.UpdateID, Seq: e.Seq}))
}

// DeferAck leaves the acknowledgement of e, its update's last outbox entry, to the
// journal's Finish of the update (see redisstore.Store.DeferAck).
func (st Store[S]) DeferAck(key int64, e actors.Entry) bool {
	return st.rs.DeferAck(key, redisstore.Entry{UpdateID: e.UpdateID, Seq: e.Seq})
}

func record[S any](r redisstore.Record[S]) actors.Record[S] {
	out := make([]actors.Entry, len(r.Outbox))
	for i, e := range r.Outbox {
		out[i] = actors.Entry{UpdateID: e.UpdateID, Seq: e.Seq, Data: e.Data}
	}
	// The Token keeps the outbox too; the next commit does not read it.
	return actors.Record[S]{State: r.State, Version: r.Version, UpdateID: r.UpdateID, Outbox: out, Age: r.Age, Token: r}
}

// refusal adds the runtime's sentinel to the store's refusals, keeping the store's error.
func refusal(err error) error {
	for _, m := range []struct{ store, runtime error }{
		{redisstore.ErrStale, actors.ErrStale},
		{redisstore.ErrDuplicate, actors.ErrDuplicate},
		{redisstore.ErrCorrupt, actors.ErrCorrupt},
		{redisstore.ErrOutOfOrder, actors.ErrOutOfOrder},
	} {
		if errors.Is(err, m.store) {
			return fmt.Errorf("%w: %w", m.runtime, err)
		}
	}
	return err
}

// Ping checks that the server answers: what readiness asks.
func (st Store[S]) Ping(ctx context.Context) error { return st.rs.Ping(ctx) }
