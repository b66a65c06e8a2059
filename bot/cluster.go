package bot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/troupebot/troupe/bot/intake"
)

// Cluster is this process's membership of a cluster of bot processes, as the edge uses it
// (cmd/bot adapts cluster.Member): the updates this process journals are forwarded to the
// member that hosts their user, and the ones forwarded here come in through Bot.Accept.
type Cluster interface {
	intake.Forwarder
	// Leave takes this process out of the cluster, so that its users are placed elsewhere
	// and nothing is forwarded here any more; the drain calls it first.
	Leave()
	// Stats returns this member's figures; with shares, also every member's share of the
	// users, asked of each now (for /status, not for every /metrics scrape).
	Stats(shares bool) ClusterStats
}

// ClusterStats is this process's place in its cluster; zero outside one.
type ClusterStats struct {
	On                          bool
	Self                        string // this member's id
	Members                     int    // members this one knows of
	Forwards, Retries, Refusals int64  // updates forwarded, tries that failed, refusals among them
	Hosted                      int64  // user identities active on this member
	Shares                      []MemberShare
}

// MemberShare is one member's share of the users, as it answered.
type MemberShare struct {
	ID              string
	Resident        int64 // user actors in its memory
	Handled         int64 // updates its runtime committed since it started
	Polling, IsSelf bool
}

// Accept takes an update another member forwarded here (cluster.Handler): it returns once
// this process's runtime has it.
func (b *Bot) Accept(_, _ int64, raw []byte) error {
	switch {
	case b.cfg.Cluster == nil:
		return errors.New("bot: not a cluster member")
	case b.webhook != nil:
		return b.webhook.Accept(raw)
	default:
		return b.poller.Accept(raw)
	}
}

// MembersLeft tells the bot that members left the cluster: the updates they had in hand and
// did not finish are journaled, and a replay hands them to their users' new members.
func (b *Bot) MembersLeft() {
	if b.webhook != nil {
		b.webhook.Replay()
	} else {
		b.poller.Replay()
	}
}

func (c ClusterStats) String() string {
	if !c.On {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "cluster: %d members · %d forwarded · %d retried · %d users here\n", c.Members, c.Forwards, c.Retries, c.Hosted)
	var total int64
	for _, s := range c.Shares {
		total += s.Resident
	}
	for _, s := range c.Shares {
		share := 0.0
		if total > 0 {
			share = 100 * float64(s.Resident) / float64(total)
		}
		var tags []string
		if s.IsSelf {
			tags = append(tags, "this one")
		}
		if s.Polling {
			tags = append(tags, "polls")
		}
		tag := ""
		if len(tags) > 0 {
			tag = " (" + strings.Join(tags, ", ") + ")"
		}
		id := s.ID
		if len(id) > 8 {
			id = id[:8]
		}
		fmt.Fprintf(&sb, "  %s%s: %d resident (%.0f%%) · %d handled\n", id, tag, s.Resident, share, s.Handled)
	}
	return sb.String()
}
