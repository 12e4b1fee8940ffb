package report

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// Axes cover their data: every axis ends on a labelled tick at or above the
// highest value drawn on it (with a little headroom, so that no line runs
// along the frame), and every tick label of an axis has the same number of
// decimals.

// headroom is the least gap between the highest value and the top of an
// axis, as a fraction of the axis length.
const headroom = 0.03

// niceSteps are the mantissas of tick steps.
var niceSteps = []float64{1, 2, 2.5, 5, 10}

// niceStep returns the smallest step of 1, 2, 2.5 or 5 × 10^k that divides
// span into at most n intervals.
func niceStep(span float64, n int) float64 {
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range niceSteps {
		if m*mag >= raw*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// decimals returns the number of decimals that print every multiple of
// step exactly: 0 for 5 or 10, 1 for 0.5, 2 for 0.25.
func decimals(step float64) int {
	for d := 0; d < 10; d++ {
		v := step * math.Pow(10, float64(d))
		if math.Abs(v-math.Round(v)) < 1e-6*math.Max(1, v) {
			return d
		}
	}
	return 10
}

// fixedTicks are ticks at given values with labels made by label.
type fixedTicks struct {
	values []float64
	label  func(float64) string
	minor  []float64
}

// Ticks implements plot.Ticker.
func (t fixedTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for _, v := range t.values {
		if v >= lo-1e-12 && v <= hi+1e-12 {
			ts = append(ts, plot.Tick{Value: v, Label: t.label(v)})
		}
	}
	for _, v := range t.minor {
		if v >= lo && v <= hi {
			ts = append(ts, plot.Tick{Value: v})
		}
	}
	return ts
}

// linearAxis sets a to run from lo to the first tick at or above hi (with
// headroom), ticked every nice step and labelled by format with the same
// number of decimals for every tick (format gets the value and the number
// of decimals; nil prints the number). An axis without data (hi ≤ lo) runs
// from lo to lo+1.
func linearAxis(a *plot.Axis, lo, hi float64, format func(v float64, decimals int) string) {
	room := true
	if !(hi > lo) {
		hi, room = lo+1, false
	}
	steppedAxis(a, lo, hi, niceStep(hi-lo, 5), room, format)
}

// countAxis is linearAxis for whole counts from 0: steps are whole numbers
// (1, 2, 5, 10, 20, ...).
func countAxis(a *plot.Axis, hi float64) {
	room := hi > 0
	hi = math.Max(hi, 1)
	step := math.Max(1, niceStep(hi, 5))
	if step != math.Trunc(step) { // 2.5 × 10^k below 10
		step = math.Ceil(step)
	}
	steppedAxis(a, 0, hi, step, room, nil)
}

// timeAxis sets a for seconds from 0 to end exactly (the length of the
// recorded phase), ticked every whole number of seconds of a nice step.
func timeAxis(a *plot.Axis, end float64) {
	end = math.Max(end, 1)
	step := math.Max(1, niceStep(end, 6))
	if step != math.Trunc(step) {
		step = math.Ceil(step)
	}
	steppedAxis(a, 0, end, step, false, nil)
	a.Max = end
}

// steppedAxis is linearAxis with a given step; room asks for headroom
// above hi.
func steppedAxis(a *plot.Axis, lo, hi, step float64, room bool, format func(v float64, decimals int) string) {
	if format == nil {
		format = func(v float64, d int) string { return strconv.FormatFloat(v, 'f', d, 64) }
	}
	top := lo + math.Ceil((hi-lo)/step-1e-9)*step
	if room && top-hi < headroom*(top-lo) {
		top += step
	}
	d := decimals(step)
	var vals []float64
	for i := 0; ; i++ {
		v := lo + float64(i)*step
		if v > top+step*1e-9 {
			break
		}
		vals = append(vals, v)
	}
	a.Scale = plot.LinearScale{}
	a.Min, a.Max = lo, top
	a.Tick.Marker = fixedTicks{values: vals, label: func(v float64) string { return format(v, d) }}
}

// shareAxis sets a to show a share from 0 to 100 %.
func shareAxis(a *plot.Axis) {
	a.Scale = plot.LinearScale{}
	a.Min, a.Max = 0, 1
	a.Tick.Marker = fixedTicks{values: []float64{0, 0.25, 0.5, 0.75, 1}, label: func(v float64) string {
		return strconv.FormatFloat(100*v, 'f', 0, 64) + "%"
	}}
}

// logSteps are the labelled values of a logarithmic axis per decade.
var logSteps = []float64{1, 2, 5}

// logAxis sets a to a logarithmic scale from the labelled tick (1, 2 or 5
// × 10^k) at or below lo to the one at or above hi (with headroom), the
// other digits as minor ticks. Labels print the value in full
// ("0.05", "200").
func logAxis(a *plot.Axis, lo, hi float64) {
	lo = math.Max(lo, minPositiveMs)
	hi = math.Max(hi, lo)
	bottom, top := 0.0, 0.0
	for e := math.Floor(math.Log10(lo)); bottom == 0; e-- {
		for i := len(logSteps) - 1; i >= 0; i-- {
			if v := logSteps[i] * math.Pow(10, e); v <= lo*(1+1e-9) {
				bottom = v
				break
			}
		}
	}
	for e := math.Floor(math.Log10(hi)); top == 0; e++ {
		for _, m := range logSteps {
			// headroom on a log axis: the top at least 5 % above hi.
			if v := m * math.Pow(10, e); v >= hi*1.05 {
				top = v
				break
			}
		}
	}
	var major, minor []float64
	for e := math.Floor(math.Log10(bottom)); e <= math.Ceil(math.Log10(top)); e++ {
		base := math.Pow(10, e)
		for d := 1; d <= 9; d++ {
			v := float64(d) * base
			switch {
			case v < bottom*(1-1e-9) || v > top*(1+1e-9):
			case d == 1 || d == 2 || d == 5:
				major = append(major, v)
			default:
				minor = append(minor, v)
			}
		}
	}
	a.Scale = plot.LogScale{}
	a.Min, a.Max = bottom, top
	a.Tick.Marker = fixedTicks{values: major, minor: minor, label: func(v float64) string {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}}
}

// minPositiveMs is the smallest latency drawn on a log axis (1 µs).
const minPositiveMs = 0.001

// latencyAxis sets a for latencies in ms between lo and hi: a logarithmic
// scale when they span more than a factor 30, else linear from zero. It
// returns whether the scale is logarithmic.
func latencyAxis(a *plot.Axis, lo, hi float64) bool {
	if hi <= 0 || math.IsNaN(hi) {
		linearAxis(a, 0, 1, nil)
		return false
	}
	lo = math.Max(lo, minPositiveMs)
	if hi/lo <= 30 {
		linearAxis(a, 0, hi, nil)
		return false
	}
	logAxis(a, lo, hi)
	return true
}

// nominalTicks labels integer positions 0..len(names)-1 with names.
func nominalTicks(names []string) plot.ConstantTicks {
	ts := make(plot.ConstantTicks, len(names))
	for i, n := range names {
		ts[i] = plot.Tick{Value: float64(i), Label: n}
	}
	return ts
}
