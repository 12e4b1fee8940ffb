// Package scenarios loads grpcbench scenario files and runs them.
//
// A scenario (YAML) names the server (an embedded fake server with its
// faults, or an external target) and where its methods are described (the
// built-in UserService, server reflection, a protoset or .proto files), the
// load (open model: arrival rate with constant, stepped or ramped stages,
// uniform or Poisson arrivals and a max_inflight cap; closed model: N
// workers with optional think time), the mix of calls — any method of any
// of the four RPC patterns, with request data, templates and metadata — the
// client stack (pool, lb, timeout, retry, breaker, keepalive, compression),
// a matrix of dotted paths to sweep, repeats, a seed and thresholds.
//
// The package is grouped by role:
//
//   - spec.go: the scenario's types, defaults and validation;
//   - parse.go: LoadFile and Parse (a file, overrides, strict decoding with
//     "file:line: field.path: message" errors) and Expand (cells, one per
//     matrix point × repeat, each a fully resolved scenario with a stable ID);
//   - calls.go: each mix entry's method resolved and its data compiled, once
//     per distinct configuration, before any load is sent;
//   - schedule.go: the open model's clock-free arrival profile;
//   - stack.go: one cell's client stack — client → retry → breaker → pool,
//     the balancing policy inside each pooled connection;
//   - worker.go: a worker and the state of the call it is making;
//   - driver.go: the pacer (open model) and the workers' loops;
//   - runner.go: Run, the cells in order, and their results.
//
// Run executes the cells one after another: for each it starts the fake
// server (when embedded), builds the client stack, drives the load and
// records into a results.Recorder. In the open model the pacer hands out
// intended start times; latency is counted from the intended time, so a
// stalled server shows up as latency and not as fewer requests (no
// coordinated omission). Every cell is bounded in calls and time and stops
// by itself; a cancelled context ends the run early with partial results.
package scenarios
