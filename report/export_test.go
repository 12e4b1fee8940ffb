package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/plotter"

	"github.com/grpcbench/grpcbench/results"
)

// ChartRanges builds every chart of runs and describes, per panel, the
// range of the data on its value axis (y, or x for horizontal bars), the
// axis range and its top labelled tick, for the golden test of chart
// ranges. bad lists the panels whose axis does not cover their data.
func ChartRanges(runs []*results.Run, opts Options) (lines, bad []string, err error) {
	opts = opts.withDefaults()
	sum := Summarize(runs...)
	labels := runLabels(runs, opts.RunLabels)
	cells := buildCells(runs, labels, sum)
	for _, b := range chartBuilders(runs, labels, cells, opts) {
		f, _, err := b.build()
		if err != nil {
			return nil, nil, err
		}
		if f == nil {
			continue
		}
		for r, row := range f.plots {
			for c, p := range row {
				if p == nil {
					continue
				}
				line, ok := panelRange(p)
				line = fmt.Sprintf("%s[%d,%d] %q: %s", b.file, r, c, p.Title.Text, line)
				lines = append(lines, line)
				if !ok {
					bad = append(bad, line)
				}
			}
		}
	}
	return lines, bad, nil
}

// LegendClashes lists, for every chart of runs, the legend colours (other
// than the cells') that are close to the colour of a cell drawn in the same
// chart.
func LegendClashes(runs []*results.Run) ([]string, error) {
	opts := Options{}.withDefaults()
	sum := Summarize(runs...)
	labels := runLabels(runs, opts.RunLabels)
	cells := buildCells(runs, labels, sum)
	var out []string
	for _, b := range chartBuilders(runs, labels, cells, opts) {
		f, _, err := b.build()
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		for _, it := range f.legend {
			for _, th := range it.thumbs {
				box, ok := th.(boxThumb)
				if !ok {
					continue
				}
				r, g, bl, a := box.Color.RGBA()
				if a == 0 {
					continue
				}
				// Un-premultiply: a translucent shade is judged by its hue.
				c := color.RGBA{uint8(r * 0xff / a), uint8(g * 0xff / a), uint8(bl * 0xff / a), 0xff}
				for _, cv := range f.cells {
					if d := distance(c, cv.color); d < 100 {
						out = append(out, fmt.Sprintf("%s: legend %q %v is %.0f from cell %q %v", b.file, it.name, c, d, cv.label, cv.color))
					}
				}
			}
		}
	}
	return out, nil
}

// panelRange describes the value axis of p and reports whether it covers
// the data: data within [axis min, top tick] and the top tick on the axis.
func panelRange(p *panel) (string, bool) {
	axis, name := &p.Y, "y"
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, dr := range p.data {
		xmin, xmax, ymin, ymax := dr.DataRange()
		if b, ok := dr.(*plotter.BarChart); ok && b.Horizontal {
			axis, name = &p.X, "x"
			ymin, ymax = xmin, xmax
		}
		lo, hi = math.Min(lo, ymin), math.Max(hi, ymax)
	}
	if math.IsInf(hi, -1) {
		return "no data", true
	}
	top := math.Inf(-1)
	for _, t := range axis.Tick.Marker.Ticks(axis.Min, axis.Max) {
		if t.Label != "" {
			top = math.Max(top, t.Value)
		}
	}
	ok := lo >= axis.Min-1e-9 && hi <= top+1e-9 && top <= axis.Max+1e-9
	return fmt.Sprintf("%s data [%.4g, %.4g] axis [%.4g, %.4g] top tick %.4g", name, lo, hi, axis.Min, axis.Max, top), ok
}

// MatrixMarks builds the matrix view of runs and returns its x labels, the
// x positions of the points its lines join, and those of the points it
// draws apart as flagged.
func MatrixMarks(runs []*results.Run) (ticks []string, joined, apart []float64, err error) {
	opts := Options{}.withDefaults()
	sum := Summarize(runs...)
	labels := runLabels(runs, opts.RunLabels)
	f, _, err := matrixChart(runs, labels, buildCells(runs, labels, sum), opts)
	if err != nil || f == nil {
		return nil, nil, nil, err
	}
	for _, row := range f.plots {
		for _, p := range row {
			if p == nil {
				continue
			}
			for _, t := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
				ticks = append(ticks, t.Label)
			}
			for _, d := range p.data {
				switch x := d.(type) {
				case *plotter.Line:
					for _, xy := range x.XYs {
						joined = append(joined, xy.X)
					}
				case *plotter.Scatter:
					if x.GlyphStyle.Color == flaggedGlyph.Color && x.GlyphStyle.Shape == flaggedGlyph.Shape {
						for _, xy := range x.XYs {
							apart = append(apart, xy.X)
						}
					}
				}
			}
		}
	}
	return ticks, joined, apart, nil
}
