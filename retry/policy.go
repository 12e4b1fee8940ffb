package retry

import (
	"errors"
	"math"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/statuscode"
)

// Kind names a backoff shape.
type Kind string

// The backoff shapes. For retry number n (1 for the first retry), before jitter
// and the max_delay cap:
//
//	exponential: base_delay · multiplier^(n−1)
//	linear:      base_delay · n
//	fixed:       base_delay
//	immediate:   0
const (
	Exponential Kind = "exponential"
	Linear      Kind = "linear"
	Fixed       Kind = "fixed"
	Immediate   Kind = "immediate"
)

// Mode says who retries.
type Mode string

// The retry modes.
const (
	// ModeWrapper retries in this package's decorator (Wrap, interceptors).
	ModeWrapper Mode = "wrapper"
	// ModeNative leaves retries to grpc-go's service-config retryPolicy
	// (ServiceConfigMethod) and counts them with an AttemptCounter.
	ModeNative Mode = "native"
)

// Defaults filled in by Policy.WithDefaults (the seed's values).
const (
	defaultMaxAttempts = 3
	defaultBaseDelay   = 100 * time.Millisecond
	defaultMaxDelay    = 30 * time.Second
	defaultMultiplier  = 2.0
	defaultMaxBuffer   = 64 << 10
)

// maxAttemptsLimit is the largest max_attempts the wrapper accepts.
const maxAttemptsLimit = 100

// nativeMaxAttempts is grpc-go's cap on retryPolicy.maxAttempts: larger values
// are silently lowered to it by gRPC, so native mode rejects them instead.
const nativeMaxAttempts = 5

// nativeJitter is the jitter gRPC's native retry always applies (±20 %).
const nativeJitter = 0.2

// defaultCodes returns the status codes retried when Policy.Codes is empty:
// UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED and INTERNAL.
func defaultCodes() []codes.Code {
	return []codes.Code{codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Internal}
}

// Policy configures retries. The zero value, after WithDefaults, is the seed's
// policy: exponential backoff from 100ms doubling to at most 30s, 3 attempts
// in all, no jitter, the default codes, no per-attempt timeout, 64 KiB of
// stream replay buffer, wrapper mode.
type Policy struct {
	// Kind is the backoff shape; empty means exponential.
	Kind Kind `yaml:"policy"`
	// MaxAttempts counts every attempt including the first; 1 disables
	// retries; 0 means 3.
	MaxAttempts int `yaml:"max_attempts"`
	// BaseDelay is the first retry's delay (0: 100ms; unused by immediate).
	BaseDelay time.Duration `yaml:"base_delay"`
	// MaxDelay caps every delay, jitter included (0: 30s).
	MaxDelay time.Duration `yaml:"max_delay"`
	// Multiplier is the exponential growth factor (0: 2);
	// must be at least 1.
	Multiplier float64 `yaml:"multiplier"`
	// Jitter spreads each delay uniformly over ±Jitter of itself (0..1;
	// 0 disables it).
	Jitter float64 `yaml:"jitter"`
	// Codes are the retryable status codes (empty: UNAVAILABLE,
	// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED and INTERNAL).
	Codes []codes.Code `yaml:"codes"`
	// PerAttemptTimeout bounds each unary attempt (0: none; the call's own
	// deadline still applies). Streams are bounded only by the call's deadline.
	PerAttemptTimeout time.Duration `yaml:"per_attempt_timeout"`
	// MaxBuffer is how many bytes of sent stream messages are kept for
	// replay; a stream that sends more commits (is no longer retried).
	// 0 means 64 KiB.
	MaxBuffer int `yaml:"max_buffer"`
	// Mode chooses who retries; empty means wrapper.
	Mode Mode `yaml:"mode"`
}

// WithDefaults returns p with every unset field given its default.
func (p Policy) WithDefaults() Policy {
	p = p.numericDefaults()
	if len(p.Codes) == 0 {
		p.Codes = defaultCodes()
	}
	return p
}

// numericDefaults fills every default except Codes (it does not allocate).
func (p Policy) numericDefaults() Policy {
	if p.Kind == "" {
		p.Kind = Exponential
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = defaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = defaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = defaultMaxDelay
	}
	if p.Multiplier == 0 {
		p.Multiplier = defaultMultiplier
	}
	if p.MaxBuffer == 0 {
		p.MaxBuffer = defaultMaxBuffer
	}
	if p.Mode == "" {
		p.Mode = ModeWrapper
	}
	return p
}

// Validate reports every invalid field of p (defaults applied first), as
// *field.Error values with paths relative to the policy, e.g.
// "max_attempts: must be at least 1".
func (p Policy) Validate() error {
	d := p.WithDefaults()
	var errs []error
	switch d.Kind {
	case Exponential, Linear, Fixed, Immediate:
	default:
		errs = append(errs, field.Errorf("policy", "unknown policy %q (one of exponential, linear, fixed, immediate)", p.Kind))
	}
	switch d.Mode {
	case ModeWrapper, ModeNative:
	default:
		errs = append(errs, field.Errorf("mode", "unknown mode %q (one of wrapper, native)", p.Mode))
	}
	if d.MaxAttempts < 1 {
		errs = append(errs, field.Errorf("max_attempts", "must be at least 1, got %d", p.MaxAttempts))
	} else if d.MaxAttempts > maxAttemptsLimit {
		errs = append(errs, field.Errorf("max_attempts", "must be at most %d, got %d", maxAttemptsLimit, p.MaxAttempts))
	}
	if d.BaseDelay < 0 {
		errs = append(errs, field.Errorf("base_delay", "must not be negative, got %s", p.BaseDelay))
	}
	if d.MaxDelay < 0 {
		errs = append(errs, field.Errorf("max_delay", "must not be negative, got %s", p.MaxDelay))
	} else if d.BaseDelay > d.MaxDelay {
		errs = append(errs, field.Errorf("max_delay", "must be at least base_delay (%s), got %s", d.BaseDelay, d.MaxDelay))
	}
	if math.IsNaN(d.Multiplier) || math.IsInf(d.Multiplier, 0) || d.Multiplier < 1 {
		errs = append(errs, field.Errorf("multiplier", "must be a number of at least 1, got %v", p.Multiplier))
	}
	if math.IsNaN(d.Jitter) || d.Jitter < 0 || d.Jitter > 1 {
		errs = append(errs, field.Errorf("jitter", "must be between 0 and 1, got %v", p.Jitter))
	}
	seen := map[codes.Code]bool{}
	for i, c := range d.Codes {
		path := field.Join("codes", "["+itoa(i)+"]")
		switch {
		case c == codes.OK:
			errs = append(errs, field.Errorf(path, "OK is not an error and cannot be retried"))
		case c > codes.Unauthenticated:
			errs = append(errs, field.Errorf(path, "unknown status code %d", uint32(c)))
		case seen[c]:
			errs = append(errs, field.Errorf(path, "%s is listed twice", statuscode.Name(c)))
		}
		seen[c] = true
	}
	if d.PerAttemptTimeout < 0 {
		errs = append(errs, field.Errorf("per_attempt_timeout", "must not be negative, got %s", p.PerAttemptTimeout))
	}
	if d.MaxBuffer < 0 {
		errs = append(errs, field.Errorf("max_buffer", "must not be negative, got %d", p.MaxBuffer))
	}
	if d.Mode == ModeNative {
		errs = append(errs, d.validateNative()...)
	}
	return errors.Join(errs...)
}

// validateNative reports the settings gRPC's native retryPolicy cannot express.
func (d Policy) validateNative() []error {
	var errs []error
	switch d.Kind {
	case Exponential, Fixed:
	default:
		errs = append(errs, field.Errorf("policy", "native mode supports exponential and fixed backoff only, got %s", d.Kind))
	}
	if d.MaxAttempts > nativeMaxAttempts {
		errs = append(errs, field.Errorf("max_attempts", "native mode allows at most %d (gRPC caps retryPolicy.maxAttempts), got %d", nativeMaxAttempts, d.MaxAttempts))
	}
	if d.Jitter != 0 && d.Jitter != nativeJitter {
		errs = append(errs, field.Errorf("jitter", "native mode always applies gRPC's ±20%% jitter: leave unset or set 0.2, got %v", d.Jitter))
	}
	if d.BaseDelay <= 0 {
		errs = append(errs, field.Errorf("base_delay", "native mode needs a positive base_delay (gRPC initialBackoff)"))
	}
	if d.PerAttemptTimeout != 0 {
		errs = append(errs, field.Errorf("per_attempt_timeout", "not supported in native mode (grpc-go has no per-attempt timeout)"))
	}
	return errs
}

// Delay returns the wait before retry number attempt (1 for the first
// retry, i.e. before the second attempt), using u, a uniform number in
// [0, 1), for jitter. It is pure: the same inputs give the same delay.
//
// The raw delay (see Kind) is capped at MaxDelay, then jittered to
// raw·(1 + Jitter·(2u − 1)) and capped at MaxDelay again; it is never
// negative. Unset fields take their defaults.
func (p Policy) Delay(attempt int, u float64) time.Duration {
	p = p.numericDefaults()
	if attempt < 1 {
		attempt = 1
	}
	maxD := float64(p.MaxDelay)
	var raw float64
	switch p.Kind {
	case Immediate:
		return 0
	case Fixed:
		raw = float64(p.BaseDelay)
	case Linear:
		raw = float64(p.BaseDelay) * float64(attempt)
	default:
		raw = float64(p.BaseDelay) * math.Pow(p.Multiplier, float64(attempt-1))
	}
	if math.IsNaN(raw) || raw > maxD {
		raw = maxD
	}
	if p.Jitter > 0 {
		raw *= 1 + p.Jitter*(2*u-1)
	}
	switch {
	case raw > maxD:
		raw = maxD
	case raw < 0 || math.IsNaN(raw):
		raw = 0
	}
	return time.Duration(raw)
}

// codeSet is a bit set of status codes.
type codeSet uint32

func makeCodeSet(cs []codes.Code) codeSet {
	var s codeSet
	for _, c := range cs {
		if c < 32 {
			s |= 1 << c
		}
	}
	return s
}

func (s codeSet) has(c codes.Code) bool { return c < 32 && s&(1<<c) != 0 }

// codeNames renders codes as canonical names for messages and service config.
func codeNames(cs []codes.Code) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = statuscode.Name(c)
	}
	return out
}

// String returns a compact description, e.g.
// "exponential max_attempts=3 base=100ms max=30s x2 jitter=0 codes=[UNAVAILABLE]".
func (p Policy) String() string {
	d := p.WithDefaults()
	var b strings.Builder
	b.WriteString(string(d.Kind))
	b.WriteString(" max_attempts=" + itoa(d.MaxAttempts))
	b.WriteString(" base=" + d.BaseDelay.String())
	b.WriteString(" max=" + d.MaxDelay.String())
	b.WriteString(" codes=[" + strings.Join(codeNames(d.Codes), ",") + "]")
	b.WriteString(" mode=" + string(d.Mode))
	return b.String()
}
