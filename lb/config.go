package lb

import (
	"errors"
	"math"
	"os"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/field"
)

// Policy names a load-balancing policy as written in a scenario file.
type Policy string

// The policies a Config may name.
const (
	// PickFirst connects to the first reachable address and sends every call
	// there until that connection fails.
	PickFirst Policy = "pick_first"
	// RoundRobin cycles through every READY backend (the default).
	RoundRobin Policy = "round_robin"
	// WeightedRoundRobin weights backends by the load they report in ORCA
	// (per-call trailers by default, or out-of-band), gRFC A58.
	WeightedRoundRobin Policy = "weighted_round_robin"
	// LeastRequest samples ChoiceCount backends and picks the one with the
	// fewest calls in flight, gRFC A48.
	LeastRequest Policy = "least_request"
	// RingHash maps a hash of a request header onto a consistent-hash ring,
	// so one key stays on one backend, gRFC A42/A76.
	RingHash Policy = "ring_hash"
	// GRPCLB is grpc-go's legacy look-aside policy. Validate rejects it
	// (see the package doc).
	GRPCLB Policy = "grpclb"
)

// DefaultPolicy is the policy of a Config that names none.
const DefaultPolicy = RoundRobin

// policies lists the policies Validate accepts, in a fixed order.
var policies = []Policy{PickFirst, RoundRobin, WeightedRoundRobin, LeastRequest, RingHash}

// Limits and defaults that grpc-go applies; Validate rejects values it would
// silently change.
const (
	// defaultChoiceCount is least_request's sample size when none is set.
	defaultChoiceCount = 2
	// maxChoiceCount is the largest sample size grpc-go honours (it lowers
	// larger values to 10).
	maxChoiceCount = 10
	// defaultMinRingSize and defaultMaxRingSize are ring_hash's ring size
	// bounds when none are set.
	defaultMinRingSize = 1024
	defaultMaxRingSize = 4096
	// ringSizeLimit is the largest ring size grpc-go accepts. Sizes above
	// 4096 are further capped by grpc-go unless GRPC_RING_HASH_CAP raises it.
	ringSizeLimit = 8 << 20
	// minWeightUpdatePeriod is the smallest WRR weight update period
	// grpc-go honours.
	minWeightUpdatePeriod = 100 * time.Millisecond
)

// errGRPCLB explains why the grpclb policy is not offered.
var errGRPCLB = errors.New("grpclb is not supported: it is gRPC's deprecated legacy look-aside " +
	"balancing protocol, which needs a separate grpc.lb.v1.LoadBalancer balancer service " +
	"(the fake server serves none) and has been replaced by xDS; " +
	"use round_robin, weighted_round_robin, least_request or ring_hash")

// ringHashKeyEnv is the grpc-go switch for ring_hash's requestHashHeader
// (gRFC A76). It is on by default in grpc-go 1.85; "false" turns it off, and
// then ring_hash without xDS fails every pick.
const ringHashKeyEnv = "GRPC_EXPERIMENTAL_RING_HASH_SET_REQUEST_HASH_KEY"

// Config is a client's load-balancing configuration. The zero value is
// valid: round_robin with grpc-go's defaults for everything else. Transport
// knobs (keepalive, windows, connect backoff) belong to package dial.
//
// Options of a policy other than the chosen one are ignored, so a scenario
// matrix can sweep the policy while keeping per-policy options in its base.
type Config struct {
	// Policy is the balancing policy; "" means DefaultPolicy.
	Policy Policy `yaml:"policy"`

	// ChoiceCount is least_request's sample size, 2..10 (0: 2).
	ChoiceCount int `yaml:"choice_count"`

	// HashHeader is the request header whose value ring_hash hashes; calls
	// carry it in outgoing metadata (several values are joined with ",").
	// A call without the header gets a random hash, so it lands on any
	// READY backend. Required for ring_hash: without xDS there is no other
	// source of a hash key (grpc-go's requestHashHeader, gRFC A76; on by
	// default in grpc-go 1.85).
	HashHeader string `yaml:"hash_header"`
	// MinRingSize and MaxRingSize bound ring_hash's ring (0: 1024 and 4096).
	MinRingSize uint64 `yaml:"min_ring_size"`
	MaxRingSize uint64 `yaml:"max_ring_size"`

	// BlackoutPeriod is how long a backend must report load before WRR uses
	// its weight (grpc-go default 10s). Nil keeps the default; 0 is allowed.
	BlackoutPeriod *time.Duration `yaml:"blackout_period"`
	// WeightUpdatePeriod is how often WRR recomputes weights, at least
	// 100ms (default 1s).
	WeightUpdatePeriod *time.Duration `yaml:"weight_update_period"`
	// EnableOOBLoadReport makes WRR read load from the ORCA out-of-band
	// stream instead of per-call trailers.
	EnableOOBLoadReport bool `yaml:"enable_oob_load_report"`
	// OOBReportingPeriod is the out-of-band report interval WRR asks for
	// (default 10s). Only with EnableOOBLoadReport.
	OOBReportingPeriod *time.Duration `yaml:"oob_reporting_period"`
	// WeightExpirationPeriod is how long a weight stays valid without a new
	// report (default 3m).
	WeightExpirationPeriod *time.Duration `yaml:"weight_expiration_period"`
	// ErrorUtilizationPenalty scales the error rate added to utilization
	// (default 1.0; 0 disables).
	ErrorUtilizationPenalty *float64 `yaml:"error_utilization_penalty"`

	// HealthCheck turns on client-side health checking (grpc.health.v1,
	// service name ""). Backends that report NOT_SERVING get no calls.
	// It has no effect under pick_first in grpc-go, so Validate rejects
	// that combination.
	HealthCheck bool `yaml:"health_check"`

	// OutlierDetection, when set, runs the policy under outlier ejection
	// (see OutlierDetection). Not with pick_first.
	OutlierDetection *OutlierDetection `yaml:"outlier_detection"`
}

// EffectivePolicy returns the policy, with "" replaced by DefaultPolicy.
func (c Config) EffectivePolicy() Policy {
	if c.Policy == "" {
		return DefaultPolicy
	}
	return c.Policy
}

// Validate reports every problem in c as *field.Error values with paths
// relative to c (e.g. "choice_count: must be between 2 and 10"), joined.
func (c Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	p := c.EffectivePolicy()
	switch p {
	case PickFirst, RoundRobin, WeightedRoundRobin, LeastRequest, RingHash:
	case GRPCLB:
		add("policy", "%v", errGRPCLB)
	default:
		add("policy", "unknown policy %q (want one of %s)", string(c.Policy), policyList())
	}

	if p == LeastRequest && c.ChoiceCount != 0 && (c.ChoiceCount < 2 || c.ChoiceCount > maxChoiceCount) {
		add("choice_count", "must be between 2 and %d, got %d", maxChoiceCount, c.ChoiceCount)
	}

	if p == RingHash {
		errs = append(errs, c.validateRingHash()...)
	}
	if p == WeightedRoundRobin {
		errs = append(errs, c.validateWRR()...)
	}

	if c.HealthCheck && p == PickFirst {
		add("health_check", "has no effect under pick_first in grpc-go (health checking runs only "+
			"under round_robin, weighted_round_robin, least_request and ring_hash)")
	}

	errs = append(errs, c.validateOutlier()...)
	return errors.Join(errs...)
}

func (c Config) validateRingHash() []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	h := strings.ToLower(c.HashHeader)
	switch {
	case h == "":
		add("hash_header", "is required for ring_hash: without xDS the request header is the only hash key")
	case strings.HasSuffix(h, "-bin"):
		add("hash_header", "%q: binary headers (-bin) cannot be hash keys", c.HashHeader)
	case strings.HasPrefix(h, ":"):
		add("hash_header", "%q: pseudo-headers cannot be hash keys", c.HashHeader)
	default:
		for i := 0; i < len(h); i++ {
			b := h[i]
			if !(b >= 'a' && b <= 'z') && !(b >= '0' && b <= '9') && b != '.' && b != '-' && b != '_' {
				add("hash_header", "%q: a header name may hold only [0-9a-z-_.]", c.HashHeader)
				break
			}
		}
	}
	if v, ok := os.LookupEnv(ringHashKeyEnv); ok && strings.EqualFold(v, "false") {
		add("hash_header", "is ignored by grpc-go because %s=false is set in the environment", ringHashKeyEnv)
	}
	if c.MinRingSize > ringSizeLimit {
		add("min_ring_size", "must be at most %d, got %d", ringSizeLimit, c.MinRingSize)
	}
	if c.MaxRingSize > ringSizeLimit {
		add("max_ring_size", "must be at most %d, got %d", ringSizeLimit, c.MaxRingSize)
	}
	lo, hi := c.MinRingSize, c.MaxRingSize
	if lo == 0 {
		lo = defaultMinRingSize
	}
	if hi == 0 {
		hi = defaultMaxRingSize
	}
	if lo > hi && c.MinRingSize <= ringSizeLimit && c.MaxRingSize <= ringSizeLimit {
		add("min_ring_size", "%d is greater than max_ring_size %d", lo, hi)
	}
	return errs
}

func (c Config) validateWRR() []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	if d := c.BlackoutPeriod; d != nil && *d < 0 {
		add("blackout_period", "must not be negative, got %v", *d)
	}
	if d := c.WeightUpdatePeriod; d != nil && *d < minWeightUpdatePeriod {
		add("weight_update_period", "must be at least %v (grpc-go raises smaller values), got %v", minWeightUpdatePeriod, *d)
	}
	if d := c.WeightExpirationPeriod; d != nil && *d <= 0 {
		add("weight_expiration_period", "must be positive, got %v", *d)
	}
	if d := c.OOBReportingPeriod; d != nil {
		switch {
		case !c.EnableOOBLoadReport:
			add("oob_reporting_period", "needs enable_oob_load_report: true")
		case *d <= 0:
			add("oob_reporting_period", "must be positive, got %v", *d)
		}
	}
	if f := c.ErrorUtilizationPenalty; f != nil && (*f < 0 || math.IsNaN(*f) || math.IsInf(*f, 0)) {
		add("error_utilization_penalty", "must be a finite number >= 0, got %v", *f)
	}
	return errs
}

func policyList() string {
	s := make([]string, len(policies))
	for i, p := range policies {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}
