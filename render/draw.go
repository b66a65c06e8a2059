package render

import (
	"image/color"
	"math"
	"strconv"
	"strings"

	"git.sr.ht/~sbinet/gg"
	xdraw "golang.org/x/image/draw"
	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Sizes, in points at the chart's scale. At the default 800x500 (96 dpi) a
// point is 4/3 pixel: tick labels are 17 px high, which a phone showing the
// photo at full width still renders legibly; matplotlib's default is 14 px.
const (
	titleSize  = 18
	labelSize  = 14
	tickSize   = 13
	lineWidth  = 2.5
	axisWidth  = 1
	gridWidth  = 1
	markerSize = 3.5
	sliver     = 2 // the least height of a drawn bar
	margin     = 10
)

var (
	sans = font.Font{Typeface: "Liberation", Variant: "Sans"}
	bold = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
)

// draw renders the chart into f.rgba. Text and line sizes are in points, and
// the canvas resolution grows with the image, so a larger image is the same
// chart in finer detail rather than the same text on a wider field.
func (c *chart) draw(f *frame) {
	w, h := f.rgba.Rect.Dx(), f.rgba.Rect.Dy()
	scale := max(0.5, min(float64(w)/DefaultWidth, float64(h)/DefaultHeight))
	// vgimg.UseImage would copy the image into a fresh one; a context over
	// the pooled image draws in place.
	gc := gg.NewContextForRGBA(&f.rgba)
	gc.SetLineCapButt()
	gc.InvertY()
	// Glyphs are drawn as masks through an affine transform that is only ever
	// a translation or a quarter turn here: nearest-neighbour places them on
	// whole pixels, which is sharper than bilinear and a third of its cost.
	gc.SetInterpolator(xdraw.NearestNeighbor)
	cv := vgimg.NewWith(
		vgimg.UseImageWithContext(&f.rgba, gc),
		vgimg.UseDPI(int(math.Round(vgimg.DefaultDPI*scale))),
	) // and fills it with white, our background
	dc := draw.New(cv)
	dc = draw.Crop(dc, margin, -margin, margin, -margin)
	c.plot(dc.Size(), gc).Draw(dc)
}

// plot builds the gonum plot for a canvas of the given size in points, drawn
// through gc.
func (c *chart) plot(size vg.Point, gc *gg.Context) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = nil // vgimg already filled the image
	p.Title.TextStyle.Font = font.From(bold, titleSize)
	p.Title.TextStyle.Color = inkText
	p.Title.Padding = 10
	p.Title.Text = fitText(p.Title.TextStyle, c.title, size.X)

	styleAxis(&p.X)
	styleAxis(&p.Y)
	p.X.Tick.Label.YAlign = draw.YTop

	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal = draw.LineStyle{Color: inkGrid, Width: gridWidth}
	p.Add(grid)

	switch {
	case c.bars != nil:
		p.Add(&bars{bars: c.bars, hist: c.hist})
	default:
		xy := make(plotter.XYs, len(c.xs))
		for i := range xy {
			xy[i].X, xy[i].Y = c.xs[i], c.ys[i]
		}
		p.Add(&seriesLine{xy: xy, gc: gc})
		if len(xy) <= markerPoints {
			p.Add(&plotter.Scatter{XYs: xy, GlyphStyle: draw.GlyphStyle{
				Color: inkSeries, Radius: markerSize, Shape: draw.CircleGlyph{},
			}})
		}
	}
	// Ranges are set after Add, which would widen them to the data.
	p.X.Min, p.X.Max = c.xMin, c.xMax
	p.Y.Min, p.Y.Max = c.yMin, c.yMax

	yStep := 0.0
	yExp := c.valueExp
	if c.hist {
		yStep, yExp = 1, 0 // counts
	}
	yTicks, exp := numericTicks(c.yMin, c.yMax, min(10, int(size.Y/60)), yStep, yExp)
	p.Y.Tick.Marker = plot.ConstantTicks(yTicks)
	yLabel := c.yLabel
	if c.hist && yLabel == "" {
		yLabel = "count"
	}
	// The Y label is centred on the data area, which the title and X axis
	// make shorter than the canvas.
	p.Y.Label.Text = fitText(p.Y.Label.TextStyle, withExp(yLabel, exp), 0.7*size.Y)

	xExp := 0
	xTarget := min(10, max(2, int(size.X/80)))
	if c.bars != nil && !c.hist && c.xMax <= labelledBars+1 {
		xTarget = int(c.xMax) // a few bars: number each one if that fits
	}
	switch {
	case c.barLabels != nil:
		c.barTicks(p, size)
	case c.times:
		p.X.Tick.Marker = plot.ConstantTicks(fitTicks(p.X.Tick.Label, size.X, xTarget, func(target int) []plot.Tick {
			vals, labels := timeTicks(c.xMin, c.xMax, c.loc, target)
			return ticksOf(vals, labels)
		}))
	case c.hist:
		p.X.Tick.Marker = plot.ConstantTicks(fitTicks(p.X.Tick.Label, size.X, xTarget, func(target int) []plot.Tick {
			t, e := numericTicks(c.xMin, c.xMax, target, 0, c.valueExp)
			xExp = e
			return t
		}))
	default:
		p.X.Tick.Marker = plot.ConstantTicks(fitTicks(p.X.Tick.Label, size.X, xTarget, func(target int) []plot.Tick {
			// Index axes tick only real positions, 1..n.
			vals, step := niceTicks(max(1, math.Ceil(c.xMin)), c.xMax, target, 1)
			if c.labels == nil {
				labels, _ := formatTicks(vals, step, false)
				return ticksOf(vals, labels)
			}
			labels := make([]string, len(vals))
			for i, v := range vals {
				if at := int(v) - 1; at < len(c.labels) {
					labels[i] = userText(c.labels[at], maxTickRunes)
				}
			}
			return ticksOf(vals, labels)
		}))
	}
	p.X.Label.Text = fitText(p.X.Label.TextStyle, c.xNote(xExp), 0.9*size.X)
	return p
}

func styleAxis(a *plot.Axis) {
	a.Padding = 0
	a.LineStyle = draw.LineStyle{Color: inkText, Width: axisWidth}
	a.Label.TextStyle.Font = font.From(sans, labelSize)
	a.Label.TextStyle.Color = inkText
	a.Label.Padding = 6
	a.Tick.LineStyle = draw.LineStyle{Color: inkText, Width: axisWidth}
	a.Tick.Length = 5
	a.Tick.Label.Font = font.From(sans, tickSize)
	a.Tick.Label.Color = inkText
}

// numericTicks returns about target round ticks over [lo, hi], no closer than
// minStep, labelled by formatTicks. A non-zero exp says the values are scaled
// by 10^-exp; the labels then always carry a shared exponent, returned for the
// axis label.
func numericTicks(lo, hi float64, target int, minStep float64, exp int) ([]plot.Tick, int) {
	vals, step := niceTicks(lo, hi, max(target, 2), minStep)
	labels, e := formatTicks(vals, step, exp != 0)
	return ticksOf(vals, labels), e + exp
}

func ticksOf(vals []float64, labels []string) []plot.Tick {
	ts := make([]plot.Tick, len(vals))
	for i := range ts {
		ts[i] = plot.Tick{Value: vals[i], Label: labels[i]}
	}
	return ts
}

// withExp adds a shared power of ten to an axis label.
func withExp(label string, exp int) string {
	if exp == 0 {
		return label
	}
	e := "×1e" + strconv.Itoa(exp)
	if label == "" {
		return e
	}
	return label + " (" + e + ")"
}

// fitTicks asks gen for fewer and fewer ticks, from target down, until their
// labels fit side by side in width with a gap between them.
func fitTicks(sty text.Style, width vg.Length, target int, gen func(target int) []plot.Tick) []plot.Tick {
	gap := sty.Width("00")
	for {
		ts := gen(target)
		var total vg.Length
		for _, t := range ts {
			total += sty.Width(t.Label) + gap
		}
		if total <= width || target <= 2 {
			return ts
		}
		target--
	}
}

// barTicks labels each bar, turning the labels upright when they do not fit
// side by side, and labelling only every k-th bar when even upright labels
// would overlap.
func (c *chart) barTicks(p *plot.Plot, size vg.Point) {
	slot := size.X / vg.Length(c.xMax-c.xMin)
	widest := vg.Length(0)
	for _, l := range c.barLabels {
		widest = max(widest, p.X.Tick.Label.Width(l))
	}
	upright := widest > 0.9*slot
	every := 1
	if upright {
		p.X.Tick.Label.Rotation = math.Pi / 2
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
		lineHeight := p.X.Tick.Label.FontExtents().Height
		every = max(1, int(math.Ceil(float64(lineHeight*1.2/slot))))
	}
	var ts []plot.Tick
	for i, l := range c.barLabels {
		if i%every != 0 {
			continue
		}
		if upright {
			// gonum anchors upright labels a descent too high, over the
			// tick mark; trailing spaces push the text clear of it.
			l += "  "
		}
		ts = append(ts, plot.Tick{Value: float64(i + 1), Label: l})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ts)
}

// userText prepares text a user wrote for drawing: cleaned and cut to
// maxRunes by cleanText, with characters the chart font has no glyph for
// (CJK, emoji, most scripts beyond Latin, Greek, Cyrillic and Hebrew) shown
// as a box. gg would skip them silently, and a label in Japanese would vanish.
func userText(s string, maxRunes int) string {
	s = cleanText(s, maxRunes)
	f := font.DefaultCache.Lookup(font.From(sans, tickSize), tickSize)
	var buf sfnt.Buffer
	missing := func(r rune) bool {
		i, err := f.Face.GlyphIndex(&buf, r)
		return err != nil || i == 0
	}
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 && missing(r) }) {
		return s
	}
	box := '□'
	if missing(box) {
		box = '?'
	}
	return strings.Map(func(r rune) rune {
		if r >= 0x80 && missing(r) {
			return box
		}
		return r
	}, s)
}

// fitText shortens s with an ellipsis until it is at most width wide in sty.
func fitText(sty text.Style, s string, width vg.Length) string {
	if s == "" || sty.Width(s) <= width {
		return s
	}
	runes := []rune(s)
	lo, hi := 0, len(runes) // the longest prefix that fits is in [lo, hi)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if sty.Width(string(runes[:mid])+"…") <= width {
			lo = mid
		} else {
			hi = mid
		}
	}
	return string(runes[:lo]) + "…"
}

// seriesLine draws the line of a line chart. freetype's rasterizer keeps each
// pixel row's cells in a sorted linked list, so one stroke of a long jagged
// line costs time quadratic in its length (15 ms for 800 noisy points here);
// stroking it in short runs keeps every row short. Round caps where runs meet
// stand in for the round joins of a single stroke.
type seriesLine struct {
	xy plotter.XYs
	gc *gg.Context
}

// strokeRun is the number of segments stroked at once.
const strokeRun = 16

func (l *seriesLine) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	pts := make([]vg.Point, len(l.xy))
	for i, xy := range l.xy {
		pts[i] = vg.Point{X: trX(xy.X), Y: trY(xy.Y)}
	}
	sty := draw.LineStyle{Color: inkSeries, Width: lineWidth}
	l.gc.SetLineCapRound()
	defer l.gc.SetLineCapButt()
	for _, line := range c.ClipLinesXY(pts) {
		for i := 0; i+1 < len(line); i += strokeRun {
			c.StrokeLines(sty, line[i:min(i+strokeRun+1, len(line))])
		}
	}
}

// bars draws bar-chart bars and histogram bins: filled rectangles from zero,
// histogram bins separated by a thin gap of background, and a zero line when
// bars go both ways.
type bars struct {
	bars []bar
	hist bool
}

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	zero := trY(min(max(0, p.Y.Min), p.Y.Max))
	gap := vg.Length(0)
	if b.hist {
		gap = 0.75
	}
	for _, r := range b.bars {
		x0, x1 := trX(r.x0)+gap, trX(r.x1)-gap
		if x1-x0 < 1 {
			// Keep very narrow bars visible.
			mid := (x0 + x1) / 2
			x0, x1 = mid-0.5, mid+0.5
		}
		y := trY(r.y)
		if d := y - zero; d > -sliver && d < sliver {
			// A zero (or tiny) value still gets a sliver, so it reads
			// differently from a missing one.
			y = zero + sliver
			if r.y < 0 {
				y = zero - sliver
			}
		}
		pts := []vg.Point{{X: x0, Y: zero}, {X: x1, Y: zero}, {X: x1, Y: y}, {X: x0, Y: y}}
		c.FillPolygon(inkSeries, c.ClipPolygonXY(pts))
	}
	if p.Y.Min < 0 && p.Y.Max > 0 {
		c.StrokeLine2(draw.LineStyle{Color: color.Color(inkText), Width: axisWidth}, c.Min.X, zero, c.Max.X, zero)
	}
}
