package report

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// cellView is one cell of one run as the report shows it.
type cellView struct {
	run      int    // index of the run
	runLabel string // label of the run
	cell     *results.Cell
	label    string // short label for charts
	color    color.RGBA
	latency  *results.Histogram // all methods, response time
	service  *results.Histogram // all methods, service time
	calls    int64
	errors   int64
	codes    map[string]int64
	// Summary figures; NaN when not applicable.
	rate, p50, p90, p99, p999, max float64 // calls/s and ms
	errRate, retriesPerCall        float64
	trips                          float64
	achieved                       float64 // achieved / target rate
}

// allStats returns the aggregate statistics of c: c.All, or the sum of its
// methods when All is missing.
func allStats(c *results.Cell) *results.MethodStats {
	if c.All != nil {
		return c.All
	}
	all := &results.MethodStats{}
	names := make([]string, 0, len(c.Methods))
	for n := range c.Methods {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := c.Methods[n]
		if m == nil {
			continue
		}
		all.Calls += m.Calls
		all.Errors += m.Errors
		for k, v := range m.Codes {
			if all.Codes == nil {
				all.Codes = map[string]int64{}
			}
			all.Codes[k] += v
		}
		all.Latency = mergeInto(all.Latency, m.Latency)
		all.Service = mergeInto(all.Service, m.Service)
	}
	return all
}

// mergeInto adds src to dst (allocating dst when nil) and returns dst.
func mergeInto(dst, src *results.Histogram) *results.Histogram {
	if src == nil {
		return dst
	}
	if dst == nil {
		return src.Clone()
	}
	dst.Merge(src)
	return dst
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

// buildCells flattens the runs into cell views with labels, colours and
// summary figures.
func buildCells(runs []*results.Run, labels []string) []*cellView {
	var out []*cellView
	multi := len(runs) > 1
	for ri, r := range runs {
		short := shortNames(r.Dimensions)
		repeats := false
		for _, c := range r.Cells {
			if c != nil && c.Repeat > 0 {
				repeats = true
			}
		}
		for _, c := range r.Cells {
			if c == nil {
				continue
			}
			v := &cellView{run: ri, runLabel: labels[ri], cell: c, color: colorAt(len(out))}
			var parts []string
			for _, p := range c.Params {
				name := short[p.Path]
				if name == "" {
					name = p.Path
				}
				parts = append(parts, name+"="+p.Value)
			}
			v.label = strings.Join(parts, " ")
			if v.label == "" {
				v.label = c.ID
			} else if repeats {
				v.label += " #" + strconv.Itoa(c.Repeat)
			}
			if multi {
				v.label = labels[ri] + ": " + v.label
			}
			all := allStats(c)
			v.latency, v.service = all.Latency, all.Service
			v.calls, v.errors, v.codes = all.Calls, all.Errors, all.Codes
			v.summarise()
			out = append(out, v)
		}
	}
	return out
}

// summarise fills the summary figures of v.
func (v *cellView) summarise() {
	c := v.cell
	nan := math.NaN()
	v.rate = c.Rate()
	if c.Duration <= 0 {
		v.rate = nan
	}
	v.p50, v.p90, v.p99, v.p999, v.max = nan, nan, nan, nan, nan
	if v.latency.Count() > 0 {
		q := v.latency.Quantiles(0.5, 0.9, 0.99, 0.999)
		v.p50, v.p90, v.p99, v.p999 = ms(q[0]), ms(q[1]), ms(q[2]), ms(q[3])
		v.max = ms(v.latency.Max())
	}
	v.errRate = nan
	if v.calls > 0 {
		v.errRate = float64(v.errors) / float64(v.calls)
	}
	v.retriesPerCall = nan
	if c.Retry.Calls > 0 {
		v.retriesPerCall = c.Retry.RetriesPerCall()
	}
	v.trips = float64(c.Breaker.Trips)
	v.achieved = nan
	if c.Load.TargetRate > 0 {
		achieved := c.Load.AchievedRate
		if achieved == 0 && c.Duration > 0 {
			achieved = c.Rate()
		}
		v.achieved = achieved / c.Load.TargetRate
	}
}

// featured picks at most n cells with calls for charts that cannot show
// every cell: when there are more, the n/2 with the lowest p99 (the
// winners) and the rest with the highest (the losers), in report order.
// It also returns a description of the choice ("" when every cell is
// shown).
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
	byP99 := append([]*cellView(nil), with...)
	sort.SliceStable(byP99, func(i, j int) bool { return byP99[i].p99 < byP99[j].p99 })
	best := (n + 1) / 2
	pick := map[*cellView]bool{}
	for _, c := range byP99[:best] {
		pick[c] = true
	}
	for _, c := range byP99[len(byP99)-(n-best):] {
		pick[c] = true
	}
	var out []*cellView
	for _, c := range with {
		if pick[c] {
			out = append(out, c)
		}
	}
	return out, fmt.Sprintf("%d of %d cells: the %d lowest and %d highest p99", n, len(with), best, n-best)
}
