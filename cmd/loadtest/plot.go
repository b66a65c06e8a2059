package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"

	"github.com/troupebot/troupe/render"
)

const plotWidth, plotHeight = 900, 450

// plot draws the run second by second, throughput above latency, into one PNG at path.
// The harness may write files (the bot never does); it does only when asked.
func plot(ctx context.Context, path string, r *Report) error {
	if len(r.Series) == 0 {
		return errors.New("-plot: nothing to draw: the load lasted under a second")
	}
	throughput := make([]float64, len(r.Series))
	latency := make([]float64, len(r.Series))
	for i, s := range r.Series {
		throughput[i], latency[i] = float64(s.Answered), s.P99
	}
	charts := []struct {
		values        []float64
		title, ylabel string
	}{
		{throughput, fmt.Sprintf("Updates answered per second (%s, %d users)", r.Bot, r.Users), "updates/s"},
		{latency, "Latency p99 per second", "ms"},
	}
	out := image.NewRGBA(image.Rect(0, 0, plotWidth, plotHeight*len(charts)))
	for i, c := range charts {
		b, err := render.Render(ctx, render.Series{Values: c.values}, render.Options{
			Kind: render.Line, Title: c.title, XLabel: "second of the load", YLabel: c.ylabel,
			Width: plotWidth, Height: plotHeight,
		})
		if err != nil {
			return fmt.Errorf("-plot: draw %q: %w", c.title, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("-plot: decode %q: %w", c.title, err)
		}
		draw.Draw(out, image.Rect(0, i*plotHeight, plotWidth, (i+1)*plotHeight), img, image.Point{}, draw.Src)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return fmt.Errorf("-plot: encode: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("-plot: %w", err)
	}
	return nil
}
