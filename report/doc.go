// Package report renders grpcbench results for people: one self-contained
// HTML file (index.html) plus one PNG per chart.
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
//     shaded, downsampled with LTTB;
//   - retries (amplification and attempts per call) and the circuit
//     breaker (trips, time open);
//   - load share per backend (client and server counts) and status codes.
//
// Each cell keeps one colour in every chart and in the summary table.
// The HTML page holds a sortable summary table (one row per cell, the best
// value of each column marked), optional threshold or comparison verdicts
// ([Options].Verdicts), the charts as data: URIs, the scenario as run and
// the provenance of each run. All text taken from results is escaped by
// html/template, and the page needs no network access.
package report
