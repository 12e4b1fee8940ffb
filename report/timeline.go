package report

import (
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// timelineSeries are one cell's points over time.
type timelineSeries struct {
	cell             *cellView
	calls, p99, errs []point
	end              float64 // seconds
}

// timelineChart draws calls/s, p99 and errors/s over time for the featured
// cells, one row per cell, with fault windows shaded. Every column shares
// one y scale (and every panel one time scale), so that rows compare at a
// glance: 4 ms and 100 ms never look alike.
func timelineChart(cells []*cellView, o Options) (*figure, string, error) {
	var withSeries []*cellView
	for _, c := range cells {
		if len(c.cell.Series) > 0 {
			withSeries = append(withSeries, c)
		}
	}
	shown, note := featured(withSeries, o.MaxPanels)
	if len(shown) == 0 {
		return nil, "", nil
	}
	var rows []timelineSeries
	var end float64
	var top [3]float64
	for _, c := range shown {
		ts := timelineSeries{cell: c, end: math.Max(c.cell.Duration.Seconds(), float64(len(c.cell.Series)))}
		for _, s := range c.cell.Series {
			x := float64(s.T) + 0.5
			ts.calls = append(ts.calls, point{x, float64(s.Calls)})
			ts.errs = append(ts.errs, point{x, float64(s.Errors)})
			if s.Calls > 0 {
				ts.p99 = append(ts.p99, point{x, ms(s.P99)})
			}
		}
		ts.calls, ts.p99, ts.errs = lttb(ts.calls, o.MaxPoints), lttb(ts.p99, o.MaxPoints), lttb(ts.errs, o.MaxPoints)
		for j, pts := range [][]point{ts.calls, ts.p99, ts.errs} {
			for _, q := range pts {
				top[j] = max(top[j], q.Y)
			}
		}
		end = max(end, ts.end)
		rows = append(rows, ts)
	}
	faults := faultPalette(shown)
	f := &figure{title: "Over time: calls/s, p99 and errors/s (fault windows shaded; shared scales)", width: o.Width, panelH: 170, cells: shown}
	for i, ts := range rows {
		row, err := timelineRow(ts, i == len(rows)-1, end, top, faults)
		if err != nil {
			return nil, "", err
		}
		f.plots = append(f.plots, row)
	}
	var kinds []string
	for _, c := range shown {
		for _, fw := range c.cell.Faults {
			kinds = append(kinds, fw.Kind)
		}
	}
	kinds = orderValues(kinds)
	sort.Strings(kinds)
	for _, k := range kinds {
		f.legend = append(f.legend, legendItem{"fault: " + k, []plot.Thumbnailer{boxThumb{faultShade(faults(k))}}})
	}
	caption := "One row per cell; each point is one second (long series downsampled with LTTB, which keeps peaks). Each column has one scale for every row."
	if len(kinds) > 0 {
		caption += " Shaded bands are the injected fault windows."
	}
	if note != "" {
		caption += " Showing " + note + "."
	}
	return f, caption, nil
}

// timelineRow draws one cell's three panels on the shared scales: time up
// to end, and the y tops of calls/s, p99 and errors/s.
func timelineRow(ts timelineSeries, last bool, end float64, top [3]float64, faults func(string) color.RGBA) ([]*panel, error) {
	xlabel := ""
	if last {
		xlabel = "time since start (s)"
	}
	c := ts.cell
	row := make([]*panel, 3)
	for j, spec := range []struct {
		title, ylabel string
		pts           []point
	}{{c.label, "calls/s", ts.calls}, {"", "p99 (ms)", ts.p99}, {"", "errors/s", ts.errs}} {
		p := newPlot(spec.title, xlabel, spec.ylabel)
		p.Title.TextStyle.Color = c.color
		timeAxis(&p.X, end)
		for _, fw := range c.cell.Faults {
			s, e := fw.Start.Seconds(), fw.End.Seconds()
			if fw.End == 0 {
				e = ts.end
			}
			p.Add(shade{Start: s, End: e, Color: faultShade(faults(fw.Kind))})
		}
		if j == 1 {
			linearAxis(&p.Y, 0, top[j], nil)
		} else {
			countAxis(&p.Y, top[j])
		}
		if len(spec.pts) > 0 {
			xys := make(plotter.XYs, len(spec.pts))
			for k, q := range spec.pts {
				xys[k] = plotter.XY{X: q.X, Y: q.Y}
			}
			if err := addLine(p, xys, lineStyle(c.color, false)); err != nil {
				return nil, err
			}
		}
		row[j] = p
	}
	return row, nil
}

// faultPalette returns the colour of each fault kind in a chart showing
// cells: fault colours far from every shown cell's colour, assigned to
// kinds in name order.
func faultPalette(cells []*cellView) func(kind string) color.RGBA {
	var avoid []color.RGBA
	var kinds []string
	for _, c := range cells {
		avoid = append(avoid, c.color)
		for _, fw := range c.cell.Faults {
			kinds = append(kinds, fw.Kind)
		}
	}
	kinds = orderValues(kinds)
	sort.Strings(kinds)
	cols := legendColors(len(kinds), faultCandidates, avoid)
	byKind := map[string]color.RGBA{}
	for i, k := range kinds {
		byKind[k] = cols[i]
	}
	return func(kind string) color.RGBA { return byKind[kind] }
}
