package actors_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/internal/redistest"
)

// triple answers every update with three replies: n is the user's count times ten plus the
// reply's place, 1 to 3.
type triple struct{ counter }

func (triple) Handle(s count, u *gotgbot.Update) (count, []reply) {
	s.n++
	out := make([]reply, 3)
	for k := range out {
		out[k] = reply{update: u.UpdateId, n: s.n*10 + int64(k+1)}
	}
	return s, out
}

// cutter performs each update's actions as a process killed in the middle would: it reports
// the first keep of them with the outcomes given (accepted when none), and never the rest.
type cutter struct {
	rec       *recorder
	keep      int
	outcome   []error
	performed chan struct{}
}

func (c *cutter) Perform(ctx context.Context, u *gotgbot.Update, actions []reply, report actors.Report) {
	n := min(c.keep, len(actions))
	c.rec.Perform(ctx, u, actions[:n], func(int, error) {})
	for i := range n {
		var err error
		if i < len(c.outcome) {
			err = c.outcome[i]
		}
		report(i, err)
	}
	c.performed <- struct{}{}
}

// TestOutboxAckedReplyByReply: an update of three replies cut off after some of them were
// performed (accepted, or failed for good: a resend would fail the same way) leaves only
// the rest in the outbox, and the next process sends only those, in order, before the
// user's new update.
func TestOutboxAckedReplyByReply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keep    int
		outcome []error
	}{
		{"first accepted", 1, nil},
		{"two accepted", 2, nil},
		{"first failed for good", 1, []error{errors.New("Bad Request: chat not found")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{})
			cut := &cutter{rec: newRecorder(), keep: tc.keep, outcome: tc.outcome, performed: make(chan struct{}, 4)}
			first := durableRuntimeOf(t, openStore(t, srv.URL), triple{}, cut)
			take(t, first, textUpdate(1, 9, "hi"))
			if _, ok := within(t, cut.performed, 10*time.Second, "perform"); !ok {
				return
			}
			rs := openStore(t, srv.URL)
			// The reports ran before perform returned, so the acks are in.
			if r, err := rs.Load(context.Background(), 9); err != nil || len(r.Outbox) != 3-tc.keep {
				t.Fatalf("outbox %+v (%v) after %d of 3 replies, want the other %d", r.Outbox, err, tc.keep, 3-tc.keep)
			}
			first.Close(context.Background()) // killed: the rest are never reported

			rec := newRecorder()
			second := durableRuntimeOf(t, rs, triple{}, rec)
			if err := wait(t, take(t, second, textUpdate(2, 9, "hi"))); err != nil {
				t.Fatal(err)
			}
			var want []string
			for k := tc.keep + 1; k <= 3; k++ {
				want = append(want, fmt.Sprintf("1:%d", 10+k))
			}
			want = append(want, "2:21", "2:22", "2:23")
			var got []string
			for _, r := range rec.of(9) {
				got = append(got, fmt.Sprintf("%d:%d", r.update, r.n))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("replies after the restart %v, want %v", got, want)
			}
			if st := second.Stats(); st.Resent != int64(3-tc.keep) {
				t.Errorf("%d actions sent again, want %d", st.Resent, 3-tc.keep)
			}
			if r, _ := rs.Load(context.Background(), 9); len(r.Outbox) != 0 {
				t.Errorf("outbox %+v left after every reply finished", r.Outbox)
			}
		})
	}
}

// stopper performs the first action and reports the others not performed, as a sender
// closing at shutdown does.
type stopper struct{ rec *recorder }

func (s stopper) Perform(ctx context.Context, u *gotgbot.Update, actions []reply, report actors.Report) {
	s.rec.Perform(ctx, u, actions[:1], func(int, error) {})
	report(0, nil)
	for i := 1; i < len(actions); i++ {
		report(i, fmt.Errorf("sender closed: %w", actors.ErrNotPerformed))
	}
	report(actors.Finished, fmt.Errorf("%d of %d: %w", len(actions)-1, len(actions), actors.ErrNotPerformed))
}

// TestNotPerformedIsNotKept: actions not performed at shutdown keep their outbox entries,
// and their update is reported not kept, so that intake keeps it; delivered again, it is
// not applied twice and sends what is left.
func TestNotPerformedIsNotKept(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rs := openStore(t, srv.URL)
	rt := durableRuntimeOf(t, rs, triple{}, stopper{rec: newRecorder()})
	if err := wait(t, take(t, rt, textUpdate(1, 4, "hi"))); !errors.Is(err, actors.ErrNotKept) {
		t.Fatalf("outcome %v, want not kept", err)
	}
	if r, err := rs.Load(context.Background(), 4); err != nil || len(r.Outbox) != 2 || r.Outbox[0].Seq != 1 || r.Outbox[1].Seq != 2 {
		t.Fatalf("outbox %+v (%v), want replies 2 and 3 kept", r.Outbox, err)
	}
	rt.Close(context.Background())

	rec := newRecorder()
	again := durableRuntimeOf(t, rs, triple{}, rec)
	if err := wait(t, take(t, again, textUpdate(1, 4, "hi"))); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, r := range rec.of(4) {
		got = append(got, r.n)
	}
	if fmt.Sprint(got) != "[12 13]" {
		t.Errorf("redelivered update sent %v, want the 2 left: [12 13]", got)
	}
	if st := again.Stats(); st.Duplicates != 1 || st.Handled != 0 {
		t.Errorf("stats %+v, want a duplicate, nothing handled again", st)
	}
}
