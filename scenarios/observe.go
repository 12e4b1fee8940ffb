package scenarios

import (
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// Watch is what Options.Observe sees of a cell about to run: enough to
// follow it live (metrics, interval logs) without touching the hot path.
type Watch struct {
	// Cell is the cell (for a sharded run, this shard's part of it). Cells
	// are observed in the order they run.
	Cell *Cell
	// Recorder is the cell's recorder: subscribe with OnInterval to receive
	// each complete second, per method.
	Recorder *results.Recorder
	// Stack reads the client stack's gauges and counters. It is safe to
	// call from any goroutine until the cell's done function has been
	// called, and costs a few atomic loads (no lock on the hot path).
	Stack func() StackGauges
}

// StackGauges is a snapshot of a running cell's client stack and schedule.
// Counters cover the whole cell (warm-up included) unless said otherwise.
type StackGauges struct {
	// InFlight is the number of calls and streams started and not ended.
	InFlight int64
	// Retries is the number of attempts beyond each call's first, by the
	// retry layer (client-side or gRPC's native retry), of finished calls.
	Retries int64
	// Breaker is the circuit breaker's state ("closed", "open",
	// "half-open"); empty without a breaker. Trips and Rejections count its
	// closed/half-open→open transitions and the calls it refused.
	Breaker           string
	Trips, Rejections int64
	// Conns counts the pooled connections by connectivity state (READY,
	// CONNECTING, IDLE, TRANSIENT_FAILURE, SHUTDOWN).
	Conns map[string]int
	// TargetRate is the open model's intended arrival rate now (calls/s;
	// 0 for the closed model).
	TargetRate float64
	// Scheduled, Sent and Dropped count the recorded phase's arrivals, as
	// in results.Load.
	Scheduled, Sent, Dropped int64
}

// gauges reads st and ld; it is Watch.Stack.
func gauges(st *stack, d *driver) StackGauges {
	g := StackGauges{
		Scheduled: d.scheduled.Load(),
		Sent:      d.sent.Load(),
		Dropped:   d.dropped.Load(),
	}
	if !d.closed {
		g.TargetRate = newSchedule(d.s.Load).Rate(time.Since(d.epoch))
	} else {
		g.Scheduled = g.Sent
	}
	ps := st.pool.Stats()
	g.InFlight = ps.Inflight
	g.Conns = make(map[string]int, 2)
	for _, c := range ps.Conns {
		g.Conns[c.State]++
	}
	if st.breaker != nil {
		bs := st.breaker.Stats()
		g.Breaker, g.Trips, g.Rejections = bs.State.String(), bs.Trips, bs.Rejections
	}
	if st.native != nil {
		rs := st.native.Stats()
		g.Retries = max(rs.Attempts-rs.Calls, 0)
	}
	for _, r := range st.retries {
		rs := r.Stats()
		g.Retries += max(rs.Attempts-rs.Calls, 0)
	}
	return g
}
