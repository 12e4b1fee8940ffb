package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/results"
)

// envColumns head the environment panel: the load generator's health in
// each cell (results.Cell.Health).
var envColumns = []Column{
	{Name: "CPU", Title: "the process's CPU use, share of the cores it may use: mean / busiest second"},
	{Name: "run delay", Title: "share of the process's runnable time its threads waited for a CPU: mean / worst second"},
	{Name: "other CPU", Title: "other processes' share of the machine's CPU: mean / busiest second"},
	{Name: "pressure", Title: "machine CPU pressure (PSI some): share of time a runnable task waited: mean / worst second"},
	{Name: "steal", Title: "share of CPU time taken by the hypervisor: mean / worst second"},
	{Name: "run queue", Title: "runnable tasks on the machine (procs_running): mean / max"},
	{Name: "GC", Title: "garbage collections and their total pause"},
	{Name: "lag p50", Title: "schedule lag: intended start to send"},
	{Name: "lag p99", Title: "schedule lag: intended start to send"},
	{Name: "lag max", Title: "schedule lag: intended start to send"},
	{Name: "dropped", Title: "open-model arrivals dropped at the in-flight cap"},
}

// envRow is one cell's line of the environment panel.
type envRow struct {
	Color template.CSS
	Label string
	ID    string
	// Values are the cells of the row, in envColumns order.
	Values []envValue
	// Saturated says why the load generator was the bottleneck ("" when
	// it was not); Unavailable lists what was not measured.
	Saturated   string
	Unavailable string
}

// envValue is one figure and its hover text (what could not be
// measured, and why).
type envValue struct {
	Text, Note string
}

// environment returns the environment panel's rows, nil when no cell
// recorded its generator's health (results written before it was).
func environment(cells []*cellView) []envRow {
	var out []envRow
	recorded := false
	for _, cv := range cells {
		c := cv.cell
		row := envRow{Color: template.CSS(cssColor(cv.color)), Label: cv.label, ID: c.ID}
		if _, why := gates.Saturation(c); why != "" {
			row.Saturated = why
		}
		h := c.Health
		if h != nil {
			recorded = true
			row.Unavailable = strings.Join(h.Unavailable, "; ")
		}
		row.Values = envValues(c, h)
		out = append(out, row)
	}
	if !recorded {
		return nil
	}
	return out
}

// envValues renders one cell's figures ("—" where not measured).
func envValues(c *results.Cell, h *results.Health) []envValue {
	var vals []envValue
	add := func(v, note string) { vals = append(vals, envValue{v, note}) }
	if h == nil {
		h = &results.Health{}
	}
	cpu := shareText(h.CPU)
	if h.CPU != nil && h.Cores > 0 {
		cpu += fmt.Sprintf(" of %d", h.Cores)
	}
	add(cpu, fmt.Sprintf("GOMAXPROCS %d, %d CPUs, %s of CPU time", h.GOMAXPROCS, h.CPUs, h.CPUTime.Round(time.Millisecond)))
	add(shareText(h.RunDelay), missing(h.RunDelay == nil, h, "process run delay"))
	add(shareText(h.OtherCPU), missing(h.OtherCPU == nil, h, "other processes"))
	add(shareText(h.Pressure), missing(h.Pressure == nil, h, "pressure"))
	add(shareText(h.Steal), missing(h.Steal == nil, h, "steal"))
	rq := "—"
	if h.RunQueue != nil {
		rq = fmt.Sprintf("%.1f / %d", h.RunQueue.Mean, h.RunQueue.Max)
	}
	add(rq, missing(h.RunQueue == nil, h, "run queue"))
	add(fmt.Sprintf("%d (%s)", h.GCCount, fmtDuration(h.GCPauses)), "")
	for _, q := range []float64{0.5, 0.99} {
		v := "—"
		if h.Lag.Count() > 0 {
			v = fmtDuration(h.Lag.Quantile(q))
		}
		add(v, "")
	}
	lagMax := "—"
	if h.Lag.Count() > 0 || c.Load.MaxLag > 0 {
		lagMax = fmtDuration(max(h.Lag.Max(), c.Load.MaxLag))
	}
	add(lagMax, "")
	dropped := "—"
	if c.Load.Model == results.ModelOpen {
		dropped = fmt.Sprint(c.Load.Dropped)
	}
	add(dropped, "")
	return vals
}

// shareText renders a share as "26 / 30 %" (mean / max), "—" when nil.
func shareText(s *results.Share) string {
	if s == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f / %.0f %%", math.Round(100*s.Mean), math.Round(100*s.Max))
}

// missing names why a figure is absent: the Unavailable entry that
// mentions it.
func missing(absent bool, h *results.Health, what string) string {
	if !absent {
		return ""
	}
	for _, u := range h.Unavailable {
		if strings.Contains(u, what) {
			return u
		}
	}
	return "not measured"
}

// fmtDuration renders a duration with three significant digits.
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3gms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.3gµs", float64(d)/1e3)
}
