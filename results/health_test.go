package results_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/results"
)

// Every lag a shard records lands in the cell's lag histogram, whose
// maximum is Load.MaxLag; a negative lag counts as 0.
func TestRecorderLagHistogram(t *testing.T) {
	r := results.NewRecorder([]string{"GetUser"}, time.Time{})
	a, b := r.Shard(), r.Shard()
	for i := range 1000 {
		s := a
		if i%2 == 1 {
			s = b
		}
		// Three seconds: each shard hands its lag over as it seals one.
		s.Call(0, codes.OK, time.Millisecond, time.Millisecond, time.Duration(i)*3*time.Millisecond)
		s.Lag(time.Duration(i) * time.Microsecond)
	}
	a.Lag(-time.Millisecond)
	c := r.Cell()
	if c.Health == nil || c.Health.Lag.Count() != 1001 {
		t.Fatalf("health %+v: want 1001 lags", c.Health)
	}
	if got := c.Health.Lag.Max(); got < 998*time.Microsecond || got > time.Millisecond || c.Load.MaxLag != 999*time.Microsecond {
		t.Fatalf("lag max %v, MaxLag %v; want 999µs", got, c.Load.MaxLag)
	}
	if c.Health.Lag.Clamped() != 0 || c.Health.Lag.Min() != 0 {
		t.Fatalf("negative lag: clamped %d min %v", c.Health.Lag.Clamped(), c.Health.Lag.Min())
	}
	if r := results.NewRecorder([]string{"GetUser"}, time.Time{}); r.Cell().Health != nil {
		t.Fatal("health without any lag recorded")
	}
}

func healthOf(cpu, pressure float64, lags ...time.Duration) *results.Health {
	h := &results.Health{Samples: 5, GOMAXPROCS: 2, Cores: 2, CPUs: 2, CPUTime: time.Second,
		CPU: &results.Share{Mean: cpu, Max: cpu + 0.1}, OtherCPU: &results.Share{Mean: 0.1, Max: 0.2},
		Steal: &results.Share{}, RunQueue: &results.Gauge{Mean: 2, Max: 3}, GCPauses: time.Millisecond, GCCount: 3,
		Lag: results.NewHistogram()}
	if pressure >= 0 {
		h.Pressure = &results.Share{Mean: pressure, Max: pressure + 0.2}
	} else {
		h.Unavailable = []string{"pressure: no PSI"}
	}
	for _, l := range lags {
		h.Lag.Record(l)
	}
	return h
}

// Merging two generators' parts of a cell keeps the most loaded one's
// shares, adds CPU time, GC and lag, and knows how many generators there
// were; a part without health adds nothing.
func TestMergeHealth(t *testing.T) {
	cell := func(h *results.Health) *results.Cell {
		return &results.Cell{ID: "c#0", Load: results.Load{Model: results.ModelOpen}, Health: h}
	}
	a := cell(healthOf(0.3, 0.05, time.Millisecond, 2*time.Millisecond))
	b := cell(healthOf(0.6, -1, 9*time.Millisecond))
	b.Health.Cores = 1
	c := cell(nil)
	m, err := results.Merge(&results.Run{Name: "s", Cells: []*results.Cell{a}}, &results.Run{Name: "s", Cells: []*results.Cell{b}},
		&results.Run{Name: "s", Cells: []*results.Cell{c}})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Cells[0].Health
	switch {
	case h == nil:
		t.Fatal("no health after merge")
	case h.Generators != 2:
		t.Errorf("generators %d, want 2", h.Generators)
	case h.CPU.Mean != 0.6 || h.CPU.Max != 0.7:
		t.Errorf("cpu %+v, want the busier generator's", h.CPU)
	case h.Pressure == nil || h.Pressure.Mean != 0.05:
		t.Errorf("pressure %+v, want the one generator that measured it", h.Pressure)
	case h.CPUTime != 2*time.Second || h.GCCount != 6 || h.GCPauses != 2*time.Millisecond:
		t.Errorf("cpu time %v gc %d/%v, want sums", h.CPUTime, h.GCCount, h.GCPauses)
	case h.Lag.Count() != 3 || h.Lag.Max() < 8900*time.Microsecond:
		t.Errorf("lag count %d max %v, want 3 and 9ms", h.Lag.Count(), h.Lag.Max())
	case h.Cores != 1:
		t.Errorf("cores %d, want the smaller", h.Cores)
	case len(h.Unavailable) != 1:
		t.Errorf("unavailable %q", h.Unavailable)
	}
	if a.Health.Lag.Count() != 2 || a.Health.Generators != 0 {
		t.Fatal("Merge modified its input's health")
	}
}

// Health survives the results file, and a share that is not a fraction is
// refused with its path.
func TestHealthRoundTripAndValidate(t *testing.T) {
	run := &results.Run{Name: "s", Cells: []*results.Cell{{ID: "c#0", Health: healthOf(0.4, 0.2, 3*time.Millisecond)}}}
	var buf bytes.Buffer
	if err := results.Encode(&buf, run); err != nil {
		t.Fatal(err)
	}
	got, err := results.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	h := got.Cells[0].Health
	if h == nil || h.Pressure.Max != 0.4 || h.Lag.Count() != 1 || h.RunQueue.Max != 3 || h.Samples != 5 {
		t.Fatalf("decoded health %+v", h)
	}
	bad := strings.Replace(buf.String(), `"mean": 0.4`, `"mean": 1.4`, 1)
	_, err = results.Decode(strings.NewReader(bad))
	if err == nil || !strings.Contains(err.Error(), "cells[0].health.cpu.mean: 1.4 is not a share") {
		t.Fatalf("err = %v", err)
	}
}
