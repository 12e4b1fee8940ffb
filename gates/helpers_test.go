package gates_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/results"
)

// Full method names, as the recorder keys Cell.Methods.
const (
	getUser   = "grpcbench.user.v1.UserService/GetUser"
	listUsers = "grpcbench.user.v1.UserService/ListUsers"
)

// compare runs gates.Compare and fails the test on an error.
func compare(t testing.TB, base, nw *results.Run, opts gates.CompareOptions) *gates.Comparison {
	t.Helper()
	c, err := gates.Compare(base, nw, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cellSpec describes a synthetic cell.
type cellSpec struct {
	id     string // base ID; "#repeat" is appended
	repeat int
	params []results.Param
	// median latency of GetUser; values are lognormal around it.
	median time.Duration
	calls  int
	errors int
	rng    *rand.Rand
}

// mkCell builds a cell with GetUser calls whose latencies are
// median·exp(0.3·N(0,1)), service time 90 % of it, one attempt each, and a
// ListUsers stream with TTFM.
func mkCell(s cellSpec) *results.Cell {
	if s.calls == 0 {
		s.calls = 500
	}
	if s.rng == nil {
		s.rng = rand.New(rand.NewPCG(uint64(s.repeat)+1, 7))
	}
	c := &results.Cell{
		ID:       fmt.Sprintf("%s#%d", s.id, s.repeat),
		Repeat:   s.repeat,
		Params:   s.params,
		Duration: 10 * time.Second,
		Load:     results.Load{Model: results.ModelOpen, TargetRate: 60, AchievedRate: float64(s.calls+10) / 10, Completed: int64(s.calls + 10)},
		Methods:  map[string]*results.MethodStats{},
		Retry:    results.Retry{Calls: int64(s.calls + 10), Attempts: int64(s.calls+10) + int64(s.errors)},
		Breaker:  results.Breaker{Trips: 1, Rejections: 4},
	}
	get := &results.MethodStats{Calls: int64(s.calls), Errors: int64(s.errors), Latency: results.NewHistogram(),
		Service: results.NewHistogram(), Attempt: results.NewHistogram()}
	for range s.calls {
		d := time.Duration(float64(s.median) * math.Exp(0.3*s.rng.NormFloat64()))
		get.Latency.Record(d)
		get.Service.Record(d * 9 / 10)
		get.Attempt.Record(d * 9 / 10)
	}
	list := &results.MethodStats{Calls: 10, Latency: results.NewHistogram(), TTFM: results.NewHistogram()}
	for i := range 10 {
		list.Latency.Record(time.Duration(i+1) * time.Millisecond)
		list.TTFM.Record(time.Duration(i+1) * 100 * time.Microsecond)
	}
	c.Methods[getUser], c.Methods[listUsers] = get, list
	all := &results.MethodStats{Calls: get.Calls + list.Calls, Errors: get.Errors, Latency: get.Latency.Clone(),
		Service: get.Service.Clone(), Attempt: get.Attempt.Clone(), TTFM: list.TTFM.Clone()}
	all.Latency.Merge(list.Latency)
	c.All = all
	return c
}

// mkRun builds a run of cells over dimension client.pool.size with the
// given sizes and per-size medians, repeats times each.
func mkRun(name string, repeats int, medians map[string]time.Duration, seed uint64) *results.Run {
	run := &results.Run{Schema: results.Schema, Name: name, Dimensions: []string{"client.pool.size"}}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for _, size := range sortedKeys(medians) {
		for r := range repeats {
			// Run-to-run noise: each repeat's median moves by ±5 %.
			med := time.Duration(float64(medians[size]) * (1 + 0.05*(2*rng.Float64()-1)))
			run.Cells = append(run.Cells, mkCell(cellSpec{
				id: "pool.size=" + size, repeat: r, median: med, rng: rng,
				params: []results.Param{{Path: "client.pool.size", Value: size}},
			}))
		}
	}
	return run
}

func sortedKeys(m map[string]time.Duration) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if strings.Compare(ks[j], ks[i]) < 0 {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}
