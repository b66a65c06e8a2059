package actorstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/redisstore"
)

// Journal is a redisstore.Journal as intake uses it.
type Journal struct{ j *redisstore.Journal }

var _ intake.Journal = Journal{}

// NewJournal adapts j.
func NewJournal(j *redisstore.Journal) Journal { return Journal{j: j} }

// Append journals items in one atomic step, its refusals wrapping intake's sentinels;
// redisstore's count is left out, as its doc says to rely on the error alone.
func (j Journal) Append(ctx context.Context, items []intake.Journaled) error {
	_, err := j.j.Append(ctx, storeItems(items))
	return appendRefusal(err)
}

// storeItems is items as redisstore journals them.
func storeItems(items []intake.Journaled) []redisstore.Item {
	its := make([]redisstore.Item, len(items))
	for i, it := range items {
		its[i] = redisstore.Item{UpdateID: it.UpdateID, Key: it.Key, Raw: it.Raw}
	}
	return its
}

// appendRefusal wraps an Append's refusals (a fenced one's too) in intake's sentinels.
func appendRefusal(err error) error {
	switch {
	case errors.Is(err, redisstore.ErrLeaseLost):
		return fmt.Errorf("%w: %w", intake.ErrLeaseLost, err)
	case errors.Is(err, redisstore.ErrBatchTooLarge):
		return fmt.Errorf("%w: %w", intake.ErrBatchTooLarge, err)
	case errors.Is(err, redisstore.ErrJournalFull), errors.Is(err, redisstore.ErrFull):
		return fmt.Errorf("%w: %w", intake.ErrJournalFull, err)
	}
	return err
}

// Pending returns up to n unfinished updates after the id after, in id order.
func (j Journal) Pending(ctx context.Context, after int64, n int) ([]intake.Journaled, error) {
	its, err := j.j.Pending(ctx, after, n)
	out := make([]intake.Journaled, len(its))
	for i, it := range its {
		out[i] = intake.Journaled{UpdateID: it.UpdateID, Key: it.Key, Raw: it.Raw}
	}
	return out, err
}

// Finish removes finished updates.
func (j Journal) Finish(ctx context.Context, ids ...int64) error { return j.j.Finish(ctx, ids...) }

// Stats returns the journal's size and bounds.
func (j Journal) Stats(ctx context.Context) (intake.JournalStats, error) {
	st, err := j.j.Stats(ctx)
	return intake.JournalStats{Len: st.Len, Cap: st.Cap, Bytes: st.Bytes, MaxBytes: st.MaxBytes}, err
}
