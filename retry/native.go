package retry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/grpcbench/grpcbench/field"
)

// ServiceConfigMethod returns one gRPC service-config "methodConfig" entry
// carrying p's retryPolicy for the named services (full service names,
// e.g. "grpcbench.user.v1.UserService"; none means every method):
//
//	{"name": [{"service": "…"}], "retryPolicy": {"maxAttempts": 3,
//	  "initialBackoff": "0.1s", "maxBackoff": "30s", "backoffMultiplier": 2,
//	  "retryableStatusCodes": ["UNAVAILABLE", …]}}
//
// gRPC requires maxAttempts ≥ 2 and caps it at 5, supports only exponential
// backoff with ±20 % jitter, and has no per-attempt timeout; p must pass
// Validate in native mode. With max_attempts 1 the entry has no
// retryPolicy. Fixed backoff is expressed as multiplier 1. Put it in a
// service config's "methodConfig" list (lb.Config.DialOptionsWith does).
func ServiceConfigMethod(p Policy, services ...string) map[string]any {
	p = p.WithDefaults()
	names := make([]any, 0, len(services))
	for _, s := range services {
		names = append(names, map[string]any{"service": s})
	}
	if len(names) == 0 {
		names = append(names, map[string]any{})
	}
	mc := map[string]any{"name": names}
	if p.MaxAttempts < 2 {
		return mc
	}
	mult := p.Multiplier
	if p.Kind == Fixed {
		mult = 1
	}
	mc["retryPolicy"] = map[string]any{
		"maxAttempts":          min(p.MaxAttempts, nativeMaxAttempts),
		"initialBackoff":       durationJSON(p.BaseDelay),
		"maxBackoff":           durationJSON(p.MaxDelay),
		"backoffMultiplier":    mult,
		"retryableStatusCodes": codeNames(p.Codes),
	}
	return mc
}

// serviceConfigJSON returns a complete service config holding only
// ServiceConfigMethod(p, services...), for grpc.WithDefaultServiceConfig.
// It fails if p is not valid in native mode.
func serviceConfigJSON(p Policy, services ...string) (string, error) {
	return serviceConfigJSONWith(p, nil, services...)
}

// serviceConfigJSONWith is serviceConfigJSON with gRPC's retry throttling:
// when t is not nil the config also holds the top-level
//
//	"retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}
//
// It fails if p is not valid in native mode or t is not valid; errors of t
// are prefixed "throttle.".
func serviceConfigJSONWith(p Policy, t *ThrottlePolicy, services ...string) (string, error) {
	p.Mode = ModeNative
	err := p.Validate()
	if t != nil {
		err = errors.Join(err, field.Prefix("throttle", t.Validate()))
	}
	if err != nil {
		return "", err
	}
	sc := map[string]any{"methodConfig": []any{ServiceConfigMethod(p, services...)}}
	if t != nil {
		sc["retryThrottling"] = t.ServiceConfig()
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// durationJSON renders d in the protobuf JSON duration form ("0.1s").
func durationJSON(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// AttemptCounter counts calls and attempts of gRPC's native retries with the
// same Stats as Conn. Install everything DialOptions returns on each
// ClientConn (with the same counter): the stats.Handler sees every attempt
// and the interceptors mark each call so attempts can be attributed to it.
//
// grpc-go does not say when its retry throttling refused a retry, so with
// WithThrottle the counter infers it: a call counts in Stats.Throttled when it
// ended with a retryable code after fewer than max_attempts attempts, its
// last attempt got no response headers (was not committed), the server's
// pushback did not say "do not retry", and the call's context was still live
// — the only other ways grpc-go stops retrying early. The Throttle given is
// fed as a mirror of gRPC's bucket (a token per failed, uncommitted attempt
// with a retryable code or a "do not retry" pushback; TokenRatio per
// successful call): it tracks gRPC's own bucket exactly only when the counter
// serves one ClientConn, since gRPC keeps one bucket per ClientConn. The
// throttle's Throttled counter is not used in native mode.
type AttemptCounter struct {
	retryable   codeSet
	obs         Observer
	throttle    *Throttle // mirror; nil: throttling not configured
	maxAttempts int
	attempts    atomic.Int64 // non-transparent attempts, including ones outside marked calls
	counters
}

var _ stats.Handler = (*AttemptCounter)(nil)

// NewAttemptCounter returns a counter that classifies a call's final error
// with p's codes (for GaveUp). WithObserver is honoured (attempt durations
// come from the stats events), and so is WithThrottle (see AttemptCounter);
// other options are ignored.
func NewAttemptCounter(p Policy, opts ...Option) *AttemptCounter {
	k := newCore(p, opts)
	return &AttemptCounter{retryable: k.retryable, obs: k.obs, throttle: k.throttle,
		maxAttempts: min(k.p.MaxAttempts, nativeMaxAttempts)}
}

// DialOptions returns the stats handler and the call-marking interceptors.
func (a *AttemptCounter) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithStatsHandler(a),
		grpc.WithChainUnaryInterceptor(a.unary),
		grpc.WithChainStreamInterceptor(a.stream),
	}
}

// Stats returns the counters so far. Attempts counts every non-transparent
// attempt seen, so it also covers calls not yet finished.
func (a *AttemptCounter) Stats() Stats {
	s := a.stats()
	s.Attempts = a.attempts.Load()
	return s
}

type callKey struct{}

// nativeCall is the per-call state the interceptors put in the context.
type nativeCall struct {
	method       string
	attempts     atomic.Int32
	pushback     atomic.Bool // the last attempt's trailer asked for a wait
	pushbackStop atomic.Bool // … or said not to retry
	header       atomic.Bool // the last attempt received response headers (committed)
	done         atomic.Bool
}

type attemptKey struct{}

// attemptInfo travels in the attempt context from TagRPC to HandleRPC.
type attemptInfo struct {
	call   *nativeCall
	begin  time.Time
	number int
}

// TagRPC implements stats.Handler.
func (a *AttemptCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	if a.obs == nil && a.throttle == nil {
		return ctx
	}
	return context.WithValue(ctx, attemptKey{}, &attemptInfo{})
}

// HandleRPC implements stats.Handler.
func (a *AttemptCounter) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if !s.IsClient() {
		return
	}
	call, _ := ctx.Value(callKey{}).(*nativeCall)
	switch s := s.(type) {
	case *stats.Begin:
		a.begin(ctx, call, s)
	case *stats.InHeader:
		if call != nil {
			call.header.Store(true)
		}
	case *stats.InTrailer:
		if call == nil {
			return
		}
		if _, stop, present := parsePushback(s.Trailer[pushbackTrailer]); stop {
			call.pushbackStop.Store(true)
		} else if present {
			call.pushback.Store(true)
		}
	case *stats.End:
		ai, ok := ctx.Value(attemptKey{}).(*attemptInfo)
		if !ok || ai.number == 0 {
			return
		}
		if a.throttle != nil && s.Error != nil {
			a.mirrorFailure(ai.call, s.Error)
		}
		if a.obs != nil {
			method := ""
			if ai.call != nil {
				method = ai.call.method
			}
			a.obs.Attempt(method, ai.number, s.EndTime.Sub(ai.begin), s.Error)
		}
	}
}

// begin books the start of an attempt.
func (a *AttemptCounter) begin(ctx context.Context, call *nativeCall, s *stats.Begin) {
	if s.IsTransparentRetryAttempt {
		a.transparent.Add(1)
		return
	}
	a.attempts.Add(1)
	n := 1
	if call != nil {
		n = int(call.attempts.Add(1))
		call.header.Store(false)
		if n > 1 && call.pushback.Swap(false) {
			a.pushbackWaits.Add(1)
		}
	}
	if ai, ok := ctx.Value(attemptKey{}).(*attemptInfo); ok {
		ai.call, ai.begin, ai.number = call, s.BeginTime, n
	}
}

// mirrorFailure feeds a failed attempt to the mirror bucket as grpc-go feeds
// its own: only uncommitted attempts count, with a retryable code or a
// "do not retry" pushback.
func (a *AttemptCounter) mirrorFailure(call *nativeCall, err error) {
	if call == nil || call.header.Load() {
		return
	}
	if a.retryable.has(statusCode(err)) || call.pushbackStop.Load() {
		a.throttle.Failure()
	}
}

// TagConn implements stats.Handler.
func (a *AttemptCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn implements stats.Handler.
func (a *AttemptCounter) HandleConn(context.Context, stats.ConnStats) {}

// finishCall books a finished call once; live reports whether the call's
// context was still live when it ended.
func (a *AttemptCounter) finishCall(c *nativeCall, err error, live bool) {
	if c.done.Swap(true) {
		return
	}
	n := int(c.attempts.Load())
	if n < 1 {
		n = 1 // failed before any attempt began (e.g. a closed connection)
	}
	if err != nil && a.retryable.has(statusCode(err)) {
		a.gaveUp.Add(1)
		stopped := c.pushbackStop.Load()
		if stopped {
			a.pushbackStops.Add(1)
		}
		if a.throttle != nil && n < a.maxAttempts && !stopped && !c.header.Load() && live {
			a.throttled.Add(1)
		}
	}
	if err == nil && a.throttle != nil {
		a.throttle.Success()
	}
	a.finish(n)
}

func (a *AttemptCounter) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c := &nativeCall{method: method}
	err := invoker(context.WithValue(ctx, callKey{}, c), method, req, reply, cc, opts...)
	a.finishCall(c, err, ctx.Err() == nil)
	return err
}

func (a *AttemptCounter) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	c := &nativeCall{method: method}
	cs, err := streamer(context.WithValue(ctx, callKey{}, c), desc, cc, method, opts...)
	if err != nil {
		a.finishCall(c, err, ctx.Err() == nil)
		return nil, err
	}
	return &countedStream{ClientStream: cs, a: a, c: c, ctx: ctx, single: !desc.ServerStreams}, nil
}

// countedStream books its call when RecvMsg reports the end: an error
// (io.EOF included), or the one reply of a stream whose server sends one
// (gRPC has read the end of such a stream when RecvMsg returns it).
type countedStream struct {
	grpc.ClientStream
	a      *AttemptCounter
	c      *nativeCall
	ctx    context.Context
	single bool // the server sends one reply (client streaming)
	done   bool
}

func (s *countedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if s.done {
		return err
	}
	if err == nil && s.single {
		s.done = true
		s.a.finishCall(s.c, nil, true)
		return nil
	}
	if err != nil {
		s.done = true
		if errors.Is(err, io.EOF) {
			s.a.finishCall(s.c, nil, true)
		} else {
			s.a.finishCall(s.c, err, s.ctx.Err() == nil)
		}
	}
	return err
}
