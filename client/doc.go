// Package client calls any gRPC method over any grpc.ClientConnInterface: a
// *grpc.ClientConn, a pool, or a chain of decorators (retry, hedging,
// breaker, metrics) ending in one.
//
// A method is a *methods.Method (its name, kind and message types, from the
// built-in service, server reflection, a protoset or .proto files). The
// client has one helper per call pattern:
//
//   - Unary: one request, one reply;
//   - ServerStream: one request, a callback per received message;
//   - ClientStream: a request per next(i), one reply;
//   - Bidi: lock step — send next(i), receive one reply, call onReply(i).
//
// Requests may be generated or dynamic proto messages, or a *Payload: bytes
// encoded once and sent as they are (the client's codec copies them into a
// pooled buffer, so no marshalling happens per call). Replies may be proto
// messages, or a *Reply that records each message's encoded size and decodes
// it only when it holds a message (decode_responses: false counts bytes
// without decoding). The wire format is always application/grpc+proto.
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
