package breaker

import (
	"errors"
	"math"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/statuscode"
)

// Defaults filled in by Config.WithDefaults.
const (
	defaultOpenFor        = 5 * time.Second
	defaultHalfOpenProbes = 1
	defaultWindow         = 10 * time.Second
	defaultMinRequests    = 20
)

// defaultCodes returns the failure codes used when Config.Codes is empty:
// UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN and
// DATA_LOSS.
func defaultCodes() []codes.Code {
	return []codes.Code{codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Internal, codes.Unknown, codes.DataLoss}
}

// clientCodes are the codes that describe the caller's request or
// situation, never the server's health: they cannot be failure codes.
var clientCodes = map[codes.Code]bool{
	codes.OK: true, codes.Canceled: true, codes.InvalidArgument: true, codes.NotFound: true, codes.AlreadyExists: true,
	codes.PermissionDenied: true, codes.FailedPrecondition: true, codes.OutOfRange: true, codes.Unauthenticated: true,
}

// Config configures a Breaker. With neither FailureThreshold nor
// FailureRatio set the breaker never trips.
type Config struct {
	// FailureThreshold trips the breaker after this many consecutive
	// failures (0: off).
	FailureThreshold int `yaml:"failure_threshold"`
	// FailureRatio trips it when failures/calls over the last Window reach
	// this ratio (0..1; 0: off) and at least MinRequests calls ended in it.
	FailureRatio float64 `yaml:"failure_ratio"`
	// Window is the rolling window of the ratio trigger (0: 10s).
	Window time.Duration `yaml:"window"`
	// MinRequests is the fewest calls in the window for the ratio trigger
	// (0: 20).
	MinRequests int `yaml:"min_requests"`
	// OpenFor is how long the breaker stays open before probing
	// (0: 5s).
	OpenFor time.Duration `yaml:"open_for"`
	// HalfOpenProbes is both the number of probe successes that close the
	// breaker and the most probes in flight at once (0: 1).
	HalfOpenProbes int `yaml:"half_open_probes"`
	// Codes are the status codes counted as failures (empty: UNAVAILABLE,
	// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN and
	// DATA_LOSS).
	Codes []codes.Code `yaml:"codes"`
}

// WithDefaults returns c with unset fields given their defaults.
func (c Config) WithDefaults() Config {
	if c.Window == 0 {
		c.Window = defaultWindow
	}
	if c.MinRequests == 0 {
		c.MinRequests = defaultMinRequests
	}
	if c.OpenFor == 0 {
		c.OpenFor = defaultOpenFor
	}
	if c.HalfOpenProbes == 0 {
		c.HalfOpenProbes = defaultHalfOpenProbes
	}
	if len(c.Codes) == 0 {
		c.Codes = defaultCodes()
	}
	return c
}

// Validate reports every invalid field as a *field.Error relative to
// the config, e.g. "failure_ratio: must be between 0 and 1".
func (c Config) Validate() error {
	var errs []error
	if c.FailureThreshold < 0 {
		errs = append(errs, field.Errorf("failure_threshold", "must not be negative, got %d", c.FailureThreshold))
	}
	if math.IsNaN(c.FailureRatio) || c.FailureRatio < 0 || c.FailureRatio > 1 {
		errs = append(errs, field.Errorf("failure_ratio", "must be between 0 and 1, got %v", c.FailureRatio))
	}
	if c.Window < 0 {
		errs = append(errs, field.Errorf("window", "must not be negative, got %s", c.Window))
	}
	if c.MinRequests < 0 {
		errs = append(errs, field.Errorf("min_requests", "must not be negative, got %d", c.MinRequests))
	}
	if c.OpenFor < 0 {
		errs = append(errs, field.Errorf("open_for", "must not be negative, got %s", c.OpenFor))
	}
	if c.HalfOpenProbes < 0 {
		errs = append(errs, field.Errorf("half_open_probes", "must not be negative, got %d", c.HalfOpenProbes))
	}
	seen := map[codes.Code]bool{}
	for i, code := range c.Codes {
		path := field.Join("codes", "["+itoa(i)+"]")
		switch {
		case code > codes.Unauthenticated:
			errs = append(errs, field.Errorf(path, "unknown status code %d", uint32(code)))
		case clientCodes[code]:
			errs = append(errs, field.Errorf(path, "%s describes the request, not the server's health, and cannot count as a failure", statuscode.Name(code)))
		case seen[code]:
			errs = append(errs, field.Errorf(path, "%s is listed twice", statuscode.Name(code)))
		}
		seen[code] = true
	}
	return errors.Join(errs...)
}
