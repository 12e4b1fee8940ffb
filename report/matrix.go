package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/grpcbench/grpcbench/results"
)

// matrixGroup merges the repeats of one matrix point of one run.
type matrixGroup struct {
	run     int
	values  []string // one per dimension
	latency *results.Histogram
	flag    string // a flag of one of its cells ("" when none is flagged)
}

// orderValues returns the distinct values in first-seen order, or sorted
// numerically when every value is a number.
func orderValues(vals []string) []string {
	var out []string
	seen := map[string]bool{}
	numeric := true
	for _, v := range vals {
		if seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			numeric = false
		}
	}
	if numeric {
		sort.SliceStable(out, func(i, j int) bool {
			a, _ := strconv.ParseFloat(out[i], 64)
			b, _ := strconv.ParseFloat(out[j], 64)
			return a < b
		})
	}
	return out
}

// maxFacets bounds the small multiples of the matrix view.
const maxFacets = 12

// matrixGroups merges the repeats of each matrix point of each run
// (histograms added), in first-seen order.
func matrixGroups(dims []string, cells []*cellView) []*matrixGroup {
	var groups []*matrixGroup
	index := map[string]*matrixGroup{}
	for _, c := range cells {
		if c.latency.Count() == 0 {
			continue
		}
		vals := make([]string, len(dims))
		for i, d := range dims {
			for _, p := range c.cell.Params {
				if p.Path == d {
					vals[i] = p.Value
				}
			}
		}
		key := strconv.Itoa(c.run) + "\x00" + strings.Join(vals, "\x00")
		g := index[key]
		if g == nil {
			g = &matrixGroup{run: c.run, values: vals, latency: results.NewHistogram()}
			index[key] = g
			groups = append(groups, g)
		}
		g.latency.Merge(c.latency)
		if c.flagged() && g.flag == "" {
			g.flag = c.row.Flags[0]
		}
	}
	return groups
}

// matrixLayout places the groups: x is the first dimension (or the run),
// one line per value of the second (and per run), one facet per value of
// the others.
type matrixLayout struct {
	xName              string
	xvals              []string
	xOf                func(*matrixGroup) string
	lineOf, facetOf    func(*matrixGroup) string
	lineKeys, facetKys []string
}

func newMatrixLayout(dims, labels []string, groups []*matrixGroup, multi bool) matrixLayout {
	short := shortNames(dims)
	l := matrixLayout{xName: "run", xOf: func(g *matrixGroup) string { return labels[g.run] }}
	if len(dims) > 0 {
		l.xName, l.xOf = dims[0], func(g *matrixGroup) string { return g.values[0] }
	}
	l.lineOf = func(g *matrixGroup) string {
		var parts []string
		if multi && len(dims) > 0 {
			parts = append(parts, labels[g.run])
		}
		if len(dims) > 1 {
			parts = append(parts, short[dims[1]]+"="+g.values[1])
		}
		return strings.Join(parts, ": ")
	}
	l.facetOf = func(g *matrixGroup) string {
		var parts []string
		for i := 2; i < len(dims); i++ {
			parts = append(parts, short[dims[i]]+"="+g.values[i])
		}
		return strings.Join(parts, " ")
	}
	var xs, lines, facets []string
	for _, g := range groups {
		xs, lines, facets = append(xs, l.xOf(g)), append(lines, l.lineOf(g)), append(facets, l.facetOf(g))
	}
	l.xvals, l.lineKeys, l.facetKys = orderValues(xs), orderValues(lines), orderValues(facets)
	return l
}

// matrixChart draws p99 and p50 against the first matrix dimension, one line
// per value of the second (and per run), one panel per value of the others.
func matrixChart(runs []*results.Run, labels []string, cells []*cellView, o Options) (*figure, string, error) {
	var dims []string
	if len(runs) > 0 {
		dims = runs[0].Dimensions
	}
	groups := matrixGroups(dims, cells)
	if len(groups) == 0 {
		return nil, "", nil
	}
	l := newMatrixLayout(dims, labels, groups, len(runs) > 1)
	note := ""
	if len(l.facetKys) > maxFacets {
		note = fmt.Sprintf(" Showing the first %d of %d panels.", maxFacets, len(l.facetKys))
		l.facetKys = l.facetKys[:maxFacets]
	}
	f, err := drawMatrix(l, groups, o)
	if err != nil {
		return nil, "", err
	}
	caption := "The matrix view: repeats of a matrix point are merged (histograms added); all calls, failed ones included. Lower is better."
	switch {
	case len(dims) == 0:
		caption = "The scenario has no matrix: one point per run. Lower is better."
	case len(dims) > 2:
		caption += " One panel per value of " + strings.Join(dims[2:], ", ") + "."
	}
	if slices.ContainsFunc(groups, func(g *matrixGroup) bool { return g.flag != "" }) {
		caption += " Crosses apart from the lines: matrix points left out of the comparison (the summary's notes say why)."
	}
	return f, caption + note, nil
}

// dodge is how far apart, in x units (one per matrix value), neighbouring
// lines of the matrix view are drawn.
const dodge = 0.03

// matrixPoints are one line's p99 and p50 points in one facet: those of
// comparable matrix points, joined by the line, and those of flagged ones
// (pick_first beside balancing policies, a cell with many more errors),
// drawn apart as crosses so that a low flagged point does not read as the
// line's best.
type matrixPoints struct{ p99, p50, out99, out50 plotter.XYs }

// flaggedGlyph marks the p99 and p50 of a flagged matrix point.
var flaggedGlyph = draw.GlyphStyle{Color: color.Gray{Y: 96}, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}

// matrixData places each group's p99 and p50 by facet and line (flagged
// groups apart) and returns the lowest p50 and highest p99 drawn.
func matrixData(l matrixLayout, groups []*matrixGroup) (data map[string]map[string]*matrixPoints, lo, hi float64) {
	xpos := map[string]float64{}
	for i, v := range l.xvals {
		xpos[v] = float64(i)
	}
	data = map[string]map[string]*matrixPoints{} // facet → line → points
	lo, hi = math.Inf(1), 0.0
	for _, g := range groups {
		fk, lk := l.facetOf(g), l.lineOf(g)
		if data[fk] == nil {
			data[fk] = map[string]*matrixPoints{}
		}
		d := data[fk][lk]
		if d == nil {
			d = &matrixPoints{}
			data[fk][lk] = d
		}
		q := g.latency.Quantiles(0.99, 0.5)
		p99, p50 := max(ms(q[0]), minPositiveMs), max(ms(q[1]), minPositiveMs)
		// Lines are dodged a little apart so that equal values stay visible.
		j := float64(slices.Index(l.lineKeys, lk))
		x := xpos[l.xOf(g)] + dodge*(j-float64(len(l.lineKeys)-1)/2)
		if g.flag != "" {
			d.out99 = append(d.out99, plotter.XY{X: x, Y: p99})
			d.out50 = append(d.out50, plotter.XY{X: x, Y: p50})
		} else {
			d.p99 = append(d.p99, plotter.XY{X: x, Y: p99})
			d.p50 = append(d.p50, plotter.XY{X: x, Y: p50})
		}
		lo, hi = min(lo, p50), max(hi, p99)
	}
	return data, lo, hi
}

// drawMatrix draws the facets of the matrix view on a shared latency axis.
func drawMatrix(l matrixLayout, groups []*matrixGroup, o Options) (*figure, error) {
	data, lo, hi := matrixData(l, groups)
	flagged := slices.ContainsFunc(groups, func(g *matrixGroup) bool { return g.flag != "" })
	cols := min(len(l.facetKys), 3)
	rows := (len(l.facetKys) + cols - 1) / cols
	panelH := o.Width * 9 / 16
	if cols > 1 {
		panelH = o.Width / cols * 3 / 4
	}
	f := &figure{title: "p99 (solid) and p50 (dashed) latency vs " + l.xName, width: o.Width, panelH: panelH}
	f.plots = make([][]*panel, rows)
	for r := range f.plots {
		f.plots[r] = make([]*panel, cols)
	}
	styles := make([]seriesLook, len(l.lineKeys))
	for i := range l.lineKeys {
		styles[i] = seriesStyle(i, len(l.lineKeys), colorAt(i))
		if styles[i].glyph == nil { // dots mark the p99 points
			styles[i].glyph = &draw.GlyphStyle{Color: colorAt(i), Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
		}
	}
	for i, fk := range l.facetKys {
		p := newPlot(fk, l.xName, "latency (ms)")
		p.X.Tick.Marker = nominalTicks(unrankedLabels(l, groups))
		p.X.Min, p.X.Max = -0.3, float64(len(l.xvals)-1)+0.3
		latencyAxis(&p.Y, lo, hi)
		for j, lk := range l.lineKeys {
			if d := data[fk][lk]; d != nil {
				if err := matrixLine(p, d, styles[j]); err != nil {
					return nil, err
				}
			}
		}
		f.plots[i/cols][i%cols] = p
	}
	for i, lk := range l.lineKeys {
		name := lk
		if name == "" {
			name = "all cells"
		}
		if flag := lineFlag(l, groups, lk); flag != "" {
			name += " (not comparable: " + flag + ")"
		}
		f.legend = append(f.legend, legendItem{name, []plot.Thumbnailer{styles[i].thumb()}})
	}
	f.legend = append(f.legend,
		legendItem{"p99: solid with markers", []plot.Thumbnailer{lineThumb(lineStyle(color.Black, false))}},
		legendItem{"p50: dashed", []plot.Thumbnailer{lineThumb(lineStyle(color.Black, true))}})
	if flagged {
		f.legend = append(f.legend, legendItem{"not comparable (large: p99, small: p50): see the summary's notes", []plot.Thumbnailer{glyphThumb(flaggedGlyph)}})
	}
	return f, nil
}

// unrankedLabels returns the x labels of the matrix view, with "(not
// ranked)" under the values whose every matrix point is flagged.
func unrankedLabels(l matrixLayout, groups []*matrixGroup) []string {
	out := slices.Clone(l.xvals)
	for i, v := range out {
		all := false
		for _, g := range groups {
			if l.xOf(g) != v {
				continue
			}
			if g.flag == "" {
				all = false
				break
			}
			all = true
		}
		if all {
			out[i] = v + "\n(not ranked)"
		}
	}
	return out
}

// glyphThumb draws a legend entry as one marker.
type glyphThumb draw.GlyphStyle

// Thumbnail implements plot.Thumbnailer.
func (t glyphThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(draw.GlyphStyle(t), c.Center())
}

// lineFlag returns the flag shared by every matrix point of line lk, ""
// when one of them is comparable: a pick_first line that looks best is
// marked in the legend as the table marks its cells.
func lineFlag(l matrixLayout, groups []*matrixGroup, lk string) string {
	flag := ""
	for _, g := range groups {
		if l.lineOf(g) != lk {
			continue
		}
		if g.flag == "" {
			return ""
		}
		if flag == "" {
			flag = g.flag
		}
	}
	return flag
}

// matrixLine draws one line's p99 (solid, with markers at every point) and
// p50 (dashed) through its comparable points, and its flagged points as
// crosses apart from the line.
func matrixLine(p *panel, d *matrixPoints, st seriesLook) error {
	if len(d.p99) > 0 {
		sort.Slice(d.p99, func(i, j int) bool { return d.p99[i].X < d.p99[j].X })
		sort.Slice(d.p50, func(i, j int) bool { return d.p50[i].X < d.p50[j].X })
		if err := addLine(p, d.p99, st.line); err != nil {
			return err
		}
		dashed := lineStyle(st.line.Color, true)
		if err := addLine(p, d.p50, dashed); err != nil {
			return err
		}
		if err := addScatter(p, d.p99, *st.glyph); err != nil {
			return err
		}
	}
	if len(d.out99) == 0 {
		return nil
	}
	small := flaggedGlyph
	small.Radius = vg.Points(2.5)
	if err := addScatter(p, d.out99, flaggedGlyph); err != nil {
		return err
	}
	return addScatter(p, d.out50, small)
}

// addScatter adds markers at xys in style g to p.
func addScatter(p *panel, xys plotter.XYs, g draw.GlyphStyle) error {
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return fmt.Errorf("report: scatter: %w", err)
	}
	s.GlyphStyle = g
	p.Add(s)
	return nil
}
