package retry

import (
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/statuscode"
)

// Hedging limits and defaults (gRFC A6).
const (
	// maxHedgeAttempts is A6's client-side cap on hedgingPolicy.maxAttempts.
	maxHedgeAttempts = 5
	// defaultHedgeMaxAttempts is max_attempts when absent: the original
	// call and one hedge.
	defaultHedgeMaxAttempts = 2
)

// defaultNonFatalCodes returns the non-fatal codes used when
// HedgingPolicy.NonFatalCodes is absent: UNAVAILABLE, INTERNAL and ABORTED,
// the example of gRFC A6.
func defaultNonFatalCodes() []codes.Code {
	return []codes.Code{codes.Unavailable, codes.Internal, codes.Aborted}
}

// HedgingPolicy configures hedging (gRFC A6): the original attempt is sent at
// once and, while none has answered, another every HedgingDelay, up to
// MaxAttempts in all; the first response wins and the others are cancelled.
// As YAML:
//
//	max_attempts: 3
//	hedging_delay: 20ms
//	non_fatal_codes: [UNAVAILABLE]
type HedgingPolicy struct {
	// MaxAttempts counts every attempt including the original, 2..5
	// (absent: 2).
	MaxAttempts *int `yaml:"max_attempts"`
	// HedgingDelay is the wait before each further attempt while none has
	// answered; 0 (or absent) sends all MaxAttempts at once, as in A6. A good
	// value is near the latency percentile whose tail should be cut (e.g. the
	// p95): then about 5 % of calls send a hedge.
	HedgingDelay time.Duration `yaml:"hedging_delay"`
	// NonFatalCodes are the codes after which the other attempts go on and
	// the next hedge is sent at once; any other error ends the call. Absent:
	// UNAVAILABLE, INTERNAL and ABORTED; an explicit empty list is an error
	// (A6 requires a non-empty one).
	NonFatalCodes []codes.Code `yaml:"non_fatal_codes"`
	// MaxBuffer is how many bytes of sent stream messages are kept to replay
	// on a hedge; a stream that sends more commits to one attempt (absent:
	// 64 KiB; 0 means streams are not hedged once they send a message).
	MaxBuffer *int `yaml:"max_buffer"`
}

// WithDefaults returns p with every absent field given its default.
func (p HedgingPolicy) WithDefaults() HedgingPolicy {
	if p.MaxAttempts == nil {
		n := defaultHedgeMaxAttempts
		p.MaxAttempts = &n
	}
	if p.NonFatalCodes == nil {
		p.NonFatalCodes = defaultNonFatalCodes()
	}
	if p.MaxBuffer == nil {
		n := defaultMaxBuffer
		p.MaxBuffer = &n
	}
	return p
}

// Validate reports every invalid field of p as *field.Error values with paths
// relative to the policy, e.g. "max_attempts: must be between 2 and 5".
func (p HedgingPolicy) Validate() error {
	var errs []error
	if n := p.MaxAttempts; n != nil && (*n < 2 || *n > maxHedgeAttempts) {
		errs = append(errs, field.Errorf("max_attempts", "must be between 2 and %d (gRFC A6), got %d", maxHedgeAttempts, *n))
	}
	if p.HedgingDelay < 0 {
		errs = append(errs, field.Errorf("hedging_delay", "must not be negative, got %s", p.HedgingDelay))
	}
	if p.NonFatalCodes != nil && len(p.NonFatalCodes) == 0 {
		errs = append(errs, field.Errorf("non_fatal_codes", "must not be empty (gRFC A6); leave it out for %s",
			strings.Join(codeNames(defaultNonFatalCodes()), ", ")))
	}
	seen := map[codes.Code]bool{}
	for i, c := range p.NonFatalCodes {
		path := field.Join("non_fatal_codes", "["+itoa(i)+"]")
		switch {
		case c == codes.OK:
			errs = append(errs, field.Errorf(path, "OK is not an error"))
		case c > codes.Unauthenticated:
			errs = append(errs, field.Errorf(path, "unknown status code %d", uint32(c)))
		case c == codes.Canceled:
			errs = append(errs, field.Errorf(path, "CANCELLED cannot be non-fatal: it is how losing attempts end"))
		case seen[c]:
			errs = append(errs, field.Errorf(path, "%s is listed twice", statuscode.Name(c)))
		}
		seen[c] = true
	}
	if n := p.MaxBuffer; n != nil && *n < 0 {
		errs = append(errs, field.Errorf("max_buffer", "must not be negative, got %d", *n))
	}
	return errors.Join(errs...)
}

// String returns a compact description, e.g.
// "hedging max_attempts=3 delay=20ms non_fatal=[UNAVAILABLE]".
func (p HedgingPolicy) String() string {
	d := p.WithDefaults()
	return "hedging max_attempts=" + itoa(*d.MaxAttempts) + " delay=" + d.HedgingDelay.String() +
		" non_fatal=[" + strings.Join(codeNames(d.NonFatalCodes), ",") + "]"
}

// HedgeMessage lets a message that is not a proto.Message take part in
// hedging (for example the raw frames of a custom codec): a hedge decodes
// into a fresh message and the winner's is copied into the caller's, and a
// hedged stream keeps a copy of its request.
type HedgeMessage interface {
	// HedgeNew returns a new, empty message of the same type. It may be
	// called while a response is being decoded into the receiver, so it
	// must not read the receiver's content.
	HedgeNew() any
	// HedgeCopy makes the receiver a deep copy of src, a message HedgeNew
	// returned or the receiver's own type.
	HedgeCopy(src any)
}

// newLike returns an empty message of m's type, or false when m can be
// neither a proto.Message nor a HedgeMessage. It reads m (proto), so it must
// not run while m is being decoded into; see msgType for that.
func newLike(m any) (any, bool) {
	switch m := m.(type) {
	case proto.Message:
		return m.ProtoReflect().New().Interface(), true
	case HedgeMessage:
		return m.HedgeNew(), true
	}
	return nil, false
}

// msgType returns what makes new messages of m's type without touching m
// later: its protobuf type, or m itself for a HedgeMessage.
func msgType(m any) any {
	if pm, ok := m.(proto.Message); ok {
		return pm.ProtoReflect().Type()
	}
	return m
}

// newOfType returns a new message from what msgType returned.
func newOfType(t any) any {
	if mt, ok := t.(protoreflect.MessageType); ok {
		return mt.New().Interface()
	}
	return t.(HedgeMessage).HedgeNew()
}

// hedgeable reports whether m can be hedged (see newLike).
func hedgeable(m any) bool {
	switch m.(type) {
	case proto.Message, HedgeMessage:
		return true
	}
	return false
}

// copyInto overwrites dst with src; both come from newLike's cases.
func copyInto(dst, src any) {
	if d, ok := dst.(proto.Message); ok {
		proto.Reset(d)
		proto.Merge(d, src.(proto.Message))
		return
	}
	dst.(HedgeMessage).HedgeCopy(src)
}

// cloneMsg returns a deep copy of m, or false when m cannot be hedged.
func cloneMsg(m any) (any, bool) {
	n, ok := newLike(m)
	if ok {
		copyInto(n, m)
	}
	return n, ok
}
