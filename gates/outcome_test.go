package gates_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/results"
)

// fastFailures records a cell in which 60 % of the calls fail in 1 ms and
// the rest succeed in ok (the recorder fills Latency and OK as the runner
// does).
func fastFailures(id string, repeat int, ok time.Duration) *results.Cell {
	rec := results.NewRecorder([]string{getUser}, time.Time{})
	s := rec.Shard()
	for i := range 1000 {
		if i%5 < 3 {
			s.Call(0, codes.Unavailable, time.Millisecond, time.Millisecond, 0)
		} else {
			s.Call(0, codes.OK, ok+time.Duration(i)*time.Microsecond, ok, 0)
		}
	}
	c := rec.Cell()
	c.ID, c.Repeat, c.Duration = id+"#"+string(rune('1'+repeat)), repeat, time.Second
	return c
}

// A plain p99 counts the fast failures, so it looks healthy while most
// calls fail; ok.p99 reads the successful calls only and catches it.
func TestOKLatencyThresholds(t *testing.T) {
	run := &results.Run{Name: "fast-failures", Cells: []*results.Cell{fastFailures("c", 0, 200*time.Millisecond)}}
	th := gates.Thresholds{Rules: []gates.Rule{{Checks: []gates.Check{
		{Metric: "p50", Expr: "< 50ms"}, {Metric: "ok.p50", Expr: "< 50ms"}, {Metric: "ok.p99", Expr: "< 50ms"},
	}}, {Method: "GetUser", Checks: []gates.Check{{Metric: "ok.max", Expr: "< 50ms"}}}}}
	vs := gates.Evaluate(run, th)
	if len(vs) != 4 {
		t.Fatalf("%d verdicts: %+v", len(vs), vs)
	}
	if !vs[0].Pass || vs[0].Value > 0.002 {
		t.Errorf("p50 of all calls: %+v, want the fast failures (1ms) to pass", vs[0])
	}
	for _, v := range vs[1:] {
		if v.Pass || v.Value < 0.2 {
			t.Errorf("%s %s: %+v, want ~200ms of the OK calls to fail the gate", v.Method, v.Metric, v)
		}
	}
	// A cell in which no call succeeded has no OK latency: fail closed.
	none := &results.Run{Cells: []*results.Cell{fastFailures("n", 0, time.Millisecond)}}
	none.Cells[0].Methods[getUser].OK, none.Cells[0].All.OK = nil, nil
	vs = gates.Evaluate(none, gates.Thresholds{Rules: []gates.Rule{{Checks: []gates.Check{{Metric: "ok.p99", Expr: "< 1s"}}}}})
	if len(vs) != 1 || vs[0].Pass || vs[0].Note != "no data: no ok samples" {
		t.Errorf("no successful call: %+v", vs)
	}
}

// Compare gates on ok latency see a regression of the successful calls that
// the latency of all calls hides behind fast failures.
func TestOKLatencyCompare(t *testing.T) {
	mk := func(ok time.Duration) *results.Run {
		run := &results.Run{Name: "s"}
		for r := range 5 {
			run.Cells = append(run.Cells, fastFailures("c", r, ok+time.Duration(r)*100*time.Microsecond))
		}
		return run
	}
	c := compare(t, mk(20*time.Millisecond), mk(40*time.Millisecond), gates.CompareOptions{Gates: mustGates(t, "p50=+10%", "ok.p50@GetUser=+10%")})
	if len(c.Rows) != 2 {
		t.Fatalf("%d rows", len(c.Rows))
	}
	if r := c.Rows[0]; r.Status != gates.StatusOK || !r.Pass {
		t.Errorf("p50 (all calls, mostly fast failures): %s %s", r.Verdict(), r.Change())
	}
	if r := c.Rows[1]; r.Status != gates.StatusRegression || r.Pass || r.Delta < 0.9 {
		t.Errorf("ok.p50: %s %s, want a significant regression of about +100%%", r.Verdict(), r.Change())
	}
}

func TestCompareGateMethods(t *testing.T) {
	run := &results.Run{Name: "s", Cells: []*results.Cell{fastFailures("c", 0, time.Millisecond)}}
	run.Cells[0].Methods["grpcbench.admin.v1.AdminService/GetUser"] = run.Cells[0].Methods[getUser]
	tests := []struct{ gate, err string }{
		{"p99@UserService/GetUser=+10%", ""},
		{"p99@grpcbench.user.v1.UserService/GetUser=+10%", ""},
		{"p99@GetUser=+10%", `gate "p99@GetUser=+10%": method "GetUser" is ambiguous`},
		{"p99@PutUser=+10%", `gate "p99@PutUser=+10%": unknown method "PutUser" (methods: grpcbench.admin.v1.AdminService/GetUser, grpcbench.user.v1.UserService/GetUser)`},
	}
	for _, tt := range tests {
		c, err := gates.Compare(run, run, gates.CompareOptions{Gates: mustGates(t, tt.gate)})
		switch {
		case tt.err == "" && (err != nil || len(c.Rows) != 1 || !c.Rows[0].Pass || len(c.Rows[0].Base.Values) != 1):
			t.Errorf("%s: %v %+v", tt.gate, err, c)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want %q", tt.gate, err, tt.err)
		}
	}
}
