package gates_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/results"
)

func TestParseMetric(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		kind    gates.Kind
		perCell bool
		worse   bool
		err     string
	}{
		{in: "p99", name: "p99", kind: gates.KindDuration, worse: true},
		{in: "p50", name: "p50", kind: gates.KindDuration, worse: true},
		{in: "p99.9", name: "p99.9", kind: gates.KindDuration, worse: true},
		{in: "p100", name: "p100", kind: gates.KindDuration, worse: true},
		{in: "latency.p99", name: "p99", kind: gates.KindDuration, worse: true},
		{in: "mean", name: "mean", kind: gates.KindDuration, worse: true},
		{in: "max", name: "max", kind: gates.KindDuration, worse: true},
		{in: "min", name: "min", kind: gates.KindDuration, worse: true},
		{in: "attempt.p99", name: "attempt.p99", kind: gates.KindDuration, worse: true},
		{in: "ok.p99", name: "ok.p99", kind: gates.KindDuration, worse: true},
		{in: "ok.mean", name: "ok.mean", kind: gates.KindDuration, worse: true},
		{in: "ttfm.p99", name: "ttfm.p99", kind: gates.KindDuration, worse: true},
		{in: "service.p99.99", name: "service.p99.99", kind: gates.KindDuration, worse: true},
		{in: "rtt.mean", name: "rtt.mean", kind: gates.KindDuration, worse: true},
		{in: "error_rate", name: "error_rate", kind: gates.KindFraction, worse: true},
		{in: "rps", name: "rps", kind: gates.KindRate},
		{in: "rps_ratio", name: "rps_ratio", kind: gates.KindRatio, perCell: true},
		{in: "retries_per_call", name: "retries_per_call", kind: gates.KindRatio, perCell: true, worse: true},
		{in: "breaker_trips", name: "breaker_trips", kind: gates.KindCount, perCell: true, worse: true},
		{in: "breaker_rejections", name: "breaker_rejections", kind: gates.KindCount, perCell: true, worse: true},
		{in: "p999", err: "write p99.9"},
		{in: "p0", err: "above 0"},
		{in: "p", err: "unknown metric"},
		{in: "pxx", err: "unknown metric"},
		{in: "p9e1", err: "unknown metric"},
		{in: "P99", err: "unknown metric"},
		{in: "latency", err: "unknown metric"},
		{in: "attempt.error_rate", err: "unknown metric"},
		{in: "queue.p99", err: "unknown metric"},
		{in: "errors", err: "unknown metric"},
		{in: "", err: "unknown metric"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := gates.ParseMetric(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil || m.Name != tt.name || m.Kind != tt.kind || m.PerCell != tt.perCell || m.HigherIsWorse != tt.worse {
				t.Fatalf("ParseMetric = %+v, %v; want name %s kind %v perCell %v worse %v", m, err, tt.name, tt.kind, tt.perCell, tt.worse)
			}
		})
	}
}

func TestParseExpr(t *testing.T) {
	tests := []struct {
		metric, expr string
		op           gates.Op
		limit        float64
		err          string
	}{
		{metric: "p99", expr: "< 150ms", op: gates.OpLT, limit: 0.150},
		{metric: "p99", expr: "<150ms", op: gates.OpLT, limit: 0.150},
		{metric: "p99", expr: "  <=   1.5s ", op: gates.OpLE, limit: 1.5},
		{metric: "p50", expr: "> 300us", op: gates.OpGT, limit: 300e-6},
		{metric: "p50", expr: ">= 300µs", op: gates.OpGE, limit: 300e-6},
		{metric: "max", expr: "!= 0s", op: gates.OpNE, limit: 0},
		{metric: "error_rate", expr: "< 1%", op: gates.OpLT, limit: 0.01},
		{metric: "error_rate", expr: "< 0.5 %", op: gates.OpLT, limit: 0.005},
		{metric: "error_rate", expr: "<= 0.01", op: gates.OpLE, limit: 0.01},
		{metric: "rps", expr: "> 1800", op: gates.OpGT, limit: 1800},
		{metric: "rps_ratio", expr: ">= 0.95", op: gates.OpGE, limit: 0.95},
		{metric: "rps_ratio", expr: ">= 95%", op: gates.OpGE, limit: 0.95},
		{metric: "retries_per_call", expr: "< 0.2", op: gates.OpLT, limit: 0.2},
		{metric: "breaker_trips", expr: "== 0", op: gates.OpEQ, limit: 0},
		{metric: "breaker_rejections", expr: "<= 10", op: gates.OpLE, limit: 10},
		// Bad expressions, one kind each.
		{metric: "p99", expr: "<< 1", err: `malformed expression "<< 1"`},
		{metric: "p99", expr: "", err: "empty expression"},
		{metric: "p99", expr: "150ms", err: "must start with"},
		{metric: "p99", expr: "=< 150ms", err: "must start with"},
		{metric: "p99", expr: "= 150ms", err: "must start with"},
		{metric: "p99", expr: "<", err: "missing value"},
		{metric: "p99", expr: "< 150", err: "give a duration with a unit, e.g. 150ms"},
		{metric: "p99", expr: "< 150 ms s", err: "bad duration"},
		{metric: "p99", expr: "< 150qs", err: "bad duration"},
		{metric: "p99", expr: "< 1%", err: "duration"},
		{metric: "p99", expr: "< -5ms", err: "negative"},
		{metric: "p99", expr: "< abc", err: "bad duration"},
		{metric: "p99", expr: "< 1.2.3ms", err: "bad duration"},
		{metric: "p99", expr: "< #", err: "bad value"},
		{metric: "error_rate", expr: "< 2", err: "above 100%"},
		{metric: "error_rate", expr: "< 150%", err: "above 100%"},
		{metric: "error_rate", expr: "< 1s", err: "not a duration"},
		{metric: "error_rate", expr: "< x%", err: "bad percentage"},
		{metric: "rps", expr: "> 5%", err: "plain number"},
		{metric: "rps", expr: "> 1s", err: "plain number"},
		{metric: "rps", expr: "> NaN", err: "bad"},
		{metric: "rps", expr: "> Inf", err: "bad"},
		{metric: "rps", expr: "> 0x10", err: "bad"},
		{metric: "rps_ratio", expr: "> 1ms", err: "ratio"},
		{metric: "breaker_trips", expr: "< 0.5", err: "whole number"},
		{metric: "breaker_trips", expr: "< 1%", err: "whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.metric+" "+tt.expr, func(t *testing.T) {
			m, err := gates.ParseMetric(tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			e, err := gates.ParseExpr(m, tt.expr)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil || e.Op != tt.op || math.Abs(e.Limit-tt.limit) > 1e-12 {
				t.Fatalf("ParseExpr = %+v, %v; want %s %v", e, err, tt.op, tt.limit)
			}
		})
	}
}

func TestOpHolds(t *testing.T) {
	tests := []struct {
		op   gates.Op
		v, l float64
		want bool
	}{
		{gates.OpLT, 1, 2, true}, {gates.OpLT, 2, 2, false}, {gates.OpLE, 2, 2, true}, {gates.OpLE, 3, 2, false},
		{gates.OpGT, 3, 2, true}, {gates.OpGT, 2, 2, false}, {gates.OpGE, 2, 2, true}, {gates.OpGE, 1, 2, false},
		{gates.OpEQ, 0, 0, true}, {gates.OpEQ, 1, 0, false}, {gates.OpNE, 1, 0, true}, {gates.OpNE, 0, 0, false},
		{gates.OpNE, math.NaN(), 0, false}, {gates.OpLT, math.NaN(), 1, false}, {gates.Op("~"), 1, 1, false},
	}
	for _, tt := range tests {
		if got := tt.op.Holds(tt.v, tt.l); got != tt.want {
			t.Errorf("%v %s %v = %v, want %v", tt.v, tt.op, tt.l, got, tt.want)
		}
	}
}

// TestMetricValues reads every metric from a cell built by hand.
func TestMetricValues(t *testing.T) {
	h := func(ds ...time.Duration) *results.Histogram {
		x := results.NewHistogram()
		for _, d := range ds {
			x.Record(d)
		}
		return x
	}
	ms := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i+1) * time.Millisecond
		}
		return out
	}
	get := &results.MethodStats{Calls: 100, Errors: 2, Latency: h(ms(100)...), OK: h(ms(98)...), Attempt: h(ms(10)...),
		Service: h(5 * time.Millisecond), TTFM: nil}
	list := &results.MethodStats{Calls: 20, Latency: h(time.Second), TTFM: h(300 * time.Microsecond), MessageRTT: h(2 * time.Millisecond)}
	c := &results.Cell{
		ID: "x#0", Duration: 10 * time.Second,
		Load:    results.Load{Model: results.ModelOpen, TargetRate: 15, AchievedRate: 12, Completed: 120},
		Methods: map[string]*results.MethodStats{getUser: get, listUsers: list},
		All:     &results.MethodStats{Calls: 120, Errors: 6, Latency: h(ms(100)...)},
		Retry:   results.Retry{Calls: 100, Attempts: 125},
		Breaker: results.Breaker{Trips: 3, Rejections: 17},
	}
	closed := &results.Cell{ID: "y#0", Duration: 2 * time.Second, Load: results.Load{Model: results.ModelClosed, Completed: 50}}
	tests := []struct {
		metric, method string
		cell           *results.Cell
		want           float64
		tol            float64
		noData         string
	}{
		{metric: "p50", want: 0.050, tol: 0.0001},
		{metric: "p99", want: 0.099, tol: 0.0001},
		{metric: "p100", want: 0.100, tol: 0.0001},
		{metric: "max", want: 0.100, tol: 0.0001},
		{metric: "min", want: 0.001, tol: 0.00001},
		{metric: "mean", want: 0.0505, tol: 0.0001},
		{metric: "p99", method: listUsers, want: 1, tol: 0.001},
		{metric: "attempt.max", method: getUser, want: 0.010, tol: 0.00001},
		{metric: "ok.max", method: getUser, want: 0.098, tol: 0.0001},
		{metric: "ok.p50", method: getUser, want: 0.049, tol: 0.0001},
		{metric: "ok.p99", method: listUsers, noData: "no ok samples"},
		{metric: "service.p50", method: getUser, want: 0.005, tol: 0.00001},
		{metric: "ttfm.p99", method: listUsers, want: 300e-6, tol: 1e-6},
		{metric: "rtt.p99", method: listUsers, want: 0.002, tol: 0.00001},
		{metric: "ttfm.p99", method: getUser, noData: "no ttfm samples"},
		{metric: "p99", method: "grpcbench.user.v1.UserService/SyncUsers", noData: "no calls"},
		{metric: "error_rate", want: 0.05},
		{metric: "error_rate", method: getUser, want: 0.02},
		{metric: "error_rate", method: "grpcbench.user.v1.UserService/SyncUsers", noData: "no calls"},
		{metric: "rps", want: 12},
		{metric: "rps", method: listUsers, want: 2},
		{metric: "rps", cell: closed, want: 25},
		{metric: "rps_ratio", want: 0.8},
		{metric: "rps_ratio", cell: closed, noData: "no target rate"},
		{metric: "retries_per_call", want: 0.25},
		{metric: "retries_per_call", cell: closed, noData: "retry layer"},
		{metric: "breaker_trips", want: 3},
		{metric: "breaker_rejections", want: 17},
		{metric: "breaker_trips", cell: closed, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.metric+"@"+tt.method, func(t *testing.T) {
			m, err := gates.ParseMetric(tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			cell := tt.cell
			if cell == nil {
				cell = c
			}
			v, ok, why := m.Value(cell, tt.method)
			if tt.noData != "" {
				if ok || !strings.Contains(why, tt.noData) {
					t.Fatalf("Value = %v, %v, %q; want no data %q", v, ok, why, tt.noData)
				}
				return
			}
			if !ok || math.Abs(v-tt.want) > tt.tol {
				t.Fatalf("Value = %v, %v, %q; want %v ±%v", v, ok, why, tt.want, tt.tol)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		metric string
		v      float64
		want   string
	}{
		{"p99", 0.0123456, "12.3ms"}, {"p99", 1.5, "1.5s"}, {"p99", 0.000250, "250µs"}, {"p99", 0, "0s"},
		{"p99", 3e-8, "30ns"}, {"error_rate", 0.0052, "0.52%"}, {"rps", 1834.4, "1834/s"}, {"rps_ratio", 0.9712, "0.971"},
		{"breaker_trips", 3, "3"}, {"p99", math.NaN(), "n/a"},
	}
	for _, tt := range tests {
		m, _ := gates.ParseMetric(tt.metric)
		if got := m.Format(tt.v); got != tt.want {
			t.Errorf("%s.Format(%v) = %q, want %q", tt.metric, tt.v, got, tt.want)
		}
	}
}
