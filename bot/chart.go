package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

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
	s := render.Series{Values: make([]float64, len(entries)), Labels: make([]string, len(entries))}
	for i, e := range entries {
		s.Values[i], s.Labels[i] = e.Value, e.Label
	}
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
	png, err := render.Render(ctx, s, render.Options{Kind: kind, Title: capitalize(what), YLabel: "value"})
	if err != nil {
		return chart{}, fmt.Errorf("draw %s chart of %d values: %w", kind, len(entries), err)
	}
	names := map[render.Kind]string{render.Line: "Line chart", render.Bar: "Bar chart", render.Histogram: "Histogram"}
	return chart{png: png, caption: names[kind] + " of " + what + "."}, nil
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
