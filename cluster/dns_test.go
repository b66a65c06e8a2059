//go:build cluster

package cluster

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/troupebot/troupe/cluster/wire"
)

// TestDNSMembersFindEachOther runs three members as Render runs a scaled service: one name
// resolves to every instance's address, and every instance serves its health endpoint on
// the same port. Here the addresses are 127.0.0.1-3 (Linux routes all of 127/8 to the
// loopback), and the name is resolved by a function that answers them, standing in for the
// DNS server only; the probing and the cluster are real.
func TestDNSMembersFindEachOther(t *testing.T) {
	hosts := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	lookup := func(_ context.Context, name string) ([]string, error) {
		if name != "troupe-discovery" {
			t.Errorf("resolved %q", name)
		}
		return hosts, nil
	}
	manage := freePort(t)
	var members []*Member
	recs := make([]*recorder, len(hosts))
	for i, h := range hosts {
		m, err := New(Config{Name: "dns", Provider: DNS, Addr: h + ":" + strconv.Itoa(freePort(t)), ManagePort: manage,
			Peers: []string{"troupe-discovery"}, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), lookup: lookup})
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &recorder{keys: map[int64]int{}}
		if err := m.Start(context.Background(), recs[i], func() *wire.Status { return &wire.Status{} }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Leave)
		members = append(members, m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, m := range members {
		if err := m.WaitMembers(ctx, len(hosts)); err != nil {
			t.Fatal(err)
		}
	}
	for k := int64(1); k <= 60; k++ {
		if err := members[0].Forward(ctx, k, k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	placed := 0
	for i, r := range recs {
		n := len(r.count())
		placed += n
		if n == 0 {
			t.Errorf("member %d (%s) hosts none of 60 keys", i, hosts[i])
		}
	}
	if placed != 60 {
		t.Errorf("%d keys placed, want 60", placed)
	}
}

func TestDNSOwnAddress(t *testing.T) {
	for _, tc := range []struct {
		resolved []string
		want     string
	}{
		{[]string{"192.0.2.7", "127.0.0.1"}, "127.0.0.1"},
		{[]string{"192.0.2.7"}, ""},
	} {
		p := newDNSProvider("svc", 6330, time.Second, slog.New(slog.DiscardHandler))
		p.lookup = func(context.Context, string) ([]string, error) { return tc.resolved, nil }
		got, err := p.ownAddress(context.Background())
		if tc.want == "" {
			if err == nil {
				t.Errorf("%v: own address %q, want an error (none is this machine's)", tc.resolved, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: own address %q, %v; want %q", tc.resolved, got, err, tc.want)
		}
	}
}
