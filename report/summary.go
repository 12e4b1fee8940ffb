package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// Summary is the table of cells that the HTML page and the terminal show:
// one row per cell with the figures of [Summary.Columns], the best value of
// each column among the cells that did comparable work, the flags that say
// why a cell is left out of that comparison, and a verdict per run.
//
// A cell is flagged (and never marked best) when it failed, was cut short,
// made no call, ran the closed model beside open-model cells ("closed
// model": its latency leaves out the time a stall kept calls from being
// sent), sent its calls to fewer backends than another cell of its run did
// ("all calls to backend 0": pick_first beside round_robin, whose latency
// is that of one backend only), or failed clearly more of its calls
// than the best cell of its run: more than one percentage point and half
// again above the lowest error rate ("12% errors"; fast failures make
// latency look good).
type Summary struct {
	// Columns are the figures of every row, in order. The columns "ok p50"
	// and "ok p99" (latency of the calls that ended OK) are present only
	// when they differ materially from p50 and p99 (all calls) in a cell.
	Columns []Column
	// Rows has one row per cell of every run, in run then cell order.
	Rows []SummaryRow
	// Methods has one row per method of each cell when a run called more
	// than one method, with the figures of MethodColumns.
	Methods       []MethodRow
	MethodColumns []Column
	// Verdicts has one line per run: which matrix point had the lowest
	// median p99 among the comparable ones, by how much it beat the
	// runner-up, and whether that difference is significant given the
	// repeats (Mann–Whitney, α = 0.05).
	Verdicts []string
}

// Column is one figure of the summary.
type Column struct {
	// Name heads the column ("p99", "calls/s").
	Name string
	// Title says what it measures, for a tooltip.
	Title string
	// Better is +1 when higher values are better, −1 when lower values
	// are, 0 when no value is best (e.g. the target rate).
	Better int

	unit unit
}

// unit is how a column's values are measured and printed.
type unit int

const (
	unitRate     unit = iota // calls/s
	unitDuration             // seconds
	unitFraction             // 0..1, printed as a percentage
	unitRatio                // dimensionless
	unitCount                // whole number
)

// Format prints a value of the column: "1.13ms", "600.0", "0.50%", "0.125",
// "3"; "—" for NaN (not applicable).
func (c Column) Format(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	switch c.unit {
	case unitDuration:
		return formatDuration(time.Duration(v * float64(time.Second)))
	case unitFraction:
		return strconv.FormatFloat(100*v, 'f', 2, 64) + "%"
	case unitRatio:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case unitCount:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// formatDuration prints d with 3 significant digits in µs, ms or s.
func formatDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	case d >= 100*time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 0, 64) + "ms"
	case d >= 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms"
	case d >= time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64) + "µs"
}

// SummaryRow is one cell of the summary.
type SummaryRow struct {
	// Run is the index of the cell's run.
	Run  int
	Cell *results.Cell
	// Values has one value per column, in the column's base unit (seconds,
	// calls/s, a fraction); NaN when not applicable.
	Values []float64
	// Best marks the values that are the best of their column among the
	// comparable cells (only when at least two differ).
	Best []bool
	// Flags say why the cell is not compared: "all calls to backend 0",
	// "12% errors", "failed: ...", "partial", "no calls". Empty for a
	// comparable cell.
	Flags []string
}

// MethodRow is one method of one cell.
type MethodRow struct {
	Run  int
	Cell *results.Cell
	// Method is the full name; Short the shortest form unambiguous among
	// the run's methods ([results.ShortMethodNames]).
	Method, Short string
	// Values has one value per MethodColumns entry.
	Values []float64
}

// materially reports whether two latencies differ enough to show both:
// by more than 10 % and 50 µs.
func materially(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return false
	}
	d := math.Abs(a - b)
	return d > 0.1*math.Max(a, b) && d >= 50e-6
}

// quantile returns h's quantile q in seconds, NaN when h is empty.
func quantile(h *results.Histogram, q float64) float64 {
	if h.Count() == 0 {
		return math.NaN()
	}
	return h.Quantile(q).Seconds()
}

// summaryColumn is a column of the summary and how to read it from a cell
// and its aggregate.
type summaryColumn struct {
	Column
	get func(c *results.Cell, all *results.MethodStats) float64
}

// summaryColumns are the columns of the summary; Summarize leaves out the
// ok columns when they say nothing new.
var summaryColumns = []summaryColumn{
	{Column{"calls/s", "completed calls per second", 1, unitRate}, func(c *results.Cell, _ *results.MethodStats) float64 {
		if c.Duration <= 0 {
			return math.NaN()
		}
		if c.Load.AchievedRate > 0 {
			return c.Load.AchievedRate
		}
		return c.Rate()
	}},
	{Column{"target/s", "intended arrivals per second (open model)", 0, unitRate}, func(c *results.Cell, _ *results.MethodStats) float64 {
		if c.Load.TargetRate <= 0 {
			return math.NaN()
		}
		return c.Load.TargetRate
	}},
	{Column{"p50", "median latency from the intended start, all calls (failed included)", -1, unitDuration}, latencyAt(0.5)},
	{Column{"p90", "90th percentile latency, all calls", -1, unitDuration}, latencyAt(0.9)},
	{Column{"p99", "99th percentile latency, all calls", -1, unitDuration}, latencyAt(0.99)},
	{Column{"p99.9", "99.9th percentile latency, all calls", -1, unitDuration}, latencyAt(0.999)},
	{Column{"max", "largest latency, all calls", -1, unitDuration}, func(_ *results.Cell, all *results.MethodStats) float64 {
		if all == nil || all.Latency.Count() == 0 {
			return math.NaN()
		}
		return all.Latency.Max().Seconds()
	}},
	{Column{"ok p50", "median latency of the calls that ended OK", -1, unitDuration}, okLatencyAt(0.5)},
	{Column{"ok p99", "99th percentile latency of the calls that ended OK", -1, unitDuration}, okLatencyAt(0.99)},
	{Column{"errors", "share of calls whose final status was not OK", -1, unitFraction}, func(_ *results.Cell, all *results.MethodStats) float64 {
		if all == nil || all.Calls == 0 {
			return math.NaN()
		}
		return all.ErrorRate()
	}},
	{Column{"retries/call", "extra attempts per logical call of the retry layer", -1, unitRatio}, func(c *results.Cell, _ *results.MethodStats) float64 {
		if c.Retry.Calls == 0 {
			return math.NaN()
		}
		return c.Retry.RetriesPerCall()
	}},
	{Column{"trips", "circuit breaker trips to open", -1, unitCount}, func(c *results.Cell, _ *results.MethodStats) float64 { return float64(c.Breaker.Trips) }},
	{Column{"dropped", "arrivals dropped because max_inflight calls were outstanding (open model)", -1, unitCount}, func(c *results.Cell, _ *results.MethodStats) float64 {
		return float64(c.Load.Dropped)
	}},
}

func latencyAt(q float64) func(*results.Cell, *results.MethodStats) float64 {
	return func(_ *results.Cell, all *results.MethodStats) float64 {
		if all == nil {
			return math.NaN()
		}
		return quantile(all.Latency, q)
	}
}

func okLatencyAt(q float64) func(*results.Cell, *results.MethodStats) float64 {
	return func(_ *results.Cell, all *results.MethodStats) float64 {
		if all == nil {
			return math.NaN()
		}
		return quantile(all.OK, q)
	}
}

// Summarize builds the summary of runs (several runs are one table, e.g. a
// baseline and a candidate).
func Summarize(runs ...*results.Run) *Summary {
	s := &Summary{}
	var all [][]float64 // every column, for every row
	for ri, run := range runs {
		if run == nil {
			continue
		}
		for _, c := range run.Cells {
			if c == nil {
				continue
			}
			agg := c.Aggregate()
			vals := make([]float64, len(summaryColumns))
			for i, col := range summaryColumns {
				vals[i] = col.get(c, agg)
			}
			all = append(all, vals)
			s.Rows = append(s.Rows, SummaryRow{Run: ri, Cell: c})
		}
		s.Methods = append(s.Methods, methodRows(ri, run)...)
	}
	keep := summaryKeep(all)
	for i, col := range summaryColumns {
		if keep[i] {
			s.Columns = append(s.Columns, col.Column)
		}
	}
	for r := range s.Rows {
		for i, v := range all[r] {
			if keep[i] {
				s.Rows[r].Values = append(s.Rows[r].Values, v)
			}
		}
	}
	s.flag()
	s.markBest()
	if len(s.Methods) > 0 {
		s.MethodColumns = methodColumns
	}
	s.verdicts(runs)
	return s
}

// summaryKeep returns which columns to show: all but the ok columns, which
// are shown when some cell's ok p50 or ok p99 differs materially from its
// p50 or p99.
func summaryKeep(all [][]float64) []bool {
	idx := func(name string) int {
		return slices.IndexFunc(summaryColumns, func(c summaryColumn) bool { return c.Name == name })
	}
	p50, p99, ok50, ok99 := idx("p50"), idx("p99"), idx("ok p50"), idx("ok p99")
	differ := false
	for _, v := range all {
		differ = differ || materially(v[p50], v[ok50]) || materially(v[p99], v[ok99])
	}
	keep := make([]bool, len(summaryColumns))
	for i := range keep {
		keep[i] = differ || (i != ok50 && i != ok99)
	}
	return keep
}

// flag sets the flags of every row.
func (s *Summary) flag() {
	// Per run: the most backends any cell used, the lowest error rate, and
	// whether any cell ran the open model.
	maxUsed := map[int]int{}
	minErr := map[int]float64{}
	open := map[int]bool{}
	for _, r := range s.Rows {
		open[r.Run] = open[r.Run] || r.Cell.Load.Model == results.ModelOpen
		maxUsed[r.Run] = max(maxUsed[r.Run], len(usedBackends(r.Cell)))
		if e, ok := errorRate(r.Cell); ok && r.Cell.Error == "" {
			if m, seen := minErr[r.Run]; !seen || e < m {
				minErr[r.Run] = e
			}
		}
	}
	for i := range s.Rows {
		r := &s.Rows[i]
		c := r.Cell
		agg := c.Aggregate()
		switch {
		case c.Error != "":
			r.Flags = append(r.Flags, "failed: "+shorten(c.Error, 60))
		case agg == nil || agg.Calls == 0:
			r.Flags = append(r.Flags, "no calls")
		}
		if c.Partial {
			r.Flags = append(r.Flags, "partial")
		}
		// A closed model's latency counts from when a worker got to send,
		// so a stall that held the workers back is missing from it: beside
		// open-model cells its low percentiles must not win.
		if c.Load.Model == results.ModelClosed && open[r.Run] {
			r.Flags = append(r.Flags, "closed model: hides stalls the open cells count")
		}
		if used := usedBackends(c); len(used) > 0 && len(used) < maxUsed[r.Run] {
			r.Flags = append(r.Flags, backendFlag(c, used, maxUsed[r.Run]))
		}
		if e, ok := errorRate(c); ok && e > minErr[r.Run]+0.01 && e > 1.5*minErr[r.Run] {
			r.Flags = append(r.Flags, percent(e)+" errors")
		}
	}
}

// errorRate returns the cell's error rate, false when it made no call.
func errorRate(c *results.Cell) (float64, bool) {
	agg := c.Aggregate()
	if agg == nil || agg.Calls == 0 {
		return 0, false
	}
	return agg.ErrorRate(), true
}

// percent prints a fraction as a percentage with 2 significant digits at
// most: "12%", "3.5%", "0.42%".
func percent(f float64) string {
	p := 100 * f
	switch {
	case p >= 10:
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	case p >= 1:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(p, 'f', 2, 64) + "%"
}

// usedBackends returns the indexes (in c.Backends) of the backends that
// received at least one of the cell's calls: attempts as the client saw
// them, or the server's count when the client has none.
func usedBackends(c *results.Cell) []int {
	var out []int
	for i, n := range c.BackendCalls() {
		if n > 0 {
			out = append(out, i)
		}
	}
	return out
}

// backendFlag describes a cell that used fewer backends than others:
// "all calls to backend 0" (the embedded server's backends are listed in
// index order) or to an address, or "calls to 2 of 3 backends".
func backendFlag(c *results.Cell, used []int, most int) string {
	if len(used) > 1 {
		return fmt.Sprintf("calls to %d of %d backends", len(used), most)
	}
	fake := false
	for _, b := range c.Backends {
		fake = fake || b.ServerCalls > 0
	}
	if fake {
		return fmt.Sprintf("all calls to backend %d", used[0])
	}
	return "all calls to " + c.Backends[used[0]].Addr
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// markBest marks, per column with a preferred direction, the best value
// among the unflagged rows, when at least two of them have a value and at
// most half of them share the best one (a mark on most rows, e.g. "0
// errors" everywhere, tells nothing).
func (s *Summary) markBest() {
	for i := range s.Rows {
		s.Rows[i].Best = make([]bool, len(s.Columns))
	}
	for col, c := range s.Columns {
		if c.Better == 0 {
			continue
		}
		best, n := math.NaN(), 0
		for _, r := range s.Rows {
			v := r.Values[col]
			if len(r.Flags) > 0 || math.IsNaN(v) {
				continue
			}
			n++
			if n == 1 || float64(c.Better)*(v-best) > 0 {
				best = v
			}
		}
		ties := 0
		for _, r := range s.Rows {
			if len(r.Flags) == 0 && r.Values[col] == best {
				ties++
			}
		}
		if n < 2 || 2*ties > n {
			continue
		}
		for i, r := range s.Rows {
			s.Rows[i].Best[col] = len(r.Flags) == 0 && r.Values[col] == best
		}
	}
}

// methodColumns are the figures of a method row.
var methodColumns = []Column{
	{"calls", "finished calls", 0, unitCount},
	{"calls/s", "finished calls per second", 0, unitRate},
	{"p50", "median latency, all calls", 0, unitDuration},
	{"p99", "99th percentile latency, all calls", 0, unitDuration},
	{"ok p99", "99th percentile latency of the calls that ended OK", 0, unitDuration},
	{"errors", "share of calls whose final status was not OK", 0, unitFraction},
}

// methodRows returns a row per method and cell of run, when the run called
// more than one method.
func methodRows(ri int, run *results.Run) []MethodRow {
	names := run.MethodNames()
	if len(names) < 2 {
		return nil
	}
	short := results.ShortMethodNames(names)
	var out []MethodRow
	for _, c := range run.Cells {
		if c == nil {
			continue
		}
		for _, name := range names {
			m := c.Methods[name]
			if m == nil {
				continue
			}
			rate := math.NaN()
			if c.Duration > 0 {
				rate = float64(m.Calls) / c.Duration.Seconds()
			}
			errs := math.NaN()
			if m.Calls > 0 {
				errs = m.ErrorRate()
			}
			out = append(out, MethodRow{Run: ri, Cell: c, Method: name, Short: short[name], Values: []float64{
				float64(m.Calls), rate, quantile(m.Latency, 0.5), quantile(m.Latency, 0.99), quantile(m.OK, 0.99), errs,
			}})
		}
	}
	return out
}
