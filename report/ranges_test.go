package report_test

import (
	"strings"
	"testing"

	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

// TestChartRanges checks that every chart's value axis covers its data
// (every series' maximum at or below the top labelled tick, the minimum on
// the axis) for runs of several shapes, and pins the ranges in a golden
// file (go test -update rewrites it).
func TestChartRanges(t *testing.T) {
	pool := dim{"client.pool.size", []string{"1", "2", "4"}}
	lb := dim{"client.lb.policy", []string{"pick_first", "round_robin"}}
	backoff := dim{"client.retry.policy", []string{"exponential", "fixed"}}
	cases := []struct {
		name string
		runs []*results.Run
	}{
		{"pool-vs-lb", []*results.Run{poolVsLB(2, "least_request")}},
		{"three dimensions", []*results.Run{synth{name: "d3", dims: []dim{pool, lb, backoff}, secs: 12, perSec: 40, seed: 4}.run(t)}},
		{"baseline vs new", []*results.Run{synth{name: "cmp", dims: []dim{pool}, secs: 8, perSec: 40, seed: 6}.run(t),
			synth{name: "cmp", dims: []dim{pool}, secs: 8, perSec: 40, seed: 7}.run(t)}},
		{"plain", []*results.Run{synth{name: "plain", secs: 5, perSec: 10, seed: 5, plain: true}.run(t)}},
	}
	var all []string
	for _, c := range cases {
		lines, bad, err := report.ChartRanges(c.runs, report.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			t.Errorf("%s: axis does not cover its data: %s", c.name, b)
		}
		if len(lines) == 0 {
			t.Errorf("%s: no panels", c.name)
		}
		all = append(all, "# "+c.name)
		all = append(all, lines...)
	}
	testutil.Golden(t, "chart-ranges.txt", []byte(strings.Join(all, "\n")+"\n"))
}

// TestLegendColours: no legend of a chart (fault kinds, attempts per call)
// uses a colour close to one of the cells drawn in that chart, however many
// cells there are.
func TestLegendColours(t *testing.T) {
	pool := dim{"client.pool.size", []string{"1", "2", "4", "8", "16"}}
	lb := dim{"client.lb.policy", []string{"pick_first", "round_robin", "least_request", "ring_hash"}}
	for _, runs := range [][]*results.Run{
		{synth{name: "few", dims: []dim{pool}, secs: 6, perSec: 20, seed: 1}.run(t)},
		{synth{name: "many", dims: []dim{pool, lb}, secs: 6, perSec: 20, seed: 2}.run(t)},
	} {
		clashes, err := report.LegendClashes(runs)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range clashes {
			t.Errorf("%s: %s", runs[0].Name, c)
		}
	}
}
