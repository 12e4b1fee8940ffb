package metrics

import (
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/grpcbench/grpcbench/results"
)

// LatencyBuckets are the upper bounds, in seconds, of the call latency
// histogram's buckets (+Inf is implied).
var LatencyBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// Stack is a snapshot of a running cell's client stack and schedule.
type Stack struct {
	// InFlight is the number of calls and streams not yet ended.
	InFlight int64
	// Retries counts attempts beyond each call's first.
	Retries int64
	// Breaker is the circuit breaker's state ("closed", "open",
	// "half-open"), empty without a breaker; Trips and Rejections its
	// counters.
	Breaker           string
	Trips, Rejections int64
	// Conns counts the pooled connections by connectivity state.
	Conns map[string]int
	// TargetRate is the intended arrival rate now (calls/s; 0 in the
	// closed model).
	TargetRate float64
	// Scheduled and Dropped count the recorded phase's arrivals.
	Scheduled, Dropped int64
}

// breakerStates are the states a breaker_state series is exported for.
var breakerStates = []string{"closed", "open", "half-open"}

// Exporter holds the metrics of every cell of a run and exports them as a
// prometheus.Collector. It is safe for concurrent use.
type Exporter struct {
	reg   *prometheus.Registry
	descs descs

	mu    sync.Mutex
	cells []*Cell
}

type descs struct {
	calls, errors, latency, retries, breakerState, trips, rejections,
	inflight, conns, target, achieved, scheduled, dropped, running *prometheus.Desc
}

// New returns an Exporter for a run of the named scenario by shard ("I/N";
// "0/1" when not sharded), with Go runtime and process metrics beside its
// own.
func New(scenario, shard string) *Exporter {
	c := prometheus.Labels{"scenario": scenario, "shard": shard}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("grpcbench_"+name, help, append([]string{"cell"}, labels...), c)
	}
	e := &Exporter{reg: prometheus.NewRegistry(), descs: descs{
		calls:        d("calls_total", "Calls finished in the recorded phase, by method and final status code.", "method", "code"),
		errors:       d("errors_total", "Calls finished with a status other than OK, by method.", "method"),
		latency:      d("call_latency_seconds", "Call latency from the intended start (open model) to completion, by method.", "method"),
		retries:      d("retries_total", "Attempts beyond each call's first, by the retry layer."),
		breakerState: d("breaker_state", "1 for the circuit breaker's current state, 0 for the others.", "state"),
		trips:        d("breaker_trips_total", "Circuit breaker moves into the open state."),
		rejections:   d("breaker_rejections_total", "Calls the open circuit breaker refused."),
		inflight:     d("inflight", "Calls and streams started and not yet ended."),
		conns:        d("pool_connections", "Pooled connections by connectivity state.", "state"),
		target:       d("target_rate", "Intended arrival rate now, calls per second (open model)."),
		achieved:     d("achieved_rate", "Calls finished in the last complete second."),
		scheduled:    d("scheduled_total", "Arrivals the schedule released in the recorded phase."),
		dropped:      d("dropped_total", "Arrivals dropped because max_inflight calls were outstanding."),
		running:      d("cell_running", "1 while the cell runs, 0 once it has finished."),
	}}
	e.reg.MustRegister(e, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return e
}

// Handler serves the metrics in the format the scraper asks for
// (OpenMetrics or the Prometheus text format).
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Cell is one cell's metrics. Feed it the recorder's complete seconds with
// Interval and call Done when the cell has ended.
type Cell struct {
	e       *Exporter
	id      string
	methods []string
	m       []methodState
	stack   func() Stack // nil once done
	last    Stack        // the final snapshot, once done
	// achieved is the calls of the newest complete second, lastT its T.
	achieved float64
	lastT    int
}

// methodState is one method's cumulative counters.
type methodState struct {
	calls, errors int64
	codes         map[string]int64
	lat           *results.Histogram // nil once reduced to buckets
	buckets       []uint64           // cumulative counts per LatencyBuckets bound
	sum           float64
	dirty         bool // lat has values not yet in buckets
}

// AddCell starts the metrics of a cell with the given ID and methods (in
// the recorder's order). stack is read at each scrape until Done.
func (e *Exporter) AddCell(id string, methods []string, stack func() Stack) *Cell {
	c := &Cell{e: e, id: id, methods: slices.Clone(methods), m: make([]methodState, len(methods)), stack: stack, lastT: -1}
	e.mu.Lock()
	e.cells = append(e.cells, c)
	e.mu.Unlock()
	return c
}

// Interval adds one complete second (results.Recorder.OnInterval). It is
// quick: counters and one histogram merge per method.
func (c *Cell) Interval(iv results.Interval) {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	var calls int64
	for i, im := range iv.Methods {
		if im.Calls == 0 || i >= len(c.m) {
			continue
		}
		calls += im.Calls
		m := &c.m[i]
		m.calls += im.Calls
		m.errors += im.Errors
		if m.codes == nil {
			m.codes = make(map[string]int64, len(im.Codes))
		}
		for k, n := range im.Codes {
			m.codes[k] += n
		}
		if m.lat == nil {
			m.lat = results.NewHistogram()
		}
		m.lat.Merge(im.Latency)
		m.dirty = true
	}
	switch {
	case iv.T > c.lastT:
		c.achieved, c.lastT = float64(calls), iv.T
	case iv.T == c.lastT:
		c.achieved += float64(calls)
	}
}

// Done takes the stack's final snapshot and freezes the cell's metrics
// (target and achieved rates drop to 0); call it after the recorder
// delivered its last second (results' Recorder.Cell).
func (c *Cell) Done() {
	var last Stack
	c.e.mu.Lock()
	stack := c.stack
	c.e.mu.Unlock()
	if stack != nil {
		last = stack()
	}
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	// Rates describe "now": a finished cell offers and achieves nothing,
	// so sums over cells stay meaningful.
	last.TargetRate, c.achieved = 0, 0
	c.last, c.stack = last, nil
	for i := range c.m {
		m := &c.m[i]
		m.reduce()
		m.lat = nil
	}
}

// reduce brings buckets and sum up to date with lat.
func (m *methodState) reduce() {
	if !m.dirty && m.buckets != nil {
		return
	}
	m.buckets = make([]uint64, len(LatencyBuckets))
	m.sum = 0
	m.lat.Buckets(func(v time.Duration, n int64) bool {
		s := v.Seconds()
		m.sum += s * float64(n)
		i := sort.SearchFloat64s(LatencyBuckets, s) // first bound ≥ s
		if i < len(m.buckets) {
			m.buckets[i] += uint64(n)
		}
		return true
	})
	for i := 1; i < len(m.buckets); i++ {
		m.buckets[i] += m.buckets[i-1]
	}
	m.dirty = false
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	d := &e.descs
	for _, x := range []*prometheus.Desc{d.calls, d.errors, d.latency, d.retries, d.breakerState, d.trips,
		d.rejections, d.inflight, d.conns, d.target, d.achieved, d.scheduled, d.dropped, d.running} {
		ch <- x
	}
}

// Collect implements prometheus.Collector.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	cells := slices.Clone(e.cells)
	e.mu.Unlock()
	for _, c := range cells {
		c.collect(ch)
	}
}

func (c *Cell) collect(ch chan<- prometheus.Metric) {
	d := &c.e.descs
	c.e.mu.Lock()
	stack, st, running := c.stack, c.last, c.stack != nil
	c.e.mu.Unlock()
	if running {
		st = stack() // outside the lock: it reads the client stack
	}
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	id := c.id
	for i := range c.m {
		m := &c.m[i]
		if m.calls == 0 {
			continue
		}
		name := c.methods[i]
		for _, code := range sortedKeys(m.codes) {
			ch <- prometheus.MustNewConstMetric(d.calls, prometheus.CounterValue, float64(m.codes[code]), id, name, code)
		}
		ch <- prometheus.MustNewConstMetric(d.errors, prometheus.CounterValue, float64(m.errors), id, name)
		m.reduce()
		b := make(map[float64]uint64, len(LatencyBuckets))
		for j, le := range LatencyBuckets {
			b[le] = m.buckets[j]
		}
		ch <- prometheus.MustNewConstHistogram(d.latency, uint64(m.calls), m.sum, b, id, name)
	}
	counter := func(desc *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), id)
	}
	gauge := func(desc *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append([]string{id}, extra...)...)
	}
	counter(d.retries, st.Retries)
	counter(d.scheduled, st.Scheduled)
	counter(d.dropped, st.Dropped)
	if st.Breaker != "" {
		for _, s := range breakerStates {
			gauge(d.breakerState, b2f(s == st.Breaker), s)
		}
		counter(d.trips, st.Trips)
		counter(d.rejections, st.Rejections)
	}
	gauge(d.inflight, float64(st.InFlight))
	for _, s := range sortedKeys(st.Conns) {
		gauge(d.conns, float64(st.Conns[s]), s)
	}
	gauge(d.target, st.TargetRate)
	gauge(d.achieved, c.achieved)
	gauge(d.running, b2f(running))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
