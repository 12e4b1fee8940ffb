package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
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

// spectrumCurve is one line of the spectrum.
type spectrumCurve struct {
	xys     plotter.XYs
	cell    *cellView
	service bool
}

// spectrumChart draws the latency percentile spectrum of the featured cells:
// response time solid, service time dashed; with more than six cells, each
// cell also gets its own marker.
func spectrumChart(cells []*cellView, o Options) (*figure, string, error) {
	shown, note := featured(cells, o.MaxLines)
	if len(shown) == 0 {
		return nil, "", nil
	}
	qs := make([]float64, len(spectrumKs))
	for i, k := range spectrumKs {
		qs[i] = 1 - math.Pow(10, -k)
	}
	var curves []spectrumCurve
	lo, hi := math.Inf(1), 0.0
	// Service time doubles the lines: beyond maxPlainSeries cells it is
	// left out (the table and a smaller selection show it).
	kinds := []bool{false, true}
	if len(shown) > maxPlainSeries {
		kinds = kinds[:1]
	}
	for _, c := range shown {
		for _, service := range kinds {
			h := c.latency
			if service {
				h = c.service
			}
			if h.Count() == 0 {
				continue
			}
			xys := make(plotter.XYs, len(qs))
			for i, v := range h.Quantiles(qs...) {
				y := max(ms(v), minPositiveMs)
				xys[i] = plotter.XY{X: math.Pow(10, spectrumKs[i]), Y: y}
				lo, hi = min(lo, y), max(hi, y)
			}
			curves = append(curves, spectrumCurve{xys, c, service})
		}
	}
	p := newPlot("", "percentile (scale 1/(1−p))", "latency (ms)")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks
	p.X.Min, p.X.Max = 1, 10000
	latencyAxis(&p.Y, lo, hi)
	f := &figure{title: "Latency percentile spectrum", width: o.Width, panelH: o.Width * 9 / 16, cells: shown}
	index := map[*cellView]int{}
	for i, c := range shown {
		index[c] = i
	}
	hasService := false
	for _, cv := range curves {
		i := index[cv.cell]
		st := seriesStyle(i, len(shown), cv.cell.color)
		if cv.service {
			hasService = true
			st.line = lineStyle(cv.cell.color, true)
			st.line.Width = 1
			st.glyph = nil
		}
		if err := addSeries(p, cv.xys, st, i); err != nil {
			return nil, "", err
		}
		if !cv.service {
			f.legend = append(f.legend, legendItem{cv.cell.label, []plot.Thumbnailer{st.thumb()}})
		}
	}
	if hasService {
		f.legend = append(f.legend,
			legendItem{"response time (from intended start): solid", []plot.Thumbnailer{lineThumb(lineStyle(color.Black, false))}},
			legendItem{"service time (from actual send): dashed", []plot.Thumbnailer{lineThumb(lineStyle(color.Black, true))}})
	}
	f.plots = [][]*panel{{p}}
	caption := "Latency at every percentile, HdrHistogram style: the further right, the rarer the call. All calls, failed ones included. Lower is better."
	if note != "" {
		caption += " Showing " + note + "; the table lists every cell."
	}
	if len(kinds) == 1 {
		caption += fmt.Sprintf(" Service time is drawn for at most %d cells (report --max-lines).", maxPlainSeries)
	}
	return f, caption, nil
}
