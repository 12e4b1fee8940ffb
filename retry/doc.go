// Package retry retries gRPC calls with backoff, as a decorator over any
// grpc.ClientConnInterface, and counts what it did.
//
// A Policy says how often and how long to wait: exponential, linear, fixed or
// immediate backoff with optional jitter, a cap on attempts, the status codes
// worth retrying and an optional per-attempt timeout. Policy.Delay is the pure
// function behind every wait.
//
// Wrap applies a Policy to a connection (the "wrapper" mode). Unary calls are
// retried; streams are retried while uncommitted, that is until the first
// response message (or header) has been received, with the messages sent so
// far buffered for replay up to Policy.MaxBuffer bytes — the semantics of
// gRPC's own retry design (gRFC A6). Retries honour the call's deadline (no
// wait runs past it), server pushback (the grpc-retry-pushback-ms trailer) and
// mark each retry with the grpc-previous-rpc-attempts header.
//
// The "native" mode leaves retrying to grpc-go: ServiceConfigMethod produces
// the service-config retryPolicy and an AttemptCounter (a stats.Handler plus
// interceptors) counts calls and attempts with the same Stats shape as Wrap.
//
// Nothing in this package logs, sleeps on the wall clock in tests (see
// WithClock) or starts goroutines.
package retry
