// Package metrics serves a grpcbench run's live metrics in the Prometheus
// text and OpenMetrics formats, with the official client library
// (prometheus/client_golang), for dashboards that follow a long run.
//
// # Where the numbers come from
//
// Nothing here runs per call. Call counts, status codes, errors and latency
// come from the recorder's complete seconds ([results.Recorder.OnInterval]):
// each shard of the recorder already hands its finished second to the
// recorder once per second, and [Cell.Interval] adds that second to
// cumulative per-method counters and a latency histogram. The client
// stack's gauges and counters (in flight, retries, breaker, pool
// connections, target rate) are read from a Stack function when Prometheus
// scrapes. So metrics trail the run by the recorder's few seconds of
// sealing lag, and their final values, after [Cell.Done], equal the results
// file's totals exactly.
//
// # Invariants
//
//   - Counters never decrease: they only add complete seconds.
//   - Every series carries the constant labels scenario and shard ("I/N",
//     "0/1" when not sharded) and the label cell (the cell ID); a finished
//     cell keeps its final values (cell_running 0) until the process exits.
//   - Latency is a classic histogram in seconds with fixed buckets
//     (LatencyBuckets), computed from HdrHistogram counts: bucket counts are
//     exact up to the histogram's 2-significant-digit resolution near a
//     bucket bound; _count is exact; _sum is approximate (bucket values).
//   - A finished cell's histograms are reduced to their bucket counts, so
//     memory does not grow with the seconds of a run.
package metrics
