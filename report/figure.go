package report

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// dpi is the resolution of every PNG: sizes are given in pixels.
const dpi = 96

// pt converts pixels to points.
func pt(px int) vg.Length { return vg.Length(px) * 72 / dpi }

// Text sizes, in points.
const (
	titleSize  = 13
	panelSize  = 10
	labelSize  = 9
	tickSize   = 8
	legendSize = 8
)

// legendItem is one legend entry drawn below the panels.
type legendItem struct {
	name   string
	thumbs []plot.Thumbnailer
}

// figure is one PNG: a title, a grid of panels and a legend below them,
// so that the legend never covers data.
type figure struct {
	title  string
	width  int // pixels
	panelH int // pixels per row of panels
	plots  [][]*panel
	legend []legendItem
	// cells are the cells drawn in their own colours; no other legend of
	// the figure may use a colour close to theirs.
	cells []*cellView
	// labelCol, for a single row of panels whose first panel carries long
	// category labels on its y axis, is the width of those labels: the
	// first panel is widened by it so that every data area has the same
	// width.
	labelCol vg.Length
}

// chart is a rendered figure.
type chart struct {
	File          string // PNG file name
	Title         string
	Caption       string
	Width, Height int // pixels
	png           []byte
}

// textStyle returns a text style of the default font at size points.
func textStyle(size vg.Length) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, size),
		Handler: plot.DefaultTextHandler,
	}
}

// legendLayout returns the columns of the legend and its height in points
// for a figure width of w points.
func (f *figure) legendLayout(w vg.Length) (cols, rows int, colW, rowH, h vg.Length) {
	if len(f.legend) == 0 {
		return 0, 0, 0, 0, 0
	}
	sty := textStyle(legendSize)
	var widest vg.Length
	for _, it := range f.legend {
		widest = max(widest, sty.Rectangle(it.name).Max.X)
	}
	colW = widest + 20 + 18 // thumbnail, gaps
	cols = max(1, int((w-20)/colW))
	cols = min(cols, len(f.legend))
	rows = (len(f.legend) + cols - 1) / cols
	rowH = sty.Rectangle("Xg").Max.Y + 3
	return cols, rows, colW, rowH, vg.Length(rows)*rowH + 12
}

// render draws the figure into a PNG.
func (f *figure) render() (c chart, err error) {
	defer func() {
		// gonum/plot panics on a few degenerate inputs (e.g. non-positive
		// values on a log axis); report them as errors instead.
		if r := recover(); r != nil {
			err = fmt.Errorf("report: drawing %q: %v", f.title, r)
		}
	}()
	w := pt(f.width)
	var titleH vg.Length
	if f.title != "" {
		titleH = textStyle(titleSize).Rectangle(f.title).Max.Y + 10
	}
	cols, _, colW, _, legendH := f.legendLayout(w)
	rows := len(f.plots)
	h := titleH + vg.Length(rows)*pt(f.panelH) + legendH
	// Round the height to whole pixels so that the PNG has exactly the
	// size reported.
	hpx := int(math.Ceil(float64(h) * dpi / 72))
	h = pt(hpx)
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))
	dc := draw.New(img)

	if f.title != "" {
		sty := textStyle(titleSize)
		sty.XAlign = draw.XCenter
		sty.YAlign = draw.YTop
		dc.FillText(sty, vg.Point{X: w / 2, Y: h - 4}, f.title)
	}
	if rows > 0 {
		area := draw.Crop(dc, 0, 0, legendH, -titleH)
		if f.labelCol > 0 && rows == 1 {
			f.drawRow(area)
		} else {
			f.drawGrid(area)
		}
	}
	for k := 0; k < cols; k++ {
		l := plot.NewLegend()
		l.TextStyle = textStyle(legendSize)
		l.Top, l.Left = true, true
		l.Padding = 3
		l.ThumbnailWidth = 20
		for i := k; i < len(f.legend); i += cols {
			l.Add(f.legend[i].name, f.legend[i].thumbs...)
		}
		x0 := 10 + vg.Length(k)*colW
		lc := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x0, Y: 0},
			Max: vg.Point{X: x0 + colW, Y: legendH - 6},
		}}
		l.Draw(lc)
	}

	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&buf, img.Image()); err != nil {
		return chart{}, fmt.Errorf("report: encoding %q: %w", f.title, err)
	}
	b := img.Image().Bounds()
	return chart{Title: f.title, Width: b.Dx(), Height: b.Dy(), png: buf.Bytes()}, nil
}

// drawGrid draws the panels aligned in a grid.
func (f *figure) drawGrid(area draw.Canvas) {
	tiles := draw.Tiles{Rows: len(f.plots), Cols: len(f.plots[0]), PadTop: 4, PadBottom: 4, PadLeft: 6, PadRight: 12, PadX: 16, PadY: 10}
	grid := make([][]*plot.Plot, len(f.plots))
	for i, row := range f.plots {
		grid[i] = make([]*plot.Plot, len(row))
		for j, p := range row {
			if p != nil {
				grid[i][j] = p.Plot
			}
		}
	}
	canvases := plot.Align(grid, tiles, area)
	for i, row := range f.plots {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
}

// drawRow draws a single row of panels, the first one widened by
// f.labelCol for its axis labels.
func (f *figure) drawRow(area draw.Canvas) {
	const padL, padR, gap = 6, 12, 16
	row := f.plots[0]
	n := vg.Length(len(row))
	w := (area.Max.X - area.Min.X - padL - padR - f.labelCol - gap*(n-1)) / n
	x := area.Min.X + padL
	for j, p := range row {
		pw := w
		if j == 0 {
			pw += f.labelCol
		}
		c := draw.Canvas{Canvas: area.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: area.Min.Y + 4},
			Max: vg.Point{X: x + pw, Y: area.Max.Y - 4},
		}}
		if p != nil {
			p.Draw(c)
		}
		x += pw + gap
	}
}

// panel is one plot of a figure. It records what is drawn on it, so that
// tests can check that its axes cover the data.
type panel struct {
	*plot.Plot
	data []plot.DataRanger
}

// Add adds plotters to the panel (shadowing plot.Plot.Add to record them).
func (p *panel) Add(ps ...plot.Plotter) {
	for _, x := range ps {
		if dr, ok := x.(plot.DataRanger); ok {
			p.data = append(p.data, dr)
		}
	}
	p.Plot.Add(ps...)
}

// newPlot returns a panel with the report's fonts, a light grid and the
// given titles.
func newPlot(title, xlabel, ylabel string) *panel {
	p := &panel{Plot: plot.New()}
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = panelSize
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = labelSize
		a.Tick.Label.Font.Size = tickSize
	}
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 0xe4}
	g.Horizontal.Color = color.Gray{Y: 0xe4}
	p.Add(g)
	return p
}

// lineStyle returns a line of colour c, dashed when dashed is set.
func lineStyle(c color.Color, dashed bool) draw.LineStyle {
	s := draw.LineStyle{Color: c, Width: vg.Points(1.4)}
	if dashed {
		s.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	return s
}

// lineThumb is a legend thumbnail showing a line style.
type lineThumb draw.LineStyle

// Thumbnail implements plot.Thumbnailer.
func (t lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(draw.LineStyle(t), c.Min.X, y, c.Max.X, y)
}

// boxThumb is a legend thumbnail filled with a colour.
type boxThumb struct{ color.Color }

// Thumbnail implements plot.Thumbnailer.
func (t boxThumb) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	r.Min.Y += 1
	r.Max.Y -= 1
	c.SetColor(t.Color)
	c.Fill(r.Path())
}

// shade fills the x interval [Start, End] over the full height of a panel:
// a fault window.
type shade struct {
	Start, End float64
	Color      color.Color
}

// Plot implements plot.Plotter.
func (s shade) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x0 := max(trX(s.Start), c.Min.X)
	x1 := min(trX(s.End), c.Max.X)
	if x1 <= x0 {
		return
	}
	r := vg.Rectangle{Min: vg.Point{X: x0, Y: c.Min.Y}, Max: vg.Point{X: x1, Y: c.Max.Y}}
	c.SetColor(s.Color)
	c.Fill(r.Path())
}

// addLine adds a line through xys in style s to p.
func addLine(p *panel, xys plotter.XYs, s draw.LineStyle) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("report: line: %w", err)
	}
	l.LineStyle = s
	p.Add(l)
	return nil
}

// maxPlainSeries is how many series a chart tells apart by colour alone;
// beyond it every series also gets its own marker shape.
const maxPlainSeries = 6

// glyphShapes are the marker shapes of series when a chart has more than
// maxPlainSeries, in order. Dashes are kept for their meaning in each
// chart (service time, p50), so shapes repeat beyond eight series, always
// with another colour.
var glyphShapes = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{},
	draw.RingGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PlusGlyph{},
}

// seriesLook is how one series is drawn: a line style and, when the chart has
// more than maxPlainSeries series, a marker shape.
type seriesLook struct {
	line  draw.LineStyle
	glyph *draw.GlyphStyle
}

// seriesStyle returns the style of series i of n in colour c.
func seriesStyle(i, n int, c color.Color) seriesLook {
	s := seriesLook{line: lineStyle(c, false)}
	if n <= maxPlainSeries {
		return s
	}
	s.glyph = &draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: glyphShapes[i%len(glyphShapes)]}
	return s
}

// thumb is the legend thumbnail of the series.
func (s seriesLook) thumb() plot.Thumbnailer { return seriesThumb(s) }

// seriesThumb draws a series' line with its marker in the middle.
type seriesThumb seriesLook

// Thumbnail implements plot.Thumbnailer.
func (t seriesThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(t.line, c.Min.X, y, c.Max.X, y)
	if t.glyph != nil {
		c.DrawGlyph(*t.glyph, c.Center())
	}
}

// addSeries adds xys drawn as s to p: the line, and markers at a few points
// (offset by the series index so that markers of overlapping lines do not
// hide each other).
func addSeries(p *panel, xys plotter.XYs, s seriesLook, index int) error {
	if err := addLine(p, xys, s.line); err != nil {
		return err
	}
	if s.glyph == nil || len(xys) == 0 {
		return nil
	}
	const marks = 5
	step := max(1, len(xys)/marks)
	var pts plotter.XYs
	for i := (index * 3) % step; i < len(xys); i += step {
		pts = append(pts, xys[i])
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return fmt.Errorf("report: markers: %w", err)
	}
	sc.GlyphStyle = *s.glyph
	p.Add(sc)
	return nil
}

// message is a plotter that writes a sentence in the middle of a panel.
type message string

// Plot implements plot.Plotter.
func (m message) Plot(c draw.Canvas, _ *plot.Plot) {
	sty := textStyle(labelSize)
	sty.Color = color.Gray{Y: 0x55}
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	c.FillText(sty, c.Center(), string(m))
}

// messagePanel returns a panel without axes that says text: the place of
// a chart that has nothing to show ("no breaker configured").
func messagePanel(title, text string) *panel {
	p := &panel{Plot: plot.New()}
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = panelSize
	p.HideAxes()
	p.Add(message(text))
	return p
}
