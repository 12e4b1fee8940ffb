// Package fakeserver is a fault-injecting UserService: the instrument
// grpcbench measures client stacks against.
//
// Start launches a Cluster of N backends, each a real grpc.Server on its own
// TCP port (127.0.0.1:0 unless fixed) or unix socket (addrs:
// unix:///abs/path, unix:relative, unix-abstract:name), serving UserService, grpc.health.v1,
// server reflection and ORCA load reports (per call, in the
// endpoint-load-metrics-bin trailer, and out of band). Each backend keeps
// counters readable while it runs: calls per method, retry attempts (calls
// carrying grpc-previous-rpc-attempts), stream messages in and out, final
// status codes, injected faults per kind and code, in-flight calls and
// connections.
//
// Faults are selected per backend, per method and per time window, and every
// random decision is drawn from a counter-based generator seeded by
// Config.Seed, so the same seed gives the same fault sequence for the same
// sequence of calls. The kinds:
//
//   - latency: fixed, uniform, normal, lognormal (median, p99), exponential
//     or pareto delay, per call and/or per stream message;
//   - error: a status code for a fraction (or every Nth) of calls, sent
//     trailers-only so gRPC's own retry may retry it, optionally with
//     grpc-retry-pushback-ms;
//   - abort: end a stream with a code after exactly N messages;
//   - stall: never reply, until the client gives up;
//   - pause: a stop-the-world window; every call and stream message arriving
//     in it waits until it ends (what exposes coordinated omission);
//   - goaway (max connection age), kill (drop every connection abruptly),
//     down (listener closed, connections dropped, the same port serving
//     again after the window);
//   - capacity: RESOURCE_EXHAUSTED beyond a number of in-flight calls, and
//     HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS;
//   - keepalive: an enforcement policy, so clients pinging too often get
//     GOAWAY too_many_pings;
//   - health: NOT_SERVING windows; orca: the utilization a backend reports,
//     fixed or proportional to its load.
//
// Security, for testing client stacks against real-world setups:
//
//	tls: {cert_file: server.pem, key_file: server-key.pem}   # TLS from files
//	tls: {self_signed: true}       # CA + certificate for 127.0.0.1, ::1, localhost
//	                               # made at Start; Cluster.CAPEM returns the CA
//	tls: {self_signed: true, client_ca_file: clients-ca.pem} # mutual TLS
//	require_token: {env: API_TOKEN}  # or {file: token.txt}
//
// With require_token, a UserService call without "authorization: Bearer
// <token>" ends UNAUTHENTICATED (counted as a call of its method with that
// code); health, reflection and ORCA stay open. The token is read once at
// Start, compared in constant time and never logged, counted by value or
// put in an error. TLS files and the token source are checked by Validate.
//
// The backend set may change while the cluster runs: Config.Events
// ({at, add | remove | replace, drain}) on the cluster's clock, or
// AddBackend, RemoveBackend and ReplaceBackend. Backends are numbered in
// the order they start and keep their number, address and counters for
// life; Stats lists every backend ever started, and Changes logs each
// membership change. A removed backend leaves the membership first (the
// OnMembership hook publishes the list without it), keeps serving for its
// drain, then sends GOAWAY and stops, its in-flight calls given a second.
// An added backend listens before it is published. Events are validated by
// replaying them in time order, so one naming a backend that does not exist
// at its time is an error at its own path (events[2].remove).
//
// A configuration is validated before anything starts; every mistake is
// reported with its field path (faults[1].error.rate), and LoadFile adds the
// file and line.
package fakeserver
