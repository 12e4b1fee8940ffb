// Package client is a typed UserService client over any
// grpc.ClientConnInterface: a *grpc.ClientConn, a pool, or a chain of
// decorators (retry, breaker, metrics) ending in one.
//
// It covers the five methods and four call patterns of UserService:
//
//   - unary: CreateUser, GetUser
//   - server streaming: ListUsers (a callback per received user)
//   - client streaming: BatchCreateUsers (a fill function per sent request)
//   - bidirectional streaming: SyncUsers (lock-step: send one, receive one)
//
// Per-call options (timeout, metadata, gzip compression, wait-for-ready,
// message size limits) are a plain value, CallOptions, that a scenario file
// can carry. Client.With validates them and converts them once into the
// []grpc.CallOption handed to every call, so a call adds no allocation of its
// own unless a deadline or metadata is configured.
//
// The stream helpers cannot leak a stream: every path out of them — success,
// a send or receive error, a callback error, a cancelled context — ends the
// stream, either by reading it to its end or by cancelling its context.
//
// Classify sorts an error into the classes a benchmark reports: OK,
// Retryable, ClientError, ServerError, Deadline and Cancelled.
//
// The package knows nothing of pools, retries or the benchmark harness.
package client
