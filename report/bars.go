package report

import (
	"fmt"
	"image/color"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/grpcbench/grpcbench/results"
)

// barRows returns the panel height for n horizontal bars and the bar width.
func barRows(n int) (panelH int, width vg.Length) {
	rowPx := 16
	panelH = max(200, n*rowPx+70)
	return panelH, pt(rowPx) * 0.72
}

// cellBars adds one horizontal bar per cell (top to bottom in order) in the
// cell's colour.
func cellBars(p *panel, cells []*cellView, vals []float64, w vg.Length) error {
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
func stackedBars(p *panel, shares [][]float64, colors []color.Color, w vg.Length) error {
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
func cellAxis(p *panel, cells []*cellView, labelled bool) {
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

// retriesChart draws retry amplification, attempts per call, breaker trips
// attemptColors colour calls by their number of attempts: rejected, 1, 2,
// 3, 4 or more — an ordinal grey ramp, which no cell colour uses.
var attemptColors = greys(5)

// configured reports whether any run's scenario configures the client
// layer at client.<layer> (not null), a matrix dimension varies it, or a
// cell shows its work (active).
func configured(runs []*results.Run, layer string, active func(*results.Cell) bool) bool {
	for _, r := range runs {
		sc, _ := r.Scenario.(map[string]any)
		if client, ok := sc["client"].(map[string]any); ok && client[layer] != nil {
			return true
		}
		for _, d := range r.Dimensions {
			if strings.HasPrefix(d, "client."+layer+".") {
				return true
			}
		}
		for _, c := range r.Cells {
			if c != nil && active(c) {
				return true
			}
		}
	}
	return false
}

// retriesChart draws retry amplification and attempts per call, and
// breaker trips and time open, per cell; a layer that no run configures
// gets a panel that says so instead of empty axes.
func retriesChart(runs []*results.Run, cells []*cellView, o Options) (*figure, string, error) {
	retry := configured(runs, "retry", func(c *results.Cell) bool { return c.Retry.Calls > 0 })
	breaker := configured(runs, "breaker", func(c *results.Cell) bool {
		return c.Breaker.Trips > 0 || c.Breaker.Rejections > 0 || c.Breaker.TimeOpen > 0
	})
	if !retry && !breaker {
		return nil, "", nil
	}
	panelH, w := barRows(len(cells))
	var row []*panel
	if retry {
		ps, err := retryPanels(cells, w)
		if err != nil {
			return nil, "", err
		}
		row = append(row, ps...)
	}
	if breaker {
		ps, err := breakerPanels(cells, w)
		if err != nil {
			return nil, "", err
		}
		row = append(row, ps...)
	}
	for i, p := range row {
		cellAxis(p, cells, i == 0)
	}
	caption := "Lower is better in every panel."
	if retry {
		caption = "Retry amplification is attempts / calls of the retry layer (1 = no retries). " + caption
	}
	switch {
	case !retry:
		row = append(row, messagePanel("retries", "no retry layer configured"))
	case !breaker:
		row = append(row, messagePanel("circuit breaker", "no breaker configured"))
	}
	f := &figure{title: "Retries and circuit breaker per cell", width: o.Width, panelH: panelH, labelCol: labelWidth(cells, o.Width),
		plots: [][]*panel{row}, cells: cells}
	if retry {
		for k, name := range []string{"rejected before any attempt", "1 attempt", "2 attempts", "3 attempts", "4 or more attempts"} {
			f.legend = append(f.legend, legendItem{name, []plot.Thumbnailer{boxThumb{attemptColors[k]}}})
		}
	}
	return f, caption, nil
}

// retryPanels draws retry amplification and the share of calls by attempts.
func retryPanels(cells []*cellView, w vg.Length) ([]*panel, error) {
	amp := make([]float64, len(cells))
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
	if err := cellBars(pAmp, cells, amp, w); err != nil {
		return nil, err
	}
	if err := stackedBars(pAtt, shares, attemptColors, w); err != nil {
		return nil, err
	}
	linearAxis(&pAmp.X, 0, maxAmp, nil)
	shareAxis(&pAtt.X)
	return []*panel{pAmp, pAtt}, nil
}

// breakerPanels draws breaker trips and time open.
func breakerPanels(cells []*cellView, w vg.Length) ([]*panel, error) {
	trips := make([]float64, len(cells))
	open := make([]float64, len(cells))
	for i, c := range cells {
		trips[i] = float64(c.cell.Breaker.Trips)
		open[i] = c.cell.Breaker.TimeOpen.Seconds()
	}
	pTrips := newPlot("breaker trips", "trips", "")
	pOpen := newPlot("breaker time open", "seconds", "")
	if err := cellBars(pTrips, cells, trips, w); err != nil {
		return nil, err
	}
	if err := cellBars(pOpen, cells, open, w); err != nil {
		return nil, err
	}
	countAxis(&pTrips.X, maxOf(trips))
	linearAxis(&pOpen.X, 0, maxOf(open), nil)
	return []*panel{pTrips, pOpen}, nil
}

func maxOf(vs []float64) float64 {
	m := 0.0
	for _, v := range vs {
		m = max(m, v)
	}
	return m
}

// segmentColor returns the colour of the i-th segment of a stacked bar
// (backends), beyond the cell palette's first colours.
func segmentColor(i int) color.Color { return colorAt(len(tableau) + i) }

// backendShares returns, per backend, each cell's share of the counts get
// reads.
func backendShares(cells []*cellView, nb int, get func(results.Backend) int64) [][]float64 {
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

// backendsChart draws each cell's load share per backend, as the client saw
// it and as the server counted it.
func backendsChart(cells []*cellView, o Options) (*figure, string, error) {
	nb := 0
	server := false
	for _, c := range cells {
		nb = max(nb, len(c.cell.Backends))
		for _, b := range c.cell.Backends {
			server = server || b.ServerCalls > 0
		}
	}
	if nb == 0 {
		return nil, "", nil
	}
	panelH, w := barRows(len(cells))
	colors := make([]color.Color, nb)
	for b := range colors {
		colors[b] = segmentColor(b)
	}
	pc := newPlot("client: attempts per backend", "share of attempts", "")
	if err := stackedBars(pc, backendShares(cells, nb, func(b results.Backend) int64 { return b.ClientCalls }), colors, w); err != nil {
		return nil, "", err
	}
	cellAxis(pc, cells, true)
	shareAxis(&pc.X)
	row := []*panel{pc}
	if server {
		ps := newPlot("server: calls per backend", "share of calls", "")
		if err := stackedBars(ps, backendShares(cells, nb, func(b results.Backend) int64 { return b.ServerCalls }), colors, w); err != nil {
			return nil, "", err
		}
		cellAxis(ps, cells, false)
		shareAxis(&ps.X)
		row = append(row, ps)
	}
	f := &figure{title: "Load share per backend", width: o.Width, panelH: panelH, labelCol: labelWidth(cells, o.Width), plots: [][]*panel{row}}
	for b := 0; b < nb; b++ {
		f.legend = append(f.legend, legendItem{fmt.Sprintf("backend %d", b), []plot.Thumbnailer{boxThumb{colors[b]}}})
	}
	return f, "Equal segments mean a fair balancer. The counts cover the whole cell, warm-up included, as the server counts them (the terminal's per-cell details give the shares after warm-up). Backends are numbered in the embedded server's order (in address order for an external target).", nil
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
	shareAxis(&p.X)
	f := &figure{title: "Status codes per cell", width: o.Width, panelH: panelH, labelCol: labelWidth(cells, o.Width), plots: [][]*panel{{p}}}
	for s, name := range names {
		f.legend = append(f.legend, legendItem{name, []plot.Thumbnailer{boxThumb{colors[s]}}})
	}
	return f, "Final status of every call (after retries), as a share of the cell's calls.", nil
}
