// Package breaker is a circuit breaker for gRPC clients: a decorator over any
// grpc.ClientConnInterface that stops sending calls to a failing server for a
// while and probes it before letting traffic through again.
//
// The breaker is closed (calls pass), open (calls fail fast with UNAVAILABLE
// and "circuit breaker is open", without reaching the server) or half-open
// (a few probe calls pass; enough successes close it, one failure opens it
// again). It trips on consecutive failures (Config.FailureThreshold) or on a
// failure ratio over a rolling window (Config.FailureRatio, Window,
// MinRequests). Only the status codes in Config.Codes count as failures;
// client errors such as INVALID_ARGUMENT or NOT_FOUND never do.
//
// Unlike the seed's breaker, no lock is held while a call runs. In the closed
// state with only FailureThreshold set, admitting a call and recording its outcome are a few atomic
// operations; a short mutex is taken to change state, to admit probes, and —
// when FailureRatio is set — to record each outcome in the rolling window.
//
// Every transition is counted (Stats.Transitions) and logged with its time
// since an epoch (WithEpoch; Stats.Log), in order and never going back in
// time. The log is bounded (WithLogCap, 10 000 by default): transitions past
// the cap are counted in Stats.LogDropped, so len(Log) + LogDropped always
// equals the sum of the Transitions counts. Logging happens under the mutex
// already taken to change state: the per-call path is untouched and
// allocates nothing.
package breaker
