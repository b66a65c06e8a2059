package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/bot/outbound"
	"github.com/troupebot/troupe/render"
)

// chart is a rendered chart on its way to sendPhoto.
type chart struct {
	png     []byte
	caption string
}

// drawChart is the chart pool's work: it runs on a pool worker, never on the user's actor,
// so copying the newest values out of the persistent series costs the user nothing.
func drawChart(ctx context.Context, req *notebook.ChartRequest) (chart, error) {
	entries := req.Series.Tail(req.Last)
	s := seriesOf(entries)
	kind, err := render.ParseKind(req.Kind)
	if err != nil {
		return chart{}, err
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
	png, err := render.Render(ctx, s, opt)
	if err != nil {
		return chart{}, fmt.Errorf("draw %s chart of %d values: %w", kind, len(entries), err)
	}
	names := map[render.Kind]string{render.Line: "Line chart", render.Bar: "Bar chart", render.Histogram: "Histogram"}
	return chart{png: png, caption: names[kind] + " of " + what + "."}, nil
}

// seriesOf turns entries into what render draws: values over the times they were recorded,
// which is what a user reading a chart of their notebook wants to see. Telegram gives no
// user's time zone, so times are in UTC, and the axis says so. Entries without a date, or
// all recorded in one second (values pasted at once), are drawn by position instead: on a
// time axis they would stack on one vertical line. Labels go along only when some entry has
// one, so unlabelled bars are named by their times.
func seriesOf(entries []notebook.Entry) render.Series {
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

// Replies for charts that could not be sent; the user reads these.
const (
	chartBusy    = "I'm drawing a lot of charts right now. Please try /chart again in a few seconds."
	chartSlow    = "That chart took too long to draw. Try fewer values, e.g. /chart 100."
	chartFailed  = "Sorry, drawing that chart failed. Please try again."
	chartUpload  = "upload_photo"
	chartPNGName = "chart.png"
)

// performChart sends "uploading a photo", reserves the photo's place in the chat's line and
// hands the drawing to the chart pool: the user's actor moves on at once, and the chat's
// later replies wait behind the photo, so it arrives where it was asked for.
func (b *Bot) performChart(p place, req *notebook.ChartRequest, finish func(error)) {
	err := b.sender.Send(outbound.Job{Chat: p.chat, Done: finish, Call: func(ctx context.Context) error {
		_, err := b.api.SendChatActionWithContext(ctx, p.chat, chartUpload, nil)
		return err
	}})
	if err != nil {
		finish(err)
	}
	slot, err := b.sender.Reserve(p.chat, finish)
	if err != nil {
		finish(err)
		return
	}
	err = b.charts.Submit(req, func(c chart, err error) { slot.Fill(b.chartReply(p, c, err)) })
	if err != nil {
		slot.Fill(b.sendText(p, chartBusy, nil))
	}
}

func (b *Bot) chartReply(p place, c chart, err error) outbound.Call {
	if err != nil {
		b.log.Warn("chart not drawn", slog.Int64("chat", p.chat), slog.Any("err", err))
		if errors.Is(err, context.DeadlineExceeded) {
			return b.sendText(p, chartSlow, nil)
		}
		if !errors.Is(err, actors.ErrWorkerCrashed) {
			b.log.Error("chart failed", slog.Int64("chat", p.chat), slog.Any("err", err))
		}
		return b.sendText(p, chartFailed, nil)
	}
	opts := &gotgbot.SendPhotoOpts{Caption: c.caption}
	if p.message != 0 {
		opts.ReplyParameters = &gotgbot.ReplyParameters{MessageId: p.message, AllowSendingWithoutReply: true}
	}
	return func(ctx context.Context) error {
		// A fresh reader each time: a retried request must send the whole file again.
		_, err := b.api.SendPhotoWithContext(ctx, p.chat, gotgbot.InputFileByReader(chartPNGName, bytes.NewReader(c.png)), opts)
		return err
	}
}
