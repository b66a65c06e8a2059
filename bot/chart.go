package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot/outbound"
	"github.com/troupebot/troupe/render"
)

// drawChart is the chart pool's work: it runs on a pool worker, never on the user's actor.
func drawChart(ctx context.Context, c *Chart) ([]byte, error) {
	png, err := render.Render(ctx, c.Series, c.Options)
	if err != nil {
		return nil, fmt.Errorf("draw %s chart of %d values: %w", c.Options.Kind, len(c.Series.Values), err)
	}
	return png, nil
}

// Replies for charts that could not be sent; the user reads these.
const (
	ChartBusyText   = "I'm drawing a lot of charts right now. Please try again in a few seconds."
	ChartSlowText   = "That chart took too long to draw. Try one with fewer values."
	ChartFailedText = "Sorry, drawing that chart failed. Please try again."
	chartUpload     = "upload_photo"
	chartPNGName    = "chart.png"
)

// performChart sends "uploading a photo", reserves the photo's place in the chat's line and
// hands the drawing to the chart pool: the user's actor moves on at once, and the chat's
// later replies wait behind the photo, so it arrives where it was asked for.
func (b *Bot) performChart(p place, a Action, finish func(error)) {
	err := b.sender.Send(outbound.Job{Chat: p.chat, Done: finish,
		Call: b.callMethod("sendChatAction", sendChatAction{ChatID: p.chat, Action: chartUpload, Business: p.business})})
	if err != nil {
		finish(err)
	}
	slot, err := b.sender.Reserve(p.chat, finish)
	if err != nil {
		finish(err)
		return
	}
	if a.Chart == nil {
		slot.Fill(b.sendText(p, ChartFailedText, Action{}))
		return
	}
	err = b.charts.Submit(a.Chart, func(png []byte, err error) { slot.Fill(b.chartReply(p, a, png, err)) })
	if err != nil {
		slot.Fill(b.sendText(p, ChartBusyText, Action{}))
	}
}

func (b *Bot) chartReply(p place, a Action, png []byte, err error) outbound.Call {
	if err != nil {
		b.log.Warn("chart not drawn", slog.Int64("chat", p.chat), slog.Any("err", err))
		if errors.Is(err, context.DeadlineExceeded) {
			return b.sendText(p, ChartSlowText, Action{})
		}
		if !errors.Is(err, actors.ErrWorkerCrashed) {
			b.log.Error("chart failed", slog.Int64("chat", p.chat), slog.Any("err", err))
		}
		return b.sendText(p, ChartFailedText, Action{})
	}
	a.Kind = SendPhoto
	return b.sendFile(p, a, chartPNGName, png)
}
