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
// # Hedging
//
// Hedge (gRFC A6's hedgingPolicy, which grpc-go does not implement) sends the
// original attempt at once and, while none has answered, another every
// HedgingDelay, up to MaxAttempts (2..5). The first OK response or the first
// fatal error decides the call and every other attempt is cancelled; a
// non-fatal code sends the next hedge at once; a pushback of n ms delays the
// next hedge by n ms, a "do not retry" pushback stops hedging; when every
// attempt failed non-fatally the last error is returned. Hedges carry
// grpc-previous-rpc-attempts = n−1. Invoke returns only after every attempt it
// started has ended (A6), so arguments and reply are never touched after it
// returns. The original attempt runs on the caller's goroutine under a
// context whose cancellable part is pooled (see firstCtx); hedges run on
// goroutines of their own. With a delay d near the latency quantile q
// (d = F⁻¹(q)), a fraction ≈ 1−q of calls sends a hedge, and a call's latency
// becomes ≈ min(X₁, d + X₂, 2d + X₃, …) for independent draws Xᵢ — the tail
// beyond d is cut at the cost of ≈ 1−q extra server work (HedgeStats.Hedges /
// HedgeStats.Calls). Streams whose client sends one message (server streaming) are hedged until they commit (response
// headers); client and bidi streams are passed through unhedged.
//
// # Throttling
//
// A Throttle is A6's token bucket, shared by every layer that should
// throttle together (WithThrottle): it starts full at max_tokens; a failed
// attempt with a retryable (hedging: non-fatal) code or a "do not retry"
// pushback takes 1 token, a successful call gives token_ratio back, clamped
// to [0, max_tokens]; retries and hedges are sent only while tokens >
// max_tokens/2. Under a steady failure rate f per attempt the bucket drifts
// by token_ratio·(1−f) − f per attempt, so retries stop when f exceeds
// token_ratio/(1+token_ratio) (≈ 9 % for ratio 0.1) and resume after
// (max_tokens/2 − tokens)/token_ratio successes. Tokens are counted in
// thousandths (A6's three decimals) in one atomic integer: no lock, exact
// arithmetic. In native mode ThrottlePolicy.ServiceConfig puts the same
// bucket in the service config (retryThrottling; gRPC keeps one per
// ClientConn) and the AttemptCounter infers the calls gRPC throttled.
//
// Nothing in this package logs, and its tests do not sleep on the wall
// clock (the retry loop's clock is replaceable); the hedging layer starts
// goroutines only for hedges and ends each before the call returns.
package retry
