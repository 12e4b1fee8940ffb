package retry

import (
	"errors"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/eventlog"
)

// maxThrottleTokens is the largest max_tokens gRPC accepts (grpc-go rejects
// a retryThrottling.maxTokens above 1000).
const maxThrottleTokens = 1000

// milli is the fixed-point scale of the token bucket: tokens are counted in
// thousandths, which is exactly the precision A6 gives token_ratio.
const milli = 1000

// ThrottlePolicy is gRFC A6's retry throttling: a token bucket shared by
// every call to one server. It starts full at MaxTokens; every failed
// attempt with a retryable (or, for hedging, non-fatal) code and every
// pushback saying "do not retry" takes one token, every successful call gives
// back TokenRatio; retries and hedges are sent only while the bucket holds
// more than MaxTokens/2. As YAML:
//
//	max_tokens: 10
//	token_ratio: 0.1
//
// Both fields are required (A6 gives no defaults).
type ThrottlePolicy struct {
	// MaxTokens is the bucket's size, 1..1000.
	MaxTokens int `yaml:"max_tokens"`
	// TokenRatio is what a successful call gives back, in (0, 1] with at
	// most three decimal places (A6).
	TokenRatio float64 `yaml:"token_ratio"`
}

// Validate reports every invalid field as a *field.Error relative to the
// policy, e.g. "token_ratio: at most 3 decimal places (gRFC A6), got 0.1234".
func (p ThrottlePolicy) Validate() error {
	var errs []error
	if p.MaxTokens < 1 || p.MaxTokens > maxThrottleTokens {
		errs = append(errs, field.Errorf("max_tokens", "is required and must be between 1 and %d, got %d", maxThrottleTokens, p.MaxTokens))
	}
	r := p.TokenRatio
	switch {
	case math.IsNaN(r) || r <= 0 || r > 1:
		errs = append(errs, field.Errorf("token_ratio", "is required and must be in (0, 1], got %v", r))
	case !threeDecimals(r):
		errs = append(errs, field.Errorf("token_ratio", "at most 3 decimal places (gRFC A6), got %v", r))
	}
	return errors.Join(errs...)
}

// threeDecimals reports whether r has at most three decimal places, allowing
// for binary floating point (0.1 is not exact, but is what the user wrote).
func threeDecimals(r float64) bool {
	m := r * milli
	return math.Abs(m-math.Round(m)) < 1e-6
}

// milliRatio returns TokenRatio in thousandths of a token.
func (p ThrottlePolicy) milliRatio() int64 { return int64(math.Round(p.TokenRatio * milli)) }

// ServiceConfig returns the service-config "retryThrottling" object for
// gRPC's native mode: {"maxTokens": 10, "tokenRatio": 0.1}. Put it at the
// top level of a service config, beside "methodConfig". gRPC keeps one such
// bucket per ClientConn.
func (p ThrottlePolicy) ServiceConfig() map[string]any {
	return map[string]any{"maxTokens": p.MaxTokens, "tokenRatio": float64(p.milliRatio()) / milli}
}

// String returns e.g. "max_tokens=10 token_ratio=0.1".
func (p ThrottlePolicy) String() string {
	return "max_tokens=" + strconv.Itoa(p.MaxTokens) + " token_ratio=" + strconv.FormatFloat(p.TokenRatio, 'f', -1, 64)
}

// Throttle is the token bucket of a ThrottlePolicy, shared by every retry
// and hedging layer that should throttle together (A6 keeps one per server
// name: give every worker's Conn and HedgeConn the same Throttle through
// WithThrottle). It is lock-free: the bucket is one atomic integer of
// thousandths of a token, so token_ratio's three decimals add up exactly.
//
// Changes between "retries allowed" and "throttling" are logged with their
// time (ThrottleStats.Log); they are rare, and nothing else is logged.
type Throttle struct {
	max, thresh, ratio int64 // thousandths of a token
	epoch              time.Time

	tokens    atomic.Int64
	failures  atomic.Int64
	successes atomic.Int64
	throttled atomic.Int64
	log       *eventlog.Log[ThrottleEvent]
}

// ThrottleEvent is a change of a Throttle's state: At is the time since the
// throttle's epoch, Throttling whether retries and hedges were refused from
// then on, Tokens the bucket's content right after the change.
type ThrottleEvent struct {
	At         time.Duration
	Throttling bool
	Tokens     float64
}

// ThrottleOption configures NewThrottle.
type ThrottleOption func(*Throttle)

// WithThrottleEpoch sets the time ThrottleEvent.At counts from (default:
// when NewThrottle was called), e.g. the start of a run.
func WithThrottleEpoch(t time.Time) ThrottleOption { return func(th *Throttle) { th.epoch = t } }

// WithThrottleLogCap sets how many state changes are kept (n ≤ 0: the
// default, 10 000); later ones are counted in ThrottleStats.LogDropped.
func WithThrottleLogCap(n int) ThrottleOption {
	return func(th *Throttle) { th.log = eventlog.New[ThrottleEvent](n) }
}

// NewThrottle returns a full bucket for p (p should have passed Validate;
// out-of-range values are clamped to the valid range).
func NewThrottle(p ThrottlePolicy, opts ...ThrottleOption) *Throttle {
	maxT := int64(min(max(p.MaxTokens, 1), maxThrottleTokens)) * milli
	t := &Throttle{max: maxT, thresh: maxT / 2, ratio: min(max(p.milliRatio(), 1), milli), epoch: time.Now()}
	for _, o := range opts {
		o(t)
	}
	if t.log == nil {
		t.log = eventlog.New[ThrottleEvent](0)
	}
	t.tokens.Store(maxT)
	return t
}

// Tokens returns the bucket's content now (cheap: one atomic load; sample it
// once a second for a time series).
func (t *Throttle) Tokens() float64 { return float64(t.tokens.Load()) / milli }

// Allowed reports whether a retry or hedge may be sent now: the bucket holds
// more than MaxTokens/2.
func (t *Throttle) Allowed() bool { return t.tokens.Load() > t.thresh }

// Failure takes one token for a failed attempt (or a pushback saying not to
// retry) and reports whether retries are still allowed afterwards. This is
// grpc-go's order: the failure is counted first, then the bucket is checked.
func (t *Throttle) Failure() bool {
	t.failures.Add(1)
	for {
		old := t.tokens.Load()
		n := max(old-milli, 0)
		if old == n || t.tokens.CompareAndSwap(old, n) {
			if old > t.thresh && n <= t.thresh {
				t.logChange(true, n)
			}
			return n > t.thresh
		}
	}
}

// Success gives back TokenRatio for a successful call. When the bucket is
// full it is one atomic load.
func (t *Throttle) Success() {
	t.successes.Add(1)
	for {
		old := t.tokens.Load()
		n := min(old+t.ratio, t.max)
		if old == n || t.tokens.CompareAndSwap(old, n) {
			if old <= t.thresh && n > t.thresh {
				t.logChange(false, n)
			}
			return
		}
	}
}

// refused counts a retry or hedge that was not sent because of the bucket.
func (t *Throttle) refused() { t.throttled.Add(1) }

func (t *Throttle) logChange(throttling bool, tokens int64) {
	t.log.Add(ThrottleEvent{At: time.Since(t.epoch), Throttling: throttling, Tokens: float64(tokens) / milli})
}

// ThrottleStats are a Throttle's counters.
type ThrottleStats struct {
	// Tokens is the bucket's content now; MaxTokens its size.
	Tokens, MaxTokens float64
	// Throttling reports whether retries and hedges are refused now.
	Throttling bool
	// Failures and Successes count what was reported to the bucket.
	Failures, Successes int64
	// Throttled counts retries and hedges not sent because the bucket held
	// MaxTokens/2 or less.
	Throttled int64
	// Log lists the changes between allowing and throttling, oldest first;
	// LogDropped counts changes not kept because the log was full.
	Log        []ThrottleEvent
	LogDropped int64
}

// Stats returns the counters so far.
func (t *Throttle) Stats() ThrottleStats {
	tok := t.tokens.Load()
	s := ThrottleStats{Tokens: float64(tok) / milli, MaxTokens: float64(t.max) / milli, Throttling: tok <= t.thresh,
		Failures: t.failures.Load(), Successes: t.successes.Load(), Throttled: t.throttled.Load()}
	s.Log, s.LogDropped = t.log.Snapshot()
	return s
}

// WithThrottle makes Wrap, the interceptors and Hedge share the token
// bucket t: a failed attempt with a retryable (hedging: non-fatal) code
// costs a token, a successful call gives TokenRatio back, and retries and
// hedges are not sent while t is throttling (counted in Stats.Throttled and
// in t's own Stats).
func WithThrottle(t *Throttle) Option { return func(k *core) { k.throttle = t } }
