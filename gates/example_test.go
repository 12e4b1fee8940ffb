package gates_test

import (
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc/codes"
	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/results"
)

// exampleCell records a cell whose GetUser calls take latency, one in ten
// of them failing at once.
func exampleCell(id string, latency time.Duration) *results.Cell {
	rec := results.NewRecorder([]string{"grpcbench.user.v1.UserService/GetUser"}, time.Time{})
	s := rec.Shard()
	for i := range 100 {
		if i%10 == 0 {
			s.Call(0, codes.Unavailable, 0, 0, 0)
			continue
		}
		s.Call(0, codes.OK, latency, latency, 0)
	}
	c := rec.Cell()
	c.ID, c.Duration = id, time.Second
	c.Params = []results.Param{{Path: "client.pool.size", Value: id[len("pool.size=") : len(id)-2]}}
	return c
}

// Thresholds come from a scenario's YAML; Validate runs before any load,
// Evaluate on the results.
func ExampleEvaluate() {
	var th gates.Thresholds
	src := `
- {p99: "< 50ms", error_rate: "< 5%"}
- {cells: "pool.size=4", method: GetUser, ok.p99: "< 20ms"}
`
	if err := yaml.Unmarshal([]byte(src), &th); err != nil {
		fmt.Println(err)
		return
	}
	run := &results.Run{Dimensions: []string{"client.pool.size"}, Cells: []*results.Cell{
		exampleCell("pool.size=1#1", 40*time.Millisecond), exampleCell("pool.size=4#1", 15*time.Millisecond),
	}}
	refs := []gates.CellRef{{ID: run.Cells[0].ID, Params: run.Cells[0].Params}, {ID: run.Cells[1].ID, Params: run.Cells[1].Params}}
	if err := th.Validate(run.Dimensions, refs, run.MethodNames()); err != nil {
		fmt.Println(err)
		return
	}
	_ = gates.WriteVerdicts(os.Stdout, gates.Evaluate(run, th))
	// Output:
	// result  cell           method   metric      value  limit   note
	// ok      pool.size=1#1  *        p99         40ms   < 50ms
	// ok      pool.size=4#1  *        p99         15ms   < 50ms
	// FAIL    pool.size=1#1  *        error_rate  10%    < 5%
	// FAIL    pool.size=4#1  *        error_rate  10%    < 5%
	// ok      pool.size=4#1  GetUser  ok.p99      15ms   < 20ms
	// thresholds: 2 of 5 checks failed
}

// With one repeat per side no difference can be significant: the
// regression of the median is reported, with a warning, and does not fail
// unless Strict.
func ExampleCompare() {
	base := &results.Run{Name: "s", Cells: []*results.Cell{exampleCell("pool.size=4#1", 10*time.Millisecond)}}
	nw := &results.Run{Name: "s", Cells: []*results.Cell{exampleCell("pool.size=4#1", 13*time.Millisecond)}}
	gs, err := gates.ParseGates([]string{"p99=+10%", "error_rate=+0.01"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, strict := range []bool{false, true} {
		c, err := gates.Compare(base, nw, gates.CompareOptions{Gates: gs, Strict: strict})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, r := range c.Rows {
			fmt.Printf("%s %s: %s, %s\n", r.Cell, r.Gate, r.Change(), r.Verdict())
		}
		fmt.Println(c.Summary())
	}
	// Output:
	// pool.size=4 p99=+10%: 10ms → 13ms (+30%, p=1.000, n=1+1), regression, low confidence
	// pool.size=4 error_rate=+0.01: 10% → 10% (+0pp, p=1.000, n=1+1), ok, low confidence
	// ok: 2 checks, 1 regression not failing (too few repeats), 2 low confidence
	// pool.size=4 p99=+10%: 10ms → 13ms (+30%, p=1.000, n=1+1), REGRESSION, low confidence
	// pool.size=4 error_rate=+0.01: 10% → 10% (+0pp, p=1.000, n=1+1), ok, low confidence
	// FAIL: 2 checks, 1 regression, 2 low confidence
}
