package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/results"
)

// cellView is one cell of one run as the charts show it.
type cellView struct {
	run      int    // index of the run
	runLabel string // label of the run
	cell     *results.Cell
	row      *SummaryRow // the cell's row of the summary
	label    string      // short label for charts
	color    color.RGBA
	latency  *results.Histogram // all methods, response time
	service  *results.Histogram // all methods, service time
	calls    int64
	codes    map[string]int64
	p99      float64 // ms; NaN without calls
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runLabels returns one label per run: opts.RunLabels when given, else the
// run names, numbered when they repeat.
func runLabels(runs []*results.Run, given []string) []string {
	out := make([]string, len(runs))
	count := map[string]int{}
	for _, r := range runs {
		count[r.Name]++
	}
	seen := map[string]int{}
	for i, r := range runs {
		if i < len(given) && given[i] != "" {
			out[i] = given[i]
			continue
		}
		name := r.Name
		if name == "" {
			name = "run"
		}
		if count[r.Name] > 1 {
			seen[r.Name]++
			name = fmt.Sprintf("%s (%d)", name, seen[r.Name])
		}
		out[i] = name
	}
	return out
}

// shortNames maps each dimension path to the shortest dotted suffix that is
// unique among dims: "client.pool.size" → "size", or "pool.size" when
// another dimension also ends in "size".
func shortNames(dims []string) map[string]string {
	out := make(map[string]string, len(dims))
	for k := 1; ; k++ {
		taken := map[string]int{}
		names := make(map[string]string, len(dims))
		for _, d := range dims {
			parts := strings.Split(d, ".")
			s := strings.Join(parts[max(0, len(parts)-k):], ".")
			names[d] = s
			taken[s]++
		}
		done := true
		for _, d := range dims {
			if _, ok := out[d]; ok {
				continue
			}
			if taken[names[d]] == 1 || names[d] == d {
				out[d] = names[d]
			} else {
				done = false
			}
		}
		if done {
			return out
		}
	}
}

// buildCells flattens the runs into cell views with labels and colours,
// each pointing at its row of sum (in the same order).
func buildCells(runs []*results.Run, labels []string, sum *Summary) []*cellView {
	var out []*cellView
	multi := len(runs) > 1
	for i := range sum.Rows {
		r := &sum.Rows[i]
		c := r.Cell
		v := &cellView{run: r.Run, runLabel: labels[r.Run], cell: c, row: r, color: colorAt(len(out)), p99: math.NaN()}
		v.label = cellLabel(runs[r.Run], c)
		if multi {
			v.label = labels[r.Run] + ": " + v.label
		}
		if all := c.Aggregate(); all != nil {
			v.latency, v.service = all.Latency, all.Service
			v.calls, v.codes = all.Calls, all.Codes
		}
		if v.latency.Count() > 0 {
			v.p99 = ms(v.latency.Quantile(0.99))
		}
		out = append(out, v)
	}
	return out
}

// cellLabel names a cell by its params' short names ("size=4
// policy=round_robin"), with its repeat suffix ("#2") when the run has
// repeats; the ID when it has no params.
func cellLabel(run *results.Run, c *results.Cell) string {
	short := shortNames(run.Dimensions)
	var parts []string
	for _, p := range c.Params {
		name := short[p.Path]
		if name == "" {
			name = p.Path
		}
		parts = append(parts, name+"="+p.Value)
	}
	if len(parts) == 0 {
		return c.ID
	}
	label := strings.Join(parts, " ")
	repeats := false
	for _, o := range run.Cells {
		repeats = repeats || (o != nil && o != c && gates.BaseID(o.ID) == gates.BaseID(c.ID))
	}
	if i := strings.LastIndexByte(c.ID, '#'); repeats && i >= 0 {
		label += " " + c.ID[i:]
	}
	return label
}

// featured picks at most n cells with calls for charts that cannot show
// every cell: when there are more, the n/2 with the lowest p99 among the
// comparable (unflagged) cells (the winners) and the rest with the highest
// (the losers), in report order. It also returns a description of the
// choice ("" when every cell is shown).
func featured(cells []*cellView, n int) ([]*cellView, string) {
	var with []*cellView
	for _, c := range cells {
		if c.calls > 0 {
			with = append(with, c)
		}
	}
	if len(with) <= n {
		return with, ""
	}
	// Winners: lowest p99, comparable cells first.
	byP99 := slices.Clone(with)
	sort.SliceStable(byP99, func(i, j int) bool {
		fi, fj := byP99[i].flagged(), byP99[j].flagged()
		if fi != fj {
			return !fi
		}
		return byP99[i].p99 < byP99[j].p99
	})
	best := (n + 1) / 2
	pick := map[*cellView]bool{}
	for _, c := range byP99[:best] {
		pick[c] = true
	}
	// Losers: highest p99 of the rest.
	rest := slices.DeleteFunc(slices.Clone(with), func(c *cellView) bool { return pick[c] })
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].p99 > rest[j].p99 })
	for _, c := range rest[:n-best] {
		pick[c] = true
	}
	var out []*cellView
	for _, c := range with {
		if pick[c] {
			out = append(out, c)
		}
	}
	return out, fmt.Sprintf("%d of %d cells: the %d with the lowest p99 among the comparable cells and the %d with the highest", n, len(with), best, n-best)
}

// flagged reports whether the summary flags the cell as not comparable.
func (v *cellView) flagged() bool { return v.row != nil && len(v.row.Flags) > 0 }
