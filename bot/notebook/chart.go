package notebook

import (
	"fmt"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/render"
)

// ChartRequest asks for a chart of the newest Last values of Series (all when Last is 0).
// Each Entry's At goes with it: line and bar charts show the values over the times they
// were recorded.
type ChartRequest struct {
	Kind   string // "line", "bar" or "hist"
	Last   int
	Series Series
}

// action turns the request into the edge's chart action: the series to draw, its title
// and axes, and the caption. Copying the newest values out of the persistent series costs
// the user's actor O(Last), once per /chart.
func (req *ChartRequest) action() bot.Action {
	entries := req.Series.Tail(req.Last)
	s := seriesOf(entries)
	kind, err := render.ParseKind(req.Kind)
	if err != nil {
		kind = render.Line // parseChart knows no other names
	}
	what := fmt.Sprintf("your last %d values", len(entries))
	if len(entries) == req.Series.Len() {
		what = fmt.Sprintf("all your %d values", len(entries))
	}
	if len(entries) == 1 {
		what = "your only value"
	}
	opt := render.Options{Kind: kind, Title: capitalize(what), YLabel: "value"}
	if s.Times != nil && kind == render.Line {
		// Only a line chart's axis is always times; bars show labels, times or positions.
		opt.XLabel = "recorded (UTC)"
	}
	names := map[render.Kind]string{render.Line: "Line chart", render.Bar: "Bar chart", render.Histogram: "Histogram"}
	return bot.ChartOf(s, opt, names[kind]+" of "+what+".")
}

// seriesOf turns entries into what render draws: values over the times they were recorded,
// which is what a user reading a chart of their notebook wants to see. Telegram gives no
// user's time zone, so times are in UTC, and the axis says so. Entries without a date, or
// all recorded in one second (values pasted at once), are drawn by position instead: on a
// time axis they would stack on one vertical line. Labels go along only when some entry has
// one, so unlabelled bars are named by their times.
func seriesOf(entries []Entry) render.Series {
	s := render.Series{Values: make([]float64, len(entries))}
	labelled, dated, spread := false, true, false
	for i, e := range entries {
		s.Values[i] = e.Value
		labelled = labelled || e.Label != ""
		dated = dated && e.At > 0
		spread = spread || e.At != entries[0].At
	}
	if labelled {
		s.Labels = make([]string, len(entries))
		for i, e := range entries {
			s.Labels[i] = e.Label
		}
	}
	if dated && spread {
		s.Times = make([]time.Time, len(entries))
		for i, e := range entries {
			s.Times[i] = time.Unix(e.At, 0).UTC()
		}
	}
	return s
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
