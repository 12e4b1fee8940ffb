package dial

import (
	"errors"
	"math"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/keepalive"

	"github.com/grpcbench/grpcbench/field"
)

// Limits that grpc-go applies; Validate rejects values it would silently
// change.
const (
	// minKeepaliveTime is the smallest client keepalive ping interval
	// grpc-go honours.
	minKeepaliveTime = 10 * time.Second
	// minWindowSize is the smallest HTTP/2 window grpc-go honours (smaller
	// values are ignored).
	minWindowSize = 65535
)

// Conn holds the transport knobs of every connection: keepalive pings,
// HTTP/2 flow-control windows, reconnect backoff and the user agent. The
// zero value keeps grpc-go's defaults for all of them.
type Conn struct {
	// Keepalive configures client keepalive pings.
	Keepalive Keepalive `yaml:"keepalive"`
	// InitialWindowSize and InitialConnWindowSize set the HTTP/2 stream and
	// connection flow-control windows in bytes, at least 65535 (0: grpc-go's
	// dynamic BDP-based windows).
	InitialWindowSize     int32 `yaml:"initial_window_size"`
	InitialConnWindowSize int32 `yaml:"initial_conn_window_size"`
	// ConnectBackoff configures reconnect backoff and the connect timeout.
	ConnectBackoff ConnectBackoff `yaml:"connect_backoff"`
	// UserAgent is put in front of grpc-go's own user agent string.
	UserAgent string `yaml:"user_agent"`
}

// Keepalive configures client-side HTTP/2 keepalive pings. The zero value
// sends no pings. Servers enforce a minimum ping interval (grpc-go: 5m by
// default) and close connections that ping more often.
type Keepalive struct {
	// Time is the idle time after which the client pings, at least 10s.
	Time time.Duration `yaml:"time"`
	// Timeout is how long the client waits for a ping ack before closing
	// the connection (0: grpc-go's 20s).
	Timeout time.Duration `yaml:"timeout"`
	// PermitWithoutStream lets the client ping with no calls in flight.
	PermitWithoutStream bool `yaml:"permit_without_stream"`
}

// IsZero reports whether k sets nothing.
func (k Keepalive) IsZero() bool { return k == Keepalive{} }

// ConnectBackoff configures how a channel reconnects to a backend. Zero
// (or nil) fields take grpc-go's defaults (1s, 1.6, 0.2, 120s, 20s).
type ConnectBackoff struct {
	// BaseDelay is the wait after the first failed connection attempt.
	BaseDelay time.Duration `yaml:"base_delay"`
	// Multiplier grows the wait after each further failure, at least 1.
	Multiplier float64 `yaml:"multiplier"`
	// Jitter randomises each wait by ±Jitter·wait, 0..1; nil keeps 0.2.
	Jitter *float64 `yaml:"jitter"`
	// MaxDelay caps the wait.
	MaxDelay time.Duration `yaml:"max_delay"`
	// MinConnectTimeout is the least time a connection attempt is given.
	MinConnectTimeout time.Duration `yaml:"min_connect_timeout"`
}

// Default connect backoff values, as in grpc-go's backoff.DefaultConfig.
const (
	defaultBaseDelay         = time.Second
	defaultMultiplier        = 1.6
	defaultJitter            = 0.2
	defaultMaxDelay          = 120 * time.Second
	defaultMinConnectTimeout = 20 * time.Second
)

// IsZero reports whether b sets nothing.
func (b ConnectBackoff) IsZero() bool { return b == ConnectBackoff{} }

// WithDefaults returns b with its zero fields set to grpc-go's defaults.
func (b ConnectBackoff) WithDefaults() ConnectBackoff {
	if b.BaseDelay == 0 {
		b.BaseDelay = defaultBaseDelay
	}
	if b.Multiplier == 0 {
		b.Multiplier = defaultMultiplier
	}
	if b.Jitter == nil {
		j := defaultJitter
		b.Jitter = &j
	}
	if b.MaxDelay == 0 {
		b.MaxDelay = max(defaultMaxDelay, b.BaseDelay)
	}
	if b.MinConnectTimeout == 0 {
		b.MinConnectTimeout = defaultMinConnectTimeout
	}
	return b
}

// Validate reports every problem in c as *field.Error values with paths
// relative to c (e.g. "keepalive.time"), joined.
func (c Conn) Validate() error {
	var errs []error
	errs = append(errs, c.Keepalive.validate("keepalive")...)
	for _, w := range []struct {
		name string
		v    int32
	}{{"initial_window_size", c.InitialWindowSize}, {"initial_conn_window_size", c.InitialConnWindowSize}} {
		if w.v != 0 && w.v < minWindowSize {
			errs = append(errs, field.Errorf(w.name,
				"must be 0 (dynamic) or at least %d bytes, got %d (grpc-go ignores smaller windows)", minWindowSize, w.v))
		}
	}
	errs = append(errs, c.ConnectBackoff.validate("connect_backoff")...)
	for i := 0; i < len(c.UserAgent); i++ {
		if b := c.UserAgent[i]; b < ' ' || b > '~' {
			errs = append(errs, field.Errorf("user_agent", "must be printable ASCII, found byte %#x", b))
			break
		}
	}
	return errors.Join(errs...)
}

// DialOptions returns the grpc.DialOptions that carry c: keepalive
// parameters, windows, connect backoff and user agent, each only when set.
// It does not validate c.
func (c Conn) DialOptions() []grpc.DialOption {
	var opts []grpc.DialOption
	if !c.Keepalive.IsZero() {
		opts = append(opts, grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                c.Keepalive.Time,
			Timeout:             c.Keepalive.Timeout,
			PermitWithoutStream: c.Keepalive.PermitWithoutStream,
		}))
	}
	if c.InitialWindowSize != 0 {
		opts = append(opts, grpc.WithInitialWindowSize(c.InitialWindowSize))
	}
	if c.InitialConnWindowSize != 0 {
		opts = append(opts, grpc.WithInitialConnWindowSize(c.InitialConnWindowSize))
	}
	if !c.ConnectBackoff.IsZero() {
		b := c.ConnectBackoff.WithDefaults()
		opts = append(opts, grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  b.BaseDelay,
				Multiplier: b.Multiplier,
				Jitter:     *b.Jitter,
				MaxDelay:   b.MaxDelay,
			},
			MinConnectTimeout: b.MinConnectTimeout,
		}))
	}
	if c.UserAgent != "" {
		opts = append(opts, grpc.WithUserAgent(c.UserAgent))
	}
	return opts
}

func (k Keepalive) validate(prefix string) []error {
	var errs []error
	if k.Time != 0 && k.Time < minKeepaliveTime {
		errs = append(errs, field.Errorf(field.Join(prefix, "time"),
			"must be 0 (no pings) or at least %v (grpc-go raises smaller values), got %v", minKeepaliveTime, k.Time))
	}
	if k.Timeout < 0 {
		errs = append(errs, field.Errorf(field.Join(prefix, "timeout"), "must not be negative, got %v", k.Timeout))
	}
	if k.Time == 0 && (k.Timeout != 0 || k.PermitWithoutStream) {
		errs = append(errs, field.Errorf(field.Join(prefix, "time"), "must be set when timeout or permit_without_stream is"))
	}
	return errs
}

func (b ConnectBackoff) validate(prefix string) []error {
	var errs []error
	add := func(name, format string, args ...any) {
		errs = append(errs, field.Errorf(field.Join(prefix, name), format, args...))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"base_delay", b.BaseDelay}, {"max_delay", b.MaxDelay}, {"min_connect_timeout", b.MinConnectTimeout}} {
		if d.v < 0 {
			add(d.name, "must not be negative, got %v", d.v)
		}
	}
	if b.Multiplier != 0 && (b.Multiplier < 1 || math.IsNaN(b.Multiplier) || math.IsInf(b.Multiplier, 0)) {
		add("multiplier", "must be at least 1, got %v", b.Multiplier)
	}
	if j := b.Jitter; j != nil && (*j < 0 || *j > 1 || math.IsNaN(*j)) {
		add("jitter", "must be between 0 and 1, got %v", *j)
	}
	if eff := b.WithDefaults(); b.MaxDelay > 0 && b.MaxDelay < eff.BaseDelay {
		add("max_delay", "%v is less than base_delay %v", b.MaxDelay, eff.BaseDelay)
	}
	return errs
}
