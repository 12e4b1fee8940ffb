// Package scenarios loads grpcbench scenario files and runs them.
//
// A scenario (YAML) names the server (an embedded fake server with its
// faults, or an external target), the load (open model: arrival rate with
// constant, stepped or ramped stages, uniform or Poisson arrivals and a
// max_inflight cap; closed model: N workers with optional think time), the
// mix of calls over the four RPC patterns, the payload sizes, the client stack
// (pool, lb, timeout, retry, breaker, keepalive, compression), a matrix of
// dotted paths to sweep, repeats, a seed and thresholds.
//
// Load parses and validates a file strictly: an unknown field, a wrong type
// or an impossible value is an error naming file, line and field path
// ("quickstart.yaml:14: client.retry.max_attempts: must be at least 1").
// Overrides ("client.pool.size=8") apply to any field before validation.
// Expand turns a scenario into cells, one per matrix point × repeat, each a
// fully resolved scenario with a stable ID.
//
// Run executes the cells one after another: for each it starts the fake
// server (when embedded), builds the client stack from the cell's
// configuration, drives the load and records into a results.Recorder. In the
// open model a pacer hands out intended start times; latency is counted from
// the intended time, so a stalled server shows up as latency and not as fewer
// requests (no coordinated omission). Every cell is bounded in calls and time
// and stops by itself; a cancelled context ends the run early with partial
// results.
package scenarios
