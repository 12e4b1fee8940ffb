// Package results is grpcbench's results model: what one run measured, how it
// is recorded on the hot path, how it is written to and read from disk, and how
// the results of several load generators (shards) are merged.
//
// # Model
//
// A [Run] is one invocation of a scenario: provenance (tool, Go and grpc-go
// versions, machine), the resolved scenario, the matrix dimensions and one
// [Cell] per matrix point × repeat. A Cell holds per-method [MethodStats]
// (latency of all calls and of the calls that ended OK, service time,
// attempt, time-to-first-message and per-message round-trip [Histogram]s
// plus status-code counts), an aggregate over all methods
// ([Cell.Aggregate]), load figures (target and achieved rate, schedule lag,
// dropped arrivals), the load generator's [Health] (its CPU, its threads'
// run delay, the machine's contention, GC, the schedule lag histogram),
// retry, circuit-breaker, pool and per-backend counters, a one-second time
// series and the fault windows that were active.
//
// Methods are keyed by their full name without the leading slash
// ("grpcbench.user.v1.UserService/GetUser", "grpc.testing.TestService/UnaryCall").
// [ShortMethodNames] gives the shortest form that is unambiguous in a run
// ("GetUser", or "UserService/GetUser" when two services share a method
// name) for display; [MatchMethod] resolves a name a user wrote in any of
// these forms, or says why it cannot.
//
// Latency counts failed calls too: a fast failure lowers it. MethodStats.OK
// holds the latency of successful calls only, so that a report or a gate
// can tell "fast because it failed" from "fast".
//
// Every latency lives in an HdrHistogram (1 µs to 60 s, 3 significant digits,
// values in microseconds), never in a slice of samples. Histograms are kept in
// hdrhistogram-go's sparse PackedHistogram form: a dense 3-digit histogram over
// this range is 139 KB, a packed one a few KB, which matters when a run holds
// hundreds of them (64 workers × 5 methods × 3–5 kinds, or a 100-cell file
// loaded for a report). In JSON a histogram is the standard HdrHistogram V2
// compressed base64 encoding (readable by every HdrHistogram implementation)
// beside a human summary that decoding ignores.
//
// # Recording
//
// A [Recorder] collects one cell. Each worker takes its own [Shard] with
// [Recorder.Shard]; a Shard is not safe for concurrent use and needs no lock,
// and recording allocates nothing per value. After the workers stop,
// [Recorder.Cell] merges the shards exactly (histograms are added). While the
// run is in progress, [Recorder.Live] returns an approximate snapshot for a
// progress display, read from per-shard atomic counters without stopping the
// writers. The one-second series is kept per method: a Shard hands each
// finished second to the recorder once per second (never per call), and
// [Recorder.OnInterval] subscribers (live metrics, interval logs) receive every
// complete second per method; summed over a cell, the intervals equal the
// cell's per-method counts exactly.
//
// # Files
//
// [Encode], [Decode], [WriteFile] (atomic: temporary file, fsync, rename) and
// [ReadFile] handle the versioned JSON format ([Schema]). Decoding trusts no
// length or count it has not checked: the headers of every encoded
// histogram are read before its counts are inflated and bounded (1 MiB of
// counts payload and 2^21 buckets each, 8 MiB plus twice the file's size in
// all), nesting is bounded, and every error names the JSON path of the
// value at fault (cells[3].methods.GetUser.latency.hdr: …). [Merge] combines runs
// from several shards: cells with the same ID have their histograms added and
// their counters summed; percentiles are never averaged.
package results
