package pool

import (
	"errors"
	"time"

	"github.com/grpcbench/grpcbench/field"
)

// Pick names a strategy for choosing a connection per call.
type Pick string

// The pick strategies.
const (
	PickRoundRobin    Pick = "round_robin"
	PickRandom        Pick = "random"
	PickLeastInflight Pick = "least_inflight"
	PickFirstReady    Pick = "first_ready"
)

// picks lists every strategy.
var picks = []Pick{PickRoundRobin, PickRandom, PickLeastInflight, PickFirstReady}

// Defaults for Config fields left at their zero value, and the largest pool.
const (
	defaultSize          = 1
	defaultPick          = PickRoundRobin
	defaultWarmupTimeout = 5 * time.Second
	maxSize              = 1024
)

// Config configures a Pool. Zero fields take their defaults, so the zero
// Config is one connection picked round robin, without warm-up or
// recycling. As YAML:
//
//	size: 4
//	pick: least_inflight
//	warmup: true
//	warmup_timeout: 2s
//	max_age: 30s
type Config struct {
	// Size is the number of connections (default 1, at most 1024).
	Size int `yaml:"size"`
	// Pick is the strategy: round_robin (default), random, least_inflight
	// or first_ready.
	Pick Pick `yaml:"pick"`
	// Warmup makes New connect every connection and wait until it is READY.
	Warmup bool `yaml:"warmup"`
	// WarmupTimeout bounds the warm-up in New, and the wait for a
	// replacement connection to become READY when recycling (default 5s).
	WarmupTimeout time.Duration `yaml:"warmup_timeout"`
	// MaxAge replaces a connection once it is this old; 0 never does.
	MaxAge time.Duration `yaml:"max_age"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Size == 0 {
		c.Size = defaultSize
	}
	if c.Pick == "" {
		c.Pick = defaultPick
	}
	if c.WarmupTimeout == 0 {
		c.WarmupTimeout = defaultWarmupTimeout
	}
	return c
}

// Validate reports every invalid field, as field.Error values joined
// with errors.Join, with paths relative to Config (e.g. "size"). Zero values
// are valid: they mean the defaults.
func (c Config) Validate() error {
	var errs []error
	if c.Size < 0 || c.Size > maxSize {
		errs = append(errs, field.Errorf("size", "must be between 1 and %d, got %d", maxSize, c.Size))
	}
	switch c.Pick {
	case "", PickRoundRobin, PickRandom, PickLeastInflight, PickFirstReady:
	default:
		errs = append(errs, field.Errorf("pick", "unknown strategy %q (want round_robin, random, least_inflight or first_ready)", string(c.Pick)))
	}
	if c.WarmupTimeout < 0 {
		errs = append(errs, field.Errorf("warmup_timeout", "must not be negative, got %v", c.WarmupTimeout))
	}
	if c.MaxAge < 0 {
		errs = append(errs, field.Errorf("max_age", "must not be negative, got %v", c.MaxAge))
	}
	return errors.Join(errs...)
}
