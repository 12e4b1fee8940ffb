package scenarios

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// A shard waits for its start, runs its part of the load, records which
// shard it was, and lets an observer follow every second of every cell and
// read the stack while the cell runs.
func TestRunShardStartAtAndObserve(t *testing.T) {
	sp := mustParse(t, `seed: 3
server: {backends: 2}
load: {rate: 400, max_inflight: 16, duration: 2s}
mix: [{call: GetUser}, {call: ListUsers, messages: 2}]
client: {pool: {size: 2}, breaker: {failure_threshold: 1000}, retry: {max_attempts: 2}}
matrix: {client.pool.size: [1, 2]}
`)
	start := time.Now().Add(300 * time.Millisecond)
	var cells []*seen
	observe := watcher(&cells)
	run, err := Run(context.Background(), sp, Options{Shard: Shard{1, 2}, StartAt: start, CellGap: 500 * time.Millisecond, Observe: observe})
	if err != nil {
		t.Fatal(err)
	}
	if run.Shard == nil || *run.Shard != (results.ShardInfo{Index: 1, Count: 2}) || run.ScenarioHash != sp.Scenario.Hash() {
		t.Fatalf("shard %v hash %q", run.Shard, run.ScenarioHash)
	}
	if len(cells) != 2 || len(run.Cells) != 2 {
		t.Fatalf("observed %d cells, ran %d", len(cells), len(run.Cells))
	}
	for k, rc := range run.Cells {
		// Cell k starts at start + k·(2s + 0.5s gap), give or take setup.
		at := start.Add(time.Duration(k) * 2500 * time.Millisecond)
		if d := rc.Start.Sub(at); d < 0 || d > 400*time.Millisecond {
			t.Errorf("cell %d recorded phase starts %v after its slot", k, d)
		}
		if rc.Load.TargetRate != 200 || rc.Load.Workers != 8 {
			t.Errorf("cell %d: target %g workers %d, want shard 1/2 of 400 calls/s and 16 in flight", k, rc.Load.TargetRate, rc.Load.Workers)
		}
		s := cells[k]
		if s.done != rc || s.calls != rc.All.Calls || !s.seconds[0] || !s.seconds[1] {
			t.Errorf("cell %d: observer saw %d calls in seconds %v, cell has %d", k, s.calls, s.seconds, rc.All.Calls)
		}
		g := s.gauges
		conns := 0
		for _, n := range g.Conns {
			conns += n
		}
		if g.Breaker != "closed" || g.TargetRate != 200 || conns != k+1 || g.Sent > rc.Load.Sent || g.InFlight < 0 {
			t.Errorf("cell %d gauges %+v (cell sent %d)", k, g, rc.Load.Sent)
		}
	}
}

// seen is what the observer of one cell saw.
type seen struct {
	calls   int64
	seconds map[int]bool
	gauges  StackGauges
	done    *results.Cell
	mu      sync.Mutex
}

// watcher returns an Options.Observe that subscribes to each cell's
// intervals, reads its stack from another goroutine while it runs, and
// appends what it saw to cells.
func watcher(cells *[]*seen) func(Watch) func(*results.Cell) {
	return func(w Watch) func(*results.Cell) {
		s := &seen{seconds: map[int]bool{}}
		*cells = append(*cells, s)
		w.Recorder.OnInterval(func(iv results.Interval) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.seconds[iv.T] = true
			for _, m := range iv.Methods {
				s.calls += m.Calls
			}
		})
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				g := w.Stack()
				s.mu.Lock()
				// The last reading taken while the schedule ran: after it
				// ends (the cell drains) the target rate reads 0.
				if g.Sent > 0 && g.TargetRate > 0 {
					s.gauges = g
				}
				s.mu.Unlock()
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
		return func(rc *results.Cell) {
			close(stop)
			wg.Wait()
			s.done = rc
		}
	}
}

// A cancelled wait for the common start ends the run, partial and empty.
func TestRunStartAtCancelled(t *testing.T) {
	sp := mustParse(t, "load: {rate: 10, duration: 1s}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	run, err := Run(ctx, sp, Options{StartAt: time.Now().Add(time.Hour)})
	if err != nil || !run.Partial || len(run.Cells) != 0 {
		t.Fatalf("run %+v, %v", run, err)
	}
}
