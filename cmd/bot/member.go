package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/cluster"
	"github.com/troupebot/troupe/cluster/wire"
)

// member is this process's cluster membership as the bot uses it (bot.Cluster).
type member struct {
	*cluster.Member
}

var _ bot.Cluster = (*member)(nil)

func newMember(cfg config, log *slog.Logger) (*member, error) {
	m, err := cluster.New(cluster.Config{
		Name: cfg.cluster, Provider: cfg.clusterProvider, Addr: cfg.clusterAddr, ManagePort: cfg.clusterManagePort,
		Peers: cluster.ParsePeers(cfg.clusterPeers), Idle: cfg.idleTimeout, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("-cluster: %w", err)
	}
	return &member{m}, nil
}

// start joins the cluster with b taking the updates forwarded here.
func (m *member) start(ctx context.Context, b *bot.Bot) error {
	m.OnLeave(func(int) { b.MembersLeft() })
	return m.Start(ctx, b, func() *wire.Status {
		s := b.Snapshot()
		return &wire.Status{Resident: s.Runtime.Resident, Handled: s.Runtime.Handled, Polling: s.Lease.Held}
	})
}

// sharesWithin bounds asking every member for its share, for /status.
const sharesWithin = time.Second

func (m *member) Stats(shares bool) bot.ClusterStats {
	st := m.Member.Stats()
	out := bot.ClusterStats{Self: m.ID(), Members: st.Members, Forwards: st.Forwards, Retries: st.Retries, Refusals: st.Refusals, Hosted: st.Hosted}
	if shares {
		for _, s := range m.Statuses(sharesWithin) {
			out.Shares = append(out.Shares, bot.MemberShare{ID: s.Member, Resident: s.Resident, Handled: s.Handled, Polling: s.Polling, IsSelf: s.Member == out.Self})
		}
	}
	return out
}
