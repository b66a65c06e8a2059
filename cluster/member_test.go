//go:build cluster

package cluster

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/troupebot/troupe/cluster/wire"
	"log/slog"
)

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// recorder is a Handler that keeps what was forwarded to its member.
type recorder struct {
	mu      sync.Mutex
	keys    map[int64]int
	updates map[int64]bool // update ids taken, when not nil
}

func (r *recorder) Accept(key, updateID int64, raw []byte) error {
	if string(raw) == "refuse" {
		return fmt.Errorf("refused on purpose")
	}
	r.mu.Lock()
	r.keys[key]++
	if r.updates != nil {
		r.updates[updateID] = true
	}
	r.mu.Unlock()
	return nil
}

func (r *recorder) count() map[int64]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[int64]int, len(r.keys))
	for k, n := range r.keys {
		out[k] = n
	}
	return out
}

// startMembers starts n automanaged members on loopback that know each other.
func startMembers(t *testing.T, n int, idle ...time.Duration) ([]*Member, []*recorder) {
	t.Helper()
	manage := make([]int, n)
	var peers []string
	for i := range manage {
		manage[i] = freePort(t)
		peers = append(peers, "127.0.0.1:"+strconv.Itoa(manage[i]))
	}
	members := make([]*Member, n)
	recs := make([]*recorder, n)
	for i := range members {
		var idleFor time.Duration
		if len(idle) > 0 {
			idleFor = idle[0]
		}
		m, err := New(Config{Name: "test", Provider: Automanaged, Idle: idleFor, Addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), ManagePort: manage[i], Peers: peers, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &recorder{keys: map[int64]int{}}
		i := i
		if err := m.Start(context.Background(), recs[i], func() *wire.Status { return &wire.Status{Resident: int64(i)} }); err != nil {
			t.Fatal(err)
		}
		members[i] = m
		t.Cleanup(m.Leave)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, m := range members {
		if err := m.WaitMembers(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	return members, recs
}

func TestForwardPlacesEachKeyOnOneMember(t *testing.T) {
	members, recs := startMembers(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const keys = 300
	// Every member forwards every key: wherever an update arrives, it reaches the key's one
	// member.
	for i, m := range members {
		for k := int64(1); k <= keys; k++ {
			if err := m.Forward(ctx, k, int64(i)*keys+k, []byte("{}")); err != nil {
				t.Fatalf("member %d: %v", i, err)
			}
		}
	}
	owners := map[int64]int{}
	for i, r := range recs {
		got := r.count()
		t.Logf("member %d hosts %d of %d keys", i, len(got), keys)
		for k, n := range got {
			if prev, ok := owners[k]; ok {
				t.Errorf("key %d on members %d and %d", k, prev, i)
			}
			owners[k] = i
			if n != len(members) {
				t.Errorf("key %d got %d updates on member %d, want %d", k, n, i, len(members))
			}
		}
		if len(got) == 0 {
			t.Errorf("member %d hosts no key of %d", i, keys)
		}
	}
	if len(owners) != keys {
		t.Errorf("%d keys placed, want %d", len(owners), keys)
	}
	sts := members[0].Statuses(2 * time.Second)
	if len(sts) != 3 {
		t.Fatalf("statuses from %d members, want 3: %v", len(sts), sts)
	}
}

func TestForwardRefusedIsTriedUntilContextEnds(t *testing.T) {
	members, _ := startMembers(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := members[0].Forward(ctx, 7, 1, []byte("refuse"))
	if err == nil {
		t.Fatal("a refused update was taken")
	}
	if st := members[0].Stats(); st.Refusals < 2 {
		t.Errorf("refusals %d, want the forward tried more than once: %v", st.Refusals, err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, c := range []Config{
		{Provider: Automanaged, Addr: "127.0.0.1:1", Peers: []string{"x:1"}},
		{Name: "x", Provider: "consul", Addr: "127.0.0.1:1"},
		{Name: "x", Provider: Automanaged, Addr: "127.0.0.1:1"},
		{Name: "x", Provider: Automanaged, Addr: "127.0.0.1", Peers: []string{"x:1"}},
		{Name: "x", Provider: Automanaged, Addr: ":1", Peers: []string{"x:1"}},
		{Name: "x", Provider: Kubernetes, Addr: "127.0.0.1:99999"},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) took it", c)
		}
	}
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// TestForwardAcrossPassivation forwards to identities that passivate between one update and
// the next (an idle of 5 ms): a Deliver that reaches an identity after its PoisonPill is
// dropped unanswered, and the forward must look the identity up again and get through.
func TestForwardAcrossPassivation(t *testing.T) {
	members, recs := startMembers(t, 3, 5*time.Millisecond)
	for _, r := range recs {
		r.updates = map[int64]bool{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const keys, rounds = 20, 10
	id := int64(0)
	for round := 0; round < rounds; round++ {
		if round%2 == 1 {
			// Every other round, on identities passivated after the last; the others race
			// their passivation.
			waitPassivated(t, members)
		}
		for k := int64(1); k <= keys; k++ {
			id++
			if err := members[int(id)%len(members)].Forward(ctx, k, id, []byte("{}")); err != nil {
				t.Fatalf("update %d of key %d: %v", id, k, err)
			}
		}
	}
	for u := int64(1); u <= id; u++ {
		taken := false
		for _, r := range recs {
			r.mu.Lock()
			taken = taken || r.updates[u]
			r.mu.Unlock()
		}
		if !taken {
			t.Errorf("update %d was forwarded and never taken", u)
		}
	}
	var retries, activations int64
	for _, m := range members {
		retries += m.Stats().Retries
		activations += m.Stats().Activations
	}
	if activations <= keys {
		t.Errorf("%d activations of %d keys: the identities never passivated, so nothing was tested", activations, keys)
	}
	t.Logf("%d updates forwarded across %d activations of %d keys, %d tries again", id, activations, keys, retries)
}

// waitPassivated waits until no member hosts an identity.
func waitPassivated(t *testing.T, members []*Member) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range members {
		if err := m.waitHosted(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// waitHosted waits until this member hosts at most n identities, or ctx ends.
func (m *Member) waitHosted(ctx context.Context, n int64) error {
	return m.waitFor(ctx, func() error {
		if m.hosted > n {
			return fmt.Errorf("cluster: %d identities still hosted", m.hosted)
		}
		return nil
	})
}
