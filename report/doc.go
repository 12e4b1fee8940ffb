// Package report renders grpcbench results for people: one self-contained
// HTML file (index.html) plus one PNG per chart, and the summary that the
// HTML page and the terminal share.
//
// # Summary
//
// [Summarize] turns runs into a [Summary]: one row per cell (calls/s,
// target/s, latency percentiles of all calls and — when they differ
// materially — of the calls that ended OK, errors, retries, breaker trips,
// dropped arrivals), the best value of each column, the flags of cells that
// did other work, and a verdict per run. The best mark compares only cells
// that did comparable work: a cell whose calls went to fewer backends than
// another cell of its run ("all calls to backend 0": pick_first beside
// round_robin), that failed clearly more calls (more than one percentage
// point and half again above the run's lowest error rate: fast failures
// make latency look good), that failed, was cut short or made no call is
// flagged next to its numbers and never starred. The verdict names the
// matrix point with the lowest median p99 among the comparable ones, its
// margin over the runner-up, and whether that margin is significant given
// the repeats (the Mann–Whitney test of gates over the repeats' p99;
// "1 repeat: no significance"; 2+2 or 3+3 repeats can never reach α=0.05).
//
// # Charts
//
// [Write] takes one or more decoded runs (several runs are overlaid, e.g. a
// baseline and a candidate; every cell is labelled by run and cell) and
// draws, with gonum/plot:
//
//   - the latency percentile spectrum (HdrHistogram style: x is the
//     percentile on a 1/(1−p) logarithmic scale up to 99.99, y the latency
//     in milliseconds), response time solid and service time dashed;
//   - the matrix view: p99 and p50 against the first matrix dimension, one
//     line per value of the second and one panel per value of the rest;
//   - per-cell time series (calls/s, p99, errors/s) with the fault windows
//     shaded, downsampled with LTTB, every column on one shared scale;
//   - retries (amplification and attempts per call) and the circuit
//     breaker (trips, time open), with "no breaker configured" (or "no
//     retry layer configured") in place of a layer the scenario lacks;
//   - load share per backend (client and server counts) and status codes.
//
// Invariants of every chart: each value axis ends on a labelled tick at or
// above its highest value (and starts at or below its lowest), the tick
// labels of one axis share their number of decimals; more than six series
// get distinct marker shapes as well as colours; each cell keeps one
// colour in every chart and in the table, and no other legend of a chart
// (fault kinds, attempts per call) uses a colour close to a cell's.
//
// The HTML page shows the verdict at the top, the sortable summary table
// (★ on the best comparable value, flags beside the cell; index.html#sort=p99
// opens it sorted), a per-method table with the shortest unambiguous method
// names when a run called several methods, optional threshold or
// comparison verdicts ([Options].Verdicts), an environment panel — the load
// generator's health per cell (CPU, its threads' run delay, other
// processes' CPU, pressure, steal, run queue, GC, schedule lag, dropped
// arrivals) with the cells where it was saturated (gates.Saturation)
// marked and what could not be measured named — when the results recorded
// it, the charts as data: URIs, the scenario as run and the provenance of
// each run. All text taken from
// results is escaped by html/template, and the page needs no network
// access.
package report
