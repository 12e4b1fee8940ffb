package report

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/grpcbench/grpcbench/results"
)

// spectrumKs are the points of the percentile spectrum as k = log10(1/(1−p)):
// p = 1 − 10^−k from 0 (the minimum) to 99.99.
var spectrumKs = func() []float64 {
	var ks []float64
	for i := 0; i <= 80; i++ {
		ks = append(ks, float64(i)*0.05)
	}
	return ks
}()

// percentileTicks label the 1/(1−p) axis in percentiles.
var percentileTicks = plot.ConstantTicks{
	{Value: 1, Label: "0"}, {Value: 2, Label: "50"}, {Value: 10, Label: "90"},
	{Value: 100, Label: "99"}, {Value: 1000, Label: "99.9"}, {Value: 10000, Label: "99.99"},
}

// spectrumChart draws the latency percentile spectrum of the featured cells.
func spectrumChart(cells []*cellView, o Options) (*figure, string, error) {
	shown, note := featured(cells, o.MaxLines)
	if len(shown) == 0 {
		return nil, "", nil
	}
	qs := make([]float64, len(spectrumKs))
	for i, k := range spectrumKs {
		qs[i] = 1 - math.Pow(10, -k)
	}
	p := newPlot("", "percentile (scale 1/(1−p))", "latency (ms)")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks
	p.X.Min, p.X.Max = 1, 10000
	lo, hi := math.Inf(1), 0.0
	type curve struct {
		xys    plotter.XYs
		style  draw.LineStyle
		legend bool
		cell   *cellView
	}
	var curves []curve
	hasService := false
	for _, c := range shown {
		for _, kind := range []struct {
			h      *results.Histogram
			dashed bool
		}{{c.latency, false}, {c.service, true}} {
			if kind.h.Count() == 0 {
				continue
			}
			if kind.dashed {
				hasService = true
			}
			vals := kind.h.Quantiles(qs...)
			xys := make(plotter.XYs, len(vals))
			for i, v := range vals {
				y := max(ms(v), minPositiveMs)
				xys[i] = plotter.XY{X: math.Pow(10, spectrumKs[i]), Y: y}
				lo, hi = min(lo, y), max(hi, y)
			}
			curves = append(curves, curve{xys, lineStyle(c.color, kind.dashed), !kind.dashed, c})
		}
	}
	latencyAxis(&p.Y, lo, hi)
	f := &figure{title: "Latency percentile spectrum", width: o.Width, panelH: o.Width * 9 / 16}
	for _, cv := range curves {
		if err := addLine(p, cv.xys, cv.style); err != nil {
			return nil, "", err
		}
		if cv.legend {
			f.legend = append(f.legend, legendItem{cv.cell.label, []plot.Thumbnailer{lineThumb(lineStyle(cv.cell.color, false))}})
		}
	}
	f.legend = append(f.legend, legendItem{"response time (from intended start): solid", []plot.Thumbnailer{lineThumb(lineStyle(color.Black, false))}})
	if hasService {
		f.legend = append(f.legend, legendItem{"service time (from actual send): dashed", []plot.Thumbnailer{lineThumb(lineStyle(color.Black, true))}})
	}
	f.plots = [][]*plot.Plot{{p}}
	caption := "Latency at every percentile, HdrHistogram style: the further right, the rarer the call. Lower is better."
	if note != "" {
		caption += " Showing " + note + "; the table lists every cell."
	}
	return f, caption, nil
}

// matrixGroup merges the repeats of one matrix point of one run.
type matrixGroup struct {
	run     int
	values  []string // one per dimension
	latency *results.Histogram
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

// matrixChart draws p99 and p50 against the first matrix dimension, one line
// per value of the second (and per run), one panel per value of the others.
func matrixChart(runs []*results.Run, labels []string, cells []*cellView, o Options) (*figure, string, error) {
	var dims []string
	if len(runs) > 0 {
		dims = runs[0].Dimensions
	}
	multi := len(runs) > 1
	// Merge repeats: same run, same matrix point.
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
			g = &matrixGroup{run: c.run, values: vals}
			index[key] = g
			groups = append(groups, g)
		}
		g.latency = mergeInto(g.latency, c.latency)
	}
	if len(groups) == 0 {
		return nil, "", nil
	}
	short := shortNames(dims)
	var xName string
	var xvals []string
	xOf := func(g *matrixGroup) string { return labels[g.run] }
	if len(dims) == 0 {
		xName = "run"
		for _, g := range groups {
			xvals = append(xvals, labels[g.run])
		}
	} else {
		xName = dims[0]
		xOf = func(g *matrixGroup) string { return g.values[0] }
		for _, g := range groups {
			xvals = append(xvals, g.values[0])
		}
	}
	xvals = orderValues(xvals)
	xpos := map[string]float64{}
	for i, v := range xvals {
		xpos[v] = float64(i)
	}
	lineOf := func(g *matrixGroup) string {
		var parts []string
		if multi && len(dims) > 0 {
			parts = append(parts, labels[g.run])
		}
		if len(dims) > 1 {
			parts = append(parts, short[dims[1]]+"="+g.values[1])
		}
		return strings.Join(parts, ": ")
	}
	facetOf := func(g *matrixGroup) string {
		var parts []string
		for i := 2; i < len(dims); i++ {
			parts = append(parts, short[dims[i]]+"="+g.values[i])
		}
		return strings.Join(parts, " ")
	}
	var lineKeys, facetKeys []string
	for _, g := range groups {
		lineKeys = append(lineKeys, lineOf(g))
		facetKeys = append(facetKeys, facetOf(g))
	}
	lineKeys = orderValues(lineKeys)
	facetKeys = orderValues(facetKeys)
	note := ""
	if len(facetKeys) > maxFacets {
		note = fmt.Sprintf(" Showing the first %d of %d panels.", maxFacets, len(facetKeys))
		facetKeys = facetKeys[:maxFacets]
	}
	lineColor := map[string]color.RGBA{}
	for i, k := range lineKeys {
		lineColor[k] = colorAt(i)
	}
	type pts struct{ p99, p50 plotter.XYs }
	data := map[string]map[string]*pts{} // facet → line → points
	lo, hi := math.Inf(1), 0.0
	for _, g := range groups {
		fk, lk := facetOf(g), lineOf(g)
		if data[fk] == nil {
			data[fk] = map[string]*pts{}
		}
		d := data[fk][lk]
		if d == nil {
			d = &pts{}
			data[fk][lk] = d
		}
		q := g.latency.Quantiles(0.99, 0.5)
		p99, p50 := max(ms(q[0]), minPositiveMs), max(ms(q[1]), minPositiveMs)
		x := xpos[xOf(g)]
		d.p99 = append(d.p99, plotter.XY{X: x, Y: p99})
		d.p50 = append(d.p50, plotter.XY{X: x, Y: p50})
		lo, hi = min(lo, p50), max(hi, p99)
	}
	cols := min(len(facetKeys), 3)
	rows := (len(facetKeys) + cols - 1) / cols
	panelH := o.Width * 9 / 16
	if cols > 1 {
		panelH = o.Width / cols * 3 / 4
	}
	f := &figure{title: "p99 (solid) and p50 (dashed) latency vs " + xName, width: o.Width, panelH: panelH}
	f.plots = make([][]*plot.Plot, rows)
	for r := range f.plots {
		f.plots[r] = make([]*plot.Plot, cols)
	}
	for i, fk := range facetKeys {
		p := newPlot(fk, xName, "latency (ms)")
		p.X.Tick.Marker = nominalTicks(xvals)
		p.X.Min, p.X.Max = -0.3, float64(len(xvals)-1)+0.3
		latencyAxis(&p.Y, lo, hi)
		for _, lk := range lineKeys {
			d := data[fk][lk]
			if d == nil {
				continue
			}
			sort.Slice(d.p99, func(i, j int) bool { return d.p99[i].X < d.p99[j].X })
			sort.Slice(d.p50, func(i, j int) bool { return d.p50[i].X < d.p50[j].X })
			c := lineColor[lk]
			if err := addLine(p, d.p99, lineStyle(c, false)); err != nil {
				return nil, "", err
			}
			if err := addLine(p, d.p50, lineStyle(c, true)); err != nil {
				return nil, "", err
			}
			s, err := plotter.NewScatter(d.p99)
			if err != nil {
				return nil, "", fmt.Errorf("report: scatter: %w", err)
			}
			s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			p.Add(s)
		}
		f.plots[i/cols][i%cols] = p
	}
	for _, lk := range lineKeys {
		name := lk
		if name == "" {
			name = "all cells"
		}
		f.legend = append(f.legend, legendItem{name, []plot.Thumbnailer{lineThumb(lineStyle(lineColor[lk], false))}})
	}
	f.legend = append(f.legend,
		legendItem{"p99: solid with dots", []plot.Thumbnailer{lineThumb(lineStyle(color.Black, false))}},
		legendItem{"p50: dashed", []plot.Thumbnailer{lineThumb(lineStyle(color.Black, true))}})
	caption := "The matrix view: repeats of a matrix point are merged (histograms added). Lower is better."
	switch {
	case len(dims) == 0:
		caption = "The scenario has no matrix: one point per run. Lower is better."
	case len(dims) > 2:
		caption += " One panel per value of " + strings.Join(dims[2:], ", ") + "."
	}
	return f, caption + note, nil
}

// timelineChart draws calls/s, p99 and errors/s over time for the featured
// cells, one row per cell, with fault windows shaded.
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
	f := &figure{title: "Over time: calls/s, p99 and errors/s (fault windows shaded)", width: o.Width, panelH: 170}
	kinds := map[string]bool{}
	for i, c := range shown {
		cell := c.cell
		end := math.Max(cell.Duration.Seconds(), float64(len(cell.Series)))
		var calls, p99, errs []point
		for _, s := range cell.Series {
			x := float64(s.T) + 0.5
			calls = append(calls, point{x, float64(s.Calls)})
			errs = append(errs, point{x, float64(s.Errors)})
			if s.Calls > 0 {
				p99 = append(p99, point{x, ms(s.P99)})
			}
		}
		calls, p99, errs = lttb(calls, o.MaxPoints), lttb(p99, o.MaxPoints), lttb(errs, o.MaxPoints)
		xlabel := ""
		if i == len(shown)-1 {
			xlabel = "time since start (s)"
		}
		row := make([]*plot.Plot, 3)
		for j, spec := range []struct {
			title, ylabel string
			pts           []point
		}{{c.label, "calls/s", calls}, {"", "p99 (ms)", p99}, {"", "errors/s", errs}} {
			p := newPlot(spec.title, xlabel, spec.ylabel)
			p.Title.TextStyle.Color = c.color
			p.X.Min, p.X.Max = 0, end
			for _, fw := range cell.Faults {
				s, e := fw.Start.Seconds(), fw.End.Seconds()
				if fw.End == 0 {
					e = end
				}
				p.Add(shade{Start: s, End: e, Color: faultColor(fw.Kind)})
				kinds[fw.Kind] = true
			}
			top := 0.0
			xys := make(plotter.XYs, len(spec.pts))
			for k, q := range spec.pts {
				xys[k] = plotter.XY{X: q.X, Y: q.Y}
				top = max(top, q.Y)
			}
			p.Y.Min, p.Y.Max = 0, math.Max(top*1.1, 1)
			if j == 1 {
				p.Y.Max = math.Max(top*1.1, 0.01)
			}
			if len(xys) > 0 {
				if err := addLine(p, xys, lineStyle(c.color, false)); err != nil {
					return nil, "", err
				}
			}
			row[j] = p
		}
		f.plots = append(f.plots, row)
	}
	var ks []string
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		f.legend = append(f.legend, legendItem{"fault: " + k, []plot.Thumbnailer{boxThumb{faultColor(k)}}})
	}
	caption := "One row per cell; each point is one second (long series downsampled with LTTB, which keeps peaks)."
	if len(ks) > 0 {
		caption += " Shaded bands are the injected fault windows."
	}
	if note != "" {
		caption += " Showing " + note + "."
	}
	return f, caption, nil
}

// barRows returns the panel height for n horizontal bars and the bar width.
func barRows(n int) (panelH int, width vg.Length) {
	rowPx := 16
	panelH = max(200, n*rowPx+70)
	return panelH, pt(rowPx) * 0.72
}

// cellBars adds one horizontal bar per cell (top to bottom in order) in the
// cell's colour.
func cellBars(p *plot.Plot, cells []*cellView, vals []float64, w vg.Length) error {
	n := len(cells)
	for i, c := range cells {
		b, err := plotter.NewBarChart(plotter.Values{vals[i]}, w)
		if err != nil {
			return fmt.Errorf("report: bars: %w", err)
		}
		b.Horizontal = true
		b.XMin = float64(n - 1 - i)
		b.Color = c.color
		b.LineStyle.Width = 0
		p.Add(b)
	}
	return nil
}

// stackedBars adds stacked horizontal bars, one stack per cell (top to
// bottom), one segment per series; shares[s][i] is series s of cell i.
func stackedBars(p *plot.Plot, shares [][]float64, colors []color.Color, w vg.Length) error {
	var prev *plotter.BarChart
	for s, vals := range shares {
		n := len(vals)
		rev := make(plotter.Values, n)
		for i, v := range vals {
			rev[n-1-i] = v
		}
		b, err := plotter.NewBarChart(rev, w)
		if err != nil {
			return fmt.Errorf("report: bars: %w", err)
		}
		b.Horizontal = true
		b.Color = colors[s]
		b.LineStyle.Width = 0
		if prev != nil {
			b.StackOn(prev)
		}
		p.Add(b)
		prev = b
	}
	return nil
}

// cellAxis labels the y axis of a bar panel with the cells (top to bottom);
// labelled is false for panels beside the first.
func cellAxis(p *plot.Plot, cells []*cellView, labelled bool) {
	n := len(cells)
	ts := make(plot.ConstantTicks, n)
	for i, c := range cells {
		ts[n-1-i] = plot.Tick{Value: float64(n - 1 - i)}
		if labelled {
			ts[n-1-i].Label = truncLabel(c.label)
		}
	}
	p.Y.Tick.Marker = ts
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	p.X.Min = 0
}

// maxLabelRunes bounds the length of a category label on a bar chart.
const maxLabelRunes = 72

// truncLabel shortens s to maxLabelRunes runes, eliding the middle.
func truncLabel(s string) string {
	r := []rune(s)
	if len(r) <= maxLabelRunes {
		return s
	}
	half := (maxLabelRunes - 1) / 2
	return string(r[:half]) + "…" + string(r[len(r)-half:])
}

// labelWidth returns the width of the widest cell label on a bar chart's
// y axis, capped at 45 % of a figure width of px pixels.
func labelWidth(cells []*cellView, px int) vg.Length {
	sty := textStyle(tickSize)
	var w vg.Length
	for _, c := range cells {
		w = max(w, sty.Rectangle(truncLabel(c.label)).Max.X)
	}
	return min(w+8, pt(px)*0.45)
}

// attemptColors colour calls by their number of attempts: rejected, 1, 2,
// 3, 4 or more.
var attemptColors = []color.Color{
	color.RGBA{0x7f, 0x7f, 0x7f, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xbc, 0xbd, 0x22, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff},
	color.RGBA{0xd6, 0x27, 0x28, 0xff},
}

// retriesChart draws retry amplification, attempts per call, breaker trips
// and breaker time open per cell.
func retriesChart(cells []*cellView, o Options) (*figure, string, error) {
	found := false
	for _, c := range cells {
		r, b := c.cell.Retry, c.cell.Breaker
		if r.Calls > 0 || b.Trips > 0 || b.Rejections > 0 || b.TimeOpen > 0 {
			found = true
		}
	}
	if !found {
		return nil, "", nil
	}
	panelH, w := barRows(len(cells))
	amp := make([]float64, len(cells))
	trips := make([]float64, len(cells))
	open := make([]float64, len(cells))
	shares := make([][]float64, len(attemptColors))
	for s := range shares {
		shares[s] = make([]float64, len(cells))
	}
	maxAmp := 1.0
	for i, c := range cells {
		r := c.cell.Retry
		if r.Calls > 0 {
			amp[i] = float64(r.Attempts) / float64(r.Calls)
			maxAmp = max(maxAmp, amp[i])
		}
		trips[i] = float64(c.cell.Breaker.Trips)
		open[i] = c.cell.Breaker.TimeOpen.Seconds()
		var total int64
		for _, n := range r.AttemptsPerCall {
			total += n
		}
		for k, n := range r.AttemptsPerCall {
			if total > 0 {
				shares[min(k, len(attemptColors)-1)][i] += float64(n) / float64(total)
			}
		}
	}
	pAmp := newPlot("retry amplification", "attempts per call", "")
	pAtt := newPlot("attempts per call", "share of calls", "")
	pTrips := newPlot("breaker trips", "trips", "")
	pOpen := newPlot("breaker time open", "seconds", "")
	if err := cellBars(pAmp, cells, amp, w); err != nil {
		return nil, "", err
	}
	pAmp.X.Max = maxAmp * 1.05
	if err := stackedBars(pAtt, shares, attemptColors, w); err != nil {
		return nil, "", err
	}
	pAtt.X.Max = 1
	if err := cellBars(pTrips, cells, trips, w); err != nil {
		return nil, "", err
	}
	pTrips.X.Max = math.Max(pTrips.X.Max*1.05, 1)
	if err := cellBars(pOpen, cells, open, w); err != nil {
		return nil, "", err
	}
	pOpen.X.Max = math.Max(pOpen.X.Max*1.05, 1)
	for i, p := range []*plot.Plot{pAmp, pAtt, pTrips, pOpen} {
		cellAxis(p, cells, i == 0)
	}
	f := &figure{title: "Retries and circuit breaker per cell", width: o.Width, panelH: panelH, labelCol: labelWidth(cells, o.Width),
		plots: [][]*plot.Plot{{pAmp, pAtt, pTrips, pOpen}}}
	for k, name := range []string{"rejected before any attempt", "1 attempt", "2 attempts", "3 attempts", "4 or more attempts"} {
		f.legend = append(f.legend, legendItem{name, []plot.Thumbnailer{boxThumb{attemptColors[k]}}})
	}
	return f, "Retry amplification is attempts / calls of the retry layer (1 = no retries); the cell label names its backoff setting. Lower is better in every panel.", nil
}

// segmentColor returns the colour of the i-th segment of a stacked bar.
func segmentColor(i int) color.Color { return colorAt(len(tableau) + i) }

// backendsChart draws each cell's load share per backend, as the client saw
// it and as the server counted it.
func backendsChart(cells []*cellView, o Options) (*figure, string, error) {
	nb := 0
	server := false
	for _, c := range cells {
		nb = max(nb, len(c.cell.Backends))
		for _, b := range c.cell.Backends {
			if b.ServerCalls > 0 {
				server = true
			}
		}
	}
	if nb == 0 {
		return nil, "", nil
	}
	panelH, w := barRows(len(cells))
	share := func(get func(results.Backend) int64) [][]float64 {
		out := make([][]float64, nb)
		for b := range out {
			out[b] = make([]float64, len(cells))
		}
		for i, c := range cells {
			var total int64
			for _, b := range c.cell.Backends {
				total += get(b)
			}
			for b, be := range c.cell.Backends {
				if total > 0 {
					out[b][i] = float64(get(be)) / float64(total)
				}
			}
		}
		return out
	}
	colors := make([]color.Color, nb)
	for b := range colors {
		colors[b] = segmentColor(b)
	}
	pc := newPlot("client: attempts per backend", "share of attempts", "")
	if err := stackedBars(pc, share(func(b results.Backend) int64 { return b.ClientCalls }), colors, w); err != nil {
		return nil, "", err
	}
	cellAxis(pc, cells, true)
	pc.X.Max = 1
	row := []*plot.Plot{pc}
	if server {
		ps := newPlot("server: calls per backend", "share of calls", "")
		if err := stackedBars(ps, share(func(b results.Backend) int64 { return b.ServerCalls }), colors, w); err != nil {
			return nil, "", err
		}
		cellAxis(ps, cells, false)
		ps.X.Max = 1
		row = append(row, ps)
	}
	f := &figure{title: "Load share per backend", width: o.Width, panelH: panelH, labelCol: labelWidth(cells, o.Width), plots: [][]*plot.Plot{row}}
	for b := 0; b < nb; b++ {
		f.legend = append(f.legend, legendItem{fmt.Sprintf("backend %d", b), []plot.Thumbnailer{boxThumb{colors[b]}}})
	}
	return f, "Equal segments mean a fair balancer. Backends are numbered in address order within each cell.", nil
}

// codesChart draws each cell's calls by final status code.
func codesChart(cells []*cellView, o Options) (*figure, string, error) {
	total := map[string]int64{}
	for _, c := range cells {
		for k, n := range c.codes {
			total[k] += n
		}
	}
	if len(total) == 0 {
		return nil, "", nil
	}
	var names []string
	for k := range total {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "OK") != (names[j] == "OK") {
			return names[i] == "OK"
		}
		if total[names[i]] != total[names[j]] {
			return total[names[i]] > total[names[j]]
		}
		return names[i] < names[j]
	})
	panelH, w := barRows(len(cells))
	shares := make([][]float64, len(names))
	colors := make([]color.Color, len(names))
	for s, name := range names {
		colors[s] = codeColor(name, s)
		shares[s] = make([]float64, len(cells))
		for i, c := range cells {
			if c.calls > 0 {
				shares[s][i] = float64(c.codes[name]) / float64(c.calls)
			}
		}
	}
	p := newPlot("", "share of calls", "")
	if err := stackedBars(p, shares, colors, w); err != nil {
		return nil, "", err
	}
	cellAxis(p, cells, true)
	p.X.Max = 1
	f := &figure{title: "Status codes per cell", width: o.Width, panelH: panelH, labelCol: labelWidth(cells, o.Width), plots: [][]*plot.Plot{{p}}}
	for s, name := range names {
		f.legend = append(f.legend, legendItem{name, []plot.Thumbnailer{boxThumb{colors[s]}}})
	}
	return f, "Final status of every call (after retries), as a share of the cell's calls.", nil
}
