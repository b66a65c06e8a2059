package bot

import (
	"strings"
	"testing"
)

func TestClusterStatusLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   ClusterStats
		want []string
	}{
		{name: "one process", st: ClusterStats{}, want: nil},
		{
			name: "three members",
			st: ClusterStats{On: true, Self: "memberAAAAAA", Members: 3, Forwards: 120, Retries: 4, Hosted: 50, Shares: []MemberShare{
				{ID: "memberAAAAAA", Resident: 50, Handled: 500, IsSelf: true},
				{ID: "memberBBBBBB", Resident: 30, Handled: 300, Polling: true},
				{ID: "memberCCCCCC", Resident: 20, Handled: 200},
			}},
			want: []string{
				"cluster: 3 members · 120 forwarded · 4 retried · 50 users here",
				"memberAA (this one): 50 resident (50%) · 500 handled",
				"memberBB (polls): 30 resident (30%) · 300 handled",
				"memberCC: 20 resident (20%) · 200 handled",
			},
		},
		{
			name: "a member not answering",
			st:   ClusterStats{On: true, Members: 2, Shares: []MemberShare{{ID: "a", IsSelf: true, Polling: true}}},
			want: []string{"cluster: 2 members", "a (this one, polls): 0 resident (0%)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.st.String()
			if tc.want == nil && got != "" {
				t.Fatalf("a process on its own shows %q", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("status lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
