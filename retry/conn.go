package retry

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Header names of gRPC's retry protocol (gRFC A6).
const (
	// previousAttemptsHeader is sent on every retry with the number of
	// attempts made before it.
	previousAttemptsHeader = "grpc-previous-rpc-attempts"
	// pushbackTrailer is the server's request to wait this many
	// milliseconds before retrying; a negative or malformed value means
	// "do not retry".
	pushbackTrailer = "grpc-retry-pushback-ms"
)

// Observer is told about every attempt when it ends: the full method name,
// the attempt number (1 for the first), how long the attempt took and its
// error (nil on success). For a stream, an attempt ends when it fails or,
// once committed, when the stream ends. It must be safe for concurrent use
// and fast: it runs on the caller's goroutine.
type Observer interface {
	Attempt(method string, attempt int, d time.Duration, err error)
}

// Option configures Wrap and the interceptors.
type Option func(*core)

// withClock sets the clock used for waits and deadline checks (default
// systemClock).
func withClock(c clock) Option { return func(k *core) { k.clock = c } }

// WithRand sets the source of uniform [0, 1) numbers used for jitter
// (default math/rand/v2.Float64). It must be safe for concurrent use.
func WithRand(f func() float64) Option { return func(k *core) { k.rand = f } }

// WithObserver sets an observer told about every attempt.
func WithObserver(o Observer) Option { return func(k *core) { k.obs = o } }

// Stats are the counters of a retry layer. Calls and attempts are counted
// when a call finishes (a stream finishes when RecvMsg returns an error,
// io.EOF included, or when it cannot be created).
type Stats struct {
	Calls    int64 // calls finished
	Attempts int64 // attempts made by finished calls
	Retried  int64 // calls that needed more than one attempt
	// GaveUp counts calls that failed with a retryable code: attempts
	// exhausted, no time left before the deadline, or the server's pushback
	// said not to retry.
	GaveUp int64
	// PushbackWaits counts waits whose length the server chose.
	PushbackWaits int64
	// PushbackStops counts calls not retried because the server's pushback
	// said so.
	PushbackStops int64
	// Throttled counts calls not retried because the shared token bucket
	// (WithThrottle) was at or below half its size; they are in GaveUp too.
	// In native mode it is inferred (see AttemptCounter).
	Throttled int64
	// TransparentRetries counts attempts grpc-go replayed by itself because
	// the server never saw the previous one (native mode only; they are not
	// in Attempts).
	TransparentRetries int64
	// AttemptsPerCall[n] counts calls that took n attempts (index 0 unused).
	AttemptsPerCall []int64
}

// counters are the atomics behind Stats. Calls and Attempts are derived from
// the per-call histogram, so finishing a call costs one atomic add.
type counters struct {
	perCall       [maxAttemptsLimit + 1]atomic.Int64
	gaveUp        atomic.Int64
	pushbackWaits atomic.Int64
	pushbackStops atomic.Int64
	throttled     atomic.Int64
	transparent   atomic.Int64
}

func (c *counters) finish(attempts int) {
	if attempts > maxAttemptsLimit {
		attempts = maxAttemptsLimit
	}
	c.perCall[attempts].Add(1)
}

func (c *counters) stats() Stats {
	var s Stats
	last := 0
	hist := make([]int64, len(c.perCall))
	for i := range c.perCall {
		n := c.perCall[i].Load()
		hist[i] = n
		s.Calls += n
		s.Attempts += int64(i) * n
		if i > 1 {
			s.Retried += n
		}
		if n != 0 {
			last = i
		}
	}
	s.AttemptsPerCall = hist[:last+1]
	s.GaveUp = c.gaveUp.Load()
	s.PushbackWaits = c.pushbackWaits.Load()
	s.PushbackStops = c.pushbackStops.Load()
	s.Throttled = c.throttled.Load()
	s.TransparentRetries = c.transparent.Load()
	return s
}

// core is the retry engine shared by Conn and the interceptors.
type core struct {
	p          Policy
	retryable  codeSet
	clock      clock
	systemTime bool // clock is systemClock: use time.Since
	rand       func() float64
	obs        Observer
	throttle   *Throttle // nil: no throttling
	counters
}

func newCore(p Policy, opts []Option) *core {
	p = p.WithDefaults()
	if p.MaxAttempts < 1 {
		p.MaxAttempts = 1
	}
	if p.MaxAttempts > maxAttemptsLimit {
		p.MaxAttempts = maxAttemptsLimit
	}
	k := &core{p: p, retryable: makeCodeSet(p.Codes), clock: systemClock{}, rand: rand.Float64}
	for _, o := range opts {
		o(k)
	}
	_, k.systemTime = k.clock.(systemClock)
	return k
}

func (k *core) now() time.Time {
	if k.systemTime {
		return time.Now()
	}
	return k.clock.Now()
}

// decision is what to do after a failed attempt.
type decision int

const (
	stop       decision = iota // not retryable: return the error
	giveUp                     // retryable, but out of attempts or time
	pushStop                   // retryable, but the server said not to retry
	throttled                  // retryable, but the token bucket refused
	retryAfter                 // wait, then retry
)

// decide looks at a failed attempt (attempt attempts made so far) and returns
// what to do and, for retryAfter, the wait and whether the server chose it.
// With a throttle, the failure is reported to it first (grpc-go's order), so
// a throttled call also costs a token when it had no attempts left.
func (k *core) decide(ctx context.Context, attempt int, err error, trailer metadata.MD) (decision, time.Duration, bool) {
	pushWait, noRetry, pushed := parsePushback(trailer[pushbackTrailer])
	if !k.retryable.has(status.Code(err)) {
		if noRetry && k.throttle != nil {
			k.throttle.Failure() // A6: a "do not retry" pushback counts as a failure
		}
		return stop, 0, false
	}
	allowed := k.throttle == nil || k.throttle.Failure()
	if attempt >= k.p.MaxAttempts || ctx.Err() != nil {
		return giveUp, 0, false
	}
	if noRetry {
		return pushStop, 0, false
	}
	if !allowed {
		return throttled, 0, false
	}
	wait := pushWait
	if !pushed {
		u := 0.5
		if k.p.Jitter > 0 {
			u = k.rand()
		}
		wait = k.p.Delay(attempt, u)
	}
	if dl, ok := ctx.Deadline(); ok && !k.now().Add(wait).Before(dl) {
		return giveUp, 0, false
	}
	return retryAfter, wait, pushed
}

// maxPushback is the longest wait a pushback may ask for: A6 sends a signed
// 32-bit number of milliseconds.
const maxPushback = math.MaxInt32

// parsePushback reads the values of the grpc-retry-pushback-ms trailer.
// present reports whether the server sent one; stop means "do not retry" (a
// negative, malformed, out-of-range or repeated value, as gRFC A6 and grpc-go
// read it); otherwise wait is the delay the server asked for.
func parsePushback(vals []string) (wait time.Duration, stop, present bool) {
	switch len(vals) {
	case 0:
		return 0, false, false
	case 1:
	default:
		return 0, true, true
	}
	ms, err := strconv.ParseInt(vals[0], 10, 32)
	if err != nil || ms < 0 || ms > maxPushback {
		return 0, true, true
	}
	return time.Duration(ms) * time.Millisecond, false, true
}

// wait sleeps for d on the clock; it reports false if ctx ended first.
func (k *core) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := k.clock.NewTimer(d)
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

// afterFailure books a failed attempt's decision; it returns the wait and
// whether to retry.
func (k *core) afterFailure(ctx context.Context, attempt int, err error, trailer metadata.MD) (time.Duration, bool) {
	d, wait, pushed := k.decide(ctx, attempt, err, trailer)
	switch d {
	case retryAfter:
		if pushed {
			k.pushbackWaits.Add(1)
		}
		return wait, true
	case pushStop:
		k.pushbackStops.Add(1)
		k.gaveUp.Add(1)
	case throttled:
		k.throttled.Add(1)
		k.throttle.refused()
		k.gaveUp.Add(1)
	case giveUp:
		k.gaveUp.Add(1)
	}
	return 0, false
}

// retryContext returns ctx marked for attempt number attempt (> 1).
func retryContext(ctx context.Context, attempt int) context.Context {
	return metadata.AppendToOutgoingContext(ctx, previousAttemptsHeader, strconv.Itoa(attempt-1))
}

// unaryState is per-call scratch space reused through a pool so the success
// path allocates nothing: the trailer (for pushback) and the extended
// call-option slice that asks for it.
type unaryState struct {
	trailer metadata.MD
	opts    []grpc.CallOption
}

var unaryPool = sync.Pool{New: func() any { return &unaryState{opts: make([]grpc.CallOption, 0, 8)} }}

// invoke runs a unary call with retries through invoker.
func (k *core) invoke(ctx context.Context, method string, args, reply any, opts []grpc.CallOption,
	cc *grpc.ClientConn, invoker grpc.UnaryInvoker) error {
	st := unaryPool.Get().(*unaryState)
	callOpts := append(append(st.opts[:0], opts...), grpc.TrailerCallOption{TrailerAddr: &st.trailer})
	var err error
	attempt := 1
	for ; ; attempt++ {
		actx := ctx
		if attempt > 1 {
			actx = retryContext(ctx, attempt)
		}
		var cancel context.CancelFunc
		if k.p.PerAttemptTimeout > 0 {
			actx, cancel = context.WithTimeout(actx, k.p.PerAttemptTimeout)
		}
		var start time.Time
		if k.obs != nil {
			start = k.now()
		}
		st.trailer = nil
		err = invoker(actx, method, args, reply, cc, callOpts...)
		if cancel != nil {
			cancel()
		}
		if k.obs != nil {
			k.obs.Attempt(method, attempt, k.now().Sub(start), err)
		}
		if err == nil {
			break
		}
		wait, again := k.afterFailure(ctx, attempt, err, st.trailer)
		if !again || !k.wait(ctx, wait) {
			break
		}
	}
	clear(callOpts)
	st.opts, st.trailer = callOpts[:0], nil
	unaryPool.Put(st)
	k.finish(attempt)
	if err == nil && k.throttle != nil {
		k.throttle.Success()
	}
	return err
}

// Conn is a grpc.ClientConnInterface that retries calls on the connection it
// wraps according to a Policy. It is safe for concurrent use.
type Conn struct {
	cc      grpc.ClientConnInterface
	k       *core
	invoker grpc.UnaryInvoker // cc.Invoke, made once so calls do not allocate it
}

var _ grpc.ClientConnInterface = (*Conn)(nil)

// Wrap returns a Conn that retries calls made through cc according to p
// (defaults filled in; p should have passed Validate). Wrap always retries
// in this package, whatever p.Mode says: native mode is set up with
// ServiceConfigMethod and NewAttemptCounter instead.
func Wrap(cc grpc.ClientConnInterface, p Policy, opts ...Option) *Conn {
	c := &Conn{cc: cc, k: newCore(p, opts)}
	c.invoker = func(ctx context.Context, method string, args, reply any, _ *grpc.ClientConn, opts ...grpc.CallOption) error {
		return cc.Invoke(ctx, method, args, reply, opts...)
	}
	return c
}

// Invoke performs a unary call, retrying it as the policy allows. It
// returns nil or the last attempt's error.
func (c *Conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.k.invoke(ctx, method, args, reply, opts, nil, c.invoker)
}

// NewStream opens a stream that is retried while uncommitted (see the
// package documentation).
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.k.newStream(ctx, desc, method, opts, c.cc.NewStream)
}

// Stats returns the counters so far.
func (c *Conn) Stats() Stats { return c.k.stats() }

// Interceptors holds the interceptor forms of the retry core for users of a
// single grpc.ClientConn, and their shared counters.
type Interceptors struct{ k *core }

// NewInterceptors returns interceptors retrying according to p that share
// one set of counters.
func NewInterceptors(p Policy, opts ...Option) *Interceptors {
	return &Interceptors{k: newCore(p, opts)}
}

// Unary returns the unary client interceptor.
func (i *Interceptors) Unary() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return i.k.invoke(ctx, method, req, reply, opts, cc, invoker)
	}
}

// Stream returns the stream client interceptor.
func (i *Interceptors) Stream() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return i.k.newStream(ctx, desc, method, opts, func(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(ctx, desc, cc, method, opts...)
		})
	}
}

// Stats returns the counters of both interceptors.
func (i *Interceptors) Stats() Stats { return i.k.stats() }

// UnaryClientInterceptor returns a unary interceptor retrying according to
// p, with its own counters (use NewInterceptors to read them).
func UnaryClientInterceptor(p Policy, opts ...Option) grpc.UnaryClientInterceptor {
	return NewInterceptors(p, opts...).Unary()
}

// StreamClientInterceptor returns a stream interceptor retrying according
// to p, with its own counters (use NewInterceptors to read them).
func StreamClientInterceptor(p Policy, opts ...Option) grpc.StreamClientInterceptor {
	return NewInterceptors(p, opts...).Stream()
}

func statusCode(err error) codes.Code { return status.Code(err) }
