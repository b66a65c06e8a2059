package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupebot/troupe/internal/redistest"
	"github.com/troupebot/troupe/redisstore"
)

// TestLease walks the lease through what two pollers do to it: one acquires, the other is
// refused; only the holder with its token renews and releases; the next acquisition gets a
// larger token, and the old one is refused from then on.
func TestLease(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	l := openJournal(t, srv.URL).Lease(time.Minute)
	ctx := context.Background()
	type step struct {
		name      string
		do        func() error
		want      error
		holder    string // the lease's holder after the step
		token     int64
		wantToken int64 // Acquire's token, when the step acquires
	}
	var got int64
	acquire := func(holder string) func() error {
		return func() (err error) { got, err = l.Acquire(ctx, holder); return err }
	}
	steps := []step{
		{name: "a acquires a free lease", do: acquire("a"), holder: "a", token: 1, wantToken: 1},
		{name: "b is refused while a holds it", do: acquire("b"), want: redisstore.ErrLeaseHeld, holder: "a", token: 1},
		{name: "a is refused a second acquisition", do: acquire("a"), want: redisstore.ErrLeaseHeld, holder: "a", token: 1},
		{name: "b cannot renew a's lease", do: func() error { return l.Renew(ctx, "b", 1) }, want: redisstore.ErrLeaseLost, holder: "a", token: 1},
		{name: "a cannot renew with a wrong token", do: func() error { return l.Renew(ctx, "a", 2) }, want: redisstore.ErrLeaseLost, holder: "a", token: 1},
		{name: "a renews", do: func() error { return l.Renew(ctx, "a", 1) }, holder: "a", token: 1},
		{name: "b cannot release a's lease", do: func() error { return l.Release(ctx, "b", 1) }, want: redisstore.ErrLeaseLost, holder: "a", token: 1},
		{name: "a releases", do: func() error { return l.Release(ctx, "a", 1) }, holder: "", token: 1},
		{name: "a cannot renew what it released", do: func() error { return l.Renew(ctx, "a", 1) }, want: redisstore.ErrLeaseLost, holder: "", token: 1},
		{name: "b acquires with a larger token", do: acquire("b"), holder: "b", token: 2, wantToken: 2},
		{name: "a's old token is refused", do: func() error { return l.Renew(ctx, "a", 1) }, want: redisstore.ErrLeaseLost, holder: "b", token: 2},
	}
	for _, s := range steps {
		got = 0
		err := s.do()
		if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
			t.Fatalf("%s: error %v, want %v", s.name, err, s.want)
		}
		if got != s.wantToken {
			t.Errorf("%s: token %d, want %d", s.name, got, s.wantToken)
		}
		st, err := l.Holder(ctx)
		if err != nil {
			t.Fatalf("%s: holder: %v", s.name, err)
		}
		if st.Holder != s.holder || st.Token != s.token {
			t.Errorf("%s: lease held by %q with token %d, want %q with %d", s.name, st.Holder, st.Token, s.holder, s.token)
		}
		if held := st.Holder != ""; held != (st.Left > 0) || st.Left > time.Minute {
			t.Errorf("%s: %v left on a lease held by %q (TTL 1m)", s.name, st.Left, st.Holder)
		}
	}
}

// waitFree waits until nobody holds l: it expired.
func waitFree(tb testing.TB, l *redisstore.Lease) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		st, err := l.Holder(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if st.Holder == "" {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the lease is still held by %q with %v left", st.Holder, st.Left)
		}
	}
}

// TestLeaseExpires: a holder that stops renewing loses the lease after its TTL. Until
// somebody acquires it, the holder may still renew (no other token exists); once another
// did, the old holder's renewal and release are refused.
func TestLeaseExpires(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	l := openJournal(t, srv.URL).Lease(200 * time.Millisecond)
	ctx := context.Background()
	if tok, err := l.Acquire(ctx, "a"); err != nil || tok != 1 {
		t.Fatalf("acquire = %d, %v; want token 1", tok, err)
	}
	waitFree(t, l)
	if err := l.Renew(ctx, "a", 1); err != nil {
		t.Fatalf("renew of an expired lease nobody took: %v", err)
	}
	waitFree(t, l)
	tok, err := l.Acquire(ctx, "b")
	if err != nil || tok != 2 {
		t.Fatalf("acquire of an expired lease = %d, %v; want token 2", tok, err)
	}
	for _, op := range []func(context.Context, string, int64) error{l.Renew, l.Release} {
		if err := op(ctx, "a", 1); !errors.Is(err, redisstore.ErrLeaseLost) {
			t.Errorf("the expired holder's call after another acquired: %v, want ErrLeaseLost", err)
		}
	}
	if st, err := l.Holder(ctx); err != nil || st.Holder != "b" || st.Token != 2 {
		t.Errorf("holder = %+v, %v; want b with token 2", st, err)
	}
}

// TestAppendFenced: a poller journals only while its token is the lease's. Once another
// acquired the lease, the old holder's batch is refused whole with ErrLeaseLost, in the
// same step as the check, and the new holder's goes in.
func TestAppendFenced(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	j := openJournal(t, srv.URL)
	l := j.Lease(time.Minute)
	ctx := context.Background()
	a, err := l.Acquire(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := j.AppendFenced(ctx, l, "a", a, updates(1, 2)); err != nil || n != 2 {
		t.Fatalf("the holder's append = %d, %v; want 2 added", n, err)
	}
	if err := l.Release(ctx, "a", a); err != nil {
		t.Fatal(err)
	}
	if _, err := j.AppendFenced(ctx, l, "a", a, updates(3)); !errors.Is(err, redisstore.ErrLeaseLost) {
		t.Errorf("append after releasing: %v, want ErrLeaseLost", err)
	}
	b, err := l.Acquire(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		holder string
		token  int64
		want   error
	}{
		{"the old holder with its token", "a", a, redisstore.ErrLeaseLost},
		{"the old holder with the new token", "a", b, redisstore.ErrLeaseLost},
		{"the new holder with the old token", "b", a, redisstore.ErrLeaseLost},
		{"the new holder", "b", b, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := j.AppendFenced(ctx, l, tt.holder, tt.token, updates(4, 5))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("append = %v, want %v", err, tt.want)
			}
		})
	}
	if got := pendingIDs(t, j, 10); len(got) != 4 || got[0] != 1 || got[3] != 5 {
		t.Errorf("pending %v, want [1 2 4 5]: a refused batch wrote something", got)
	}
	// An append not fenced by the lease (the webhook's) is not refused by it.
	mustAppend(t, j, 1, update(6))
}
