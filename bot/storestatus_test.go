package bot_test

import (
	"strings"
	"testing"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
)

// TestStatusSaysTheStoreLostData: /status gains a line once user records vanished from the
// store (a FLUSHALL), and has none before: an operator reading it learns that Redis lost
// data, and what that meant for users.
func TestStatusSaysTheStoreLostData(t *testing.T) {
	tests := []struct {
		name     string
		vanished int64
		want     string // "" for no such line
	}{
		{"nothing vanished", 0, ""},
		{"a flush", 12, "store LOST DATA: 12 user records vanished (FLUSHALL?); those in memory were written back, others started afresh\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := bot.Snapshot{Store: bot.StoreStats{Kind: "durable"}, Runtime: actors.Stats{Vanished: tt.vanished}}
			got := s.String()
			if tt.want == "" && strings.Contains(got, "LOST DATA") || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("/status:\n%s\nwant the line %q", got, tt.want)
			}
		})
	}
}
