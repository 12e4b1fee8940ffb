// Package pool spreads calls over N *grpc.ClientConn to one target behind a
// single grpc.ClientConnInterface, so the generated stubs, the client package
// and the retry and breaker decorators work on top of it unchanged.
//
// One HTTP/2 connection carries at most the server's
// SETTINGS_MAX_CONCURRENT_STREAMS calls at once and shares one TCP flow;
// several connections lift both limits. A Pool owns Config.Size connections,
// each made with grpc.NewClient, and picks one per call:
//
//   - round_robin: connection i, i+1, … in turn (exact spread);
//   - random: a uniformly random connection;
//   - least_inflight: the connection with the fewest calls in flight,
//     counting a stream until it ends;
//   - first_ready: round robin over the connections that are READY or IDLE,
//     skipping those CONNECTING or in TRANSIENT_FAILURE (when none is, the
//     round-robin choice is used and gRPC fails or queues the call).
//
// Picking is lock-free (atomics only) and a unary call through a Pool
// allocates nothing beyond what grpc-go does.
//
// With Config.Warmup, New connects every connection and waits until each is
// READY, failing with an error that names the target and the state reached.
// With Config.MaxAge, a connection older than that is replaced
// (make-before-break: the new one is connected first) and the old one is
// closed once its in-flight calls and streams have ended.
//
// Stats reports, per connection, its state, picks, calls in flight, state
// changes and recycles. A goroutine per connection follows its state
// (WaitForStateChange); Close stops them and closes every connection.
//
// A Pool does not retry: put a retry decorator above it so that each attempt
// may land on another connection.
package pool
