// Command grpcbench load-tests and benchmarks gRPC client stacks: it drives
// the four RPC patterns through a connection pool, load balancing, retry
// with backoff and a circuit breaker against a fault-injecting fake server,
// sweeps a matrix of configurations, and records HDR latency histograms,
// retries and breaker trips for every cell.
//
// Usage:
//
//	grpcbench <command> [flags]
//
// Run "grpcbench --help" for the commands and "grpcbench <command> --help"
// for their flags. Exit codes, for every command: 0 success, 1 a gate
// failed, 2 bad input or usage, 3 the run could not be carried out.
package main
