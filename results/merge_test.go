package results_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// Two load generators ran the same cell, the second starting 2 s later.
// Merging their cells equals recording every call into one recorder.
func TestMergeSameCellIsExact(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const lag = 2 * time.Second
	a := results.NewRecorder(testMethods, start)
	b := results.NewRecorder(testMethods, start.Add(lag))
	single := results.NewRecorder(testMethods, start)
	sa, sb, ss := a.Shard(), b.Shard(), single.Shard()
	for i, e := range randomEvents(9, 20000) {
		s, shift := sa, time.Duration(0)
		if i%2 == 1 {
			s, shift = sb, lag
		}
		s.Call(e.method, e.code, e.lat, e.svc, e.at)
		ss.Call(e.method, e.code, e.lat, e.svc, e.at+shift)
		s.CallAttempts(1 + i%2)
		ss.CallAttempts(1 + i%2)
		s.Peer("127.0.0.1:1")
		ss.Peer("127.0.0.1:1")
	}
	cell := func(r *results.Recorder, d time.Duration, rate float64) *results.Cell {
		c := r.Cell()
		c.ID, c.Duration = "pool.size=1#0", d
		c.Load.Model, c.Load.TargetRate, c.Load.Workers = results.ModelOpen, rate, 8
		c.Backends[0].ServerCalls = c.Backends[0].ClientCalls
		c.Breaker.Trips = 1
		return c
	}
	ca, cb := cell(a, 5*time.Second, 1000), cell(b, 5*time.Second, 1000)
	ca.Backends[0].ServerMaxInflight, cb.Backends[0].ServerMaxInflight = 7, 12
	want := cell(single, 7*time.Second, 2000)
	runA := &results.Run{Name: "s", Started: start, Finished: start.Add(5 * time.Second), Cells: []*results.Cell{ca}}
	runB := &results.Run{Name: "s", Started: start.Add(lag), Finished: start.Add(7 * time.Second), Partial: true, Cells: []*results.Cell{cb}}
	beforeA, beforeB := encode(t, runA), encode(t, runB)

	m, err := results.Merge(runA, runB)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(beforeA, encode(t, runA)) || !bytes.Equal(beforeB, encode(t, runB)) {
		t.Fatal("Merge modified its inputs")
	}
	if !m.Partial || !m.Started.Equal(start) || !m.Finished.Equal(start.Add(7*time.Second)) || len(m.Cells) != 1 {
		t.Fatalf("merged run = %+v", m)
	}
	got := m.Cells[0]
	if !got.Start.Equal(start) || got.Duration != 7*time.Second {
		t.Errorf("start, duration = %v, %v", got.Start, got.Duration)
	}
	for name, w := range want.Methods {
		g := got.Methods[name]
		sameBuckets(t, name+" latency", g.Latency, w.Latency)
		sameBuckets(t, name+" service", g.Service, w.Service)
		if g.Calls != w.Calls || g.Errors != w.Errors || len(g.Codes) != len(w.Codes) {
			t.Errorf("%s: %+v, want %+v", name, g, w)
		}
	}
	sameBuckets(t, "all", got.All.Latency, want.All.Latency)
	if got.Load.TargetRate != 2000 || got.Load.Workers != 16 || got.Load.Completed != want.Load.Completed {
		t.Errorf("load = %+v", got.Load)
	}
	if got.Retry.Calls != want.Retry.Calls || got.Retry.Attempts != want.Retry.Attempts || got.Retry.AttemptsPerCall[2] != want.Retry.AttemptsPerCall[2] {
		t.Errorf("retry = %+v, want %+v", got.Retry, want.Retry)
	}
	if got.Breaker.Trips != 2 || len(got.Backends) != 1 || got.Backends[0].ServerCalls != want.Backends[0].ClientCalls ||
		got.Backends[0].ServerMaxInflight != 12 { // the largest, not the sum
		t.Errorf("breaker %+v backends %+v", got.Breaker, got.Backends)
	}
	if len(got.Series) != len(want.Series) {
		t.Fatalf("series: %d seconds, want %d", len(got.Series), len(want.Series))
	}
	for i := range want.Series {
		if got.Series[i] != want.Series[i] {
			t.Errorf("second %d: %+v\nwant %+v", i, got.Series[i], want.Series[i])
		}
	}
}

func TestMergeDisjointCells(t *testing.T) {
	mk := func(id string, index, repeat int) *results.Cell {
		return &results.Cell{ID: id, Index: index, Repeat: repeat, Load: results.Load{Model: results.ModelClosed}}
	}
	r1 := &results.Run{Name: "s", Cells: []*results.Cell{mk("b#0", 1, 0), mk("a#1", 0, 1)}}
	r2 := &results.Run{Name: "s", Cells: []*results.Cell{mk("a#0", 0, 0), mk("c#0", 2, 0)}}
	m, err := results.Merge(r1, r2)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range m.Cells {
		ids = append(ids, c.ID)
	}
	if got := strings.Join(ids, " "); got != "a#0 a#1 b#0 c#0" {
		t.Fatalf("cells = %s", got)
	}
	if m.Schema != results.Schema || m.Partial {
		t.Fatalf("run = %+v", m)
	}
	// The merged run encodes and decodes.
	if _, err := results.Decode(bytes.NewReader(encode(t, m))); err != nil {
		t.Fatal(err)
	}
}

func TestMergeErrors(t *testing.T) {
	ok := func() *results.Run { return &results.Run{Name: "s", Cells: []*results.Cell{{ID: "a"}}} }
	withSeries := func(hdr string) *results.Run {
		r := ok()
		r.Cells[0].Series = []results.Second{{T: 0, Calls: 1, HDR: hdr}}
		return r
	}
	tests := []struct {
		name string
		runs []*results.Run
		want string
	}{
		{"no runs", nil, "no runs"},
		{"nil run", []*results.Run{ok(), nil}, "input 1 is nil"},
		{"foreign schema", []*results.Run{ok(), {Schema: "x"}}, `schema "x"`},
		{"different scenarios", []*results.Run{ok(), {Name: "t"}}, `scenario "t"`},
		{"different dimensions", []*results.Run{ok(), {Name: "s", Dimensions: []string{"a"}}}, "dimensions"},
		{"nil cell", []*results.Run{ok(), {Name: "s", Cells: []*results.Cell{nil}}}, "cells[0] is nil"},
		{"different params", []*results.Run{ok(), {Name: "s", Cells: []*results.Cell{{ID: "a", Params: []results.Param{{Path: "p", Value: "1"}}}}}}, "params"},
		{"different load model", []*results.Run{ok(), {Name: "s", Cells: []*results.Cell{{ID: "a", Load: results.Load{Model: "open"}}}}}, "load model"},
		{"series without histogram", []*results.Run{withSeries(""), withSeries("")}, "without a histogram"},
		{"series with a bad histogram", []*results.Run{withSeries("AAAA"), withSeries("AAAA")}, "decode histogram"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := results.Merge(tt.runs...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestMergeKeepsFirstErrorsAndFaults(t *testing.T) {
	start := time.Unix(100, 0)
	c1 := &results.Cell{ID: "a", Start: start, Duration: time.Second, Error: "boom",
		Faults:  []results.FaultWindow{{Kind: "down", Backends: []int{0}, Start: time.Second, End: 2 * time.Second}},
		Breaker: results.Breaker{Trips: 1, TimeOpen: time.Second},
		Pool:    results.Pool{Conns: []results.ConnStats{{Target: "t1", Picks: 1}}}}
	c2 := &results.Cell{ID: "a", Start: start.Add(time.Second), Duration: time.Second, Error: "boom", Partial: true,
		Faults:  []results.FaultWindow{{Kind: "down", Backends: []int{0}, Start: 0, End: time.Second}},
		Breaker: results.Breaker{Trips: 2, TimeOpen: 500 * time.Millisecond},
		Pool:    results.Pool{Conns: []results.ConnStats{{Target: "t2", Picks: 2}}}}
	m, err := results.Merge(&results.Run{Cells: []*results.Cell{c1}}, &results.Run{Cells: []*results.Cell{c2}})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Cells[0]
	if c.Error != "boom" || !c.Partial || c.Duration != 2*time.Second {
		t.Errorf("cell = %+v", c)
	}
	// The same fault window seen by both generators appears once.
	if len(c.Faults) != 1 || c.Faults[0].Start != time.Second {
		t.Errorf("faults = %+v", c.Faults)
	}
	if c.Breaker.Trips != 3 || c.Breaker.TimeOpen != 1500*time.Millisecond {
		t.Errorf("breaker = %+v, want trips and time open summed", c.Breaker)
	}
	if len(c.Pool.Conns) != 2 {
		t.Errorf("conns = %+v", c.Pool.Conns)
	}
}
