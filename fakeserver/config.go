package fakeserver

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/yamlx"
)

// Defaults for Config fields left at their zero value.
const (
	defaultBackends  = 1
	DefaultStoreSize = 10000
	// defaultORCACapacity is the in-flight count that reports utilization 1.0
	// when no orca fault sets a utilization model for a backend.
	defaultORCACapacity = 100
	// MaxPadding caps response padding so a typo cannot ask for gigabytes.
	MaxPadding = 4 << 20
)

// Config describes a cluster of fake backends and the faults they inject.
// It is a plain value: the zero value is one healthy backend on a random
// port. Times in fault windows are relative to the cluster's start.
type Config struct {
	// Backends is the number of backends to start (default 1, at most 64).
	Backends int `yaml:"backends"`
	// Addrs optionally fixes the listen address of each backend
	// ("127.0.0.1:50051", or a unix socket: "unix:///tmp/b0.sock",
	// "unix:relative.sock", "unix-abstract:name"). When set, its length
	// must equal Backends (or Backends may be left 0). Unset means
	// 127.0.0.1:0 for every backend.
	Addrs []string `yaml:"addrs"`
	// Seed drives every random fault decision. The same seed gives the same
	// fault sequence for the same sequence of calls.
	Seed int64 `yaml:"seed"`
	// MaxConcurrentStreams is HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS for every
	// backend (0: grpc-go's default, unlimited). A capacity fault overrides
	// it for the backends it selects.
	MaxConcurrentStreams uint32 `yaml:"max_concurrent_streams"`
	// StoreSize bounds the users CreateUser keeps per backend (default
	// 10000). Older users are overwritten: memory does not grow with load.
	StoreSize int `yaml:"store_size"`
	// Faults lists the faults to inject. A fault may select backends that
	// Events start later (by their number).
	Faults []Fault `yaml:"faults"`
	// TLS, when set, makes every backend serve TLS (mTLS with
	// client_ca_file).
	TLS *TLS `yaml:"tls"`
	// RequireToken, when set, refuses UserService calls without the bearer
	// token with UNAUTHENTICATED.
	RequireToken *RequireToken `yaml:"require_token"`
	// Events change the backend set while the cluster runs (see Event).
	Events []Event `yaml:"events"`
}

// Fault is one fault rule: selectors (which backends, which methods, when)
// and exactly one fault kind.
//
// The window fields At, For and Every apply to the call-level kinds
// (latency, error, abort, stall, orca). The kinds that are themselves about
// time — pause, down, health, kill — carry their own at/for/every, and the
// server-option kinds — goaway, capacity, keepalive — hold for the whole run.
type Fault struct {
	// Backend selects backends by index (0-based); empty selects all.
	// YAML accepts a single index or a list.
	Backend IntList `yaml:"backend"`
	// Method selects methods by name (GetUser or its full name
	// /grpcbench.user.v1.UserService/GetUser); empty selects all.
	// YAML accepts a single name or a list.
	Method MethodList `yaml:"method"`
	Window `yaml:",inline"`

	Latency   *Latency   `yaml:"latency"`
	Error     *ErrorRule `yaml:"error"`
	Abort     *Abort     `yaml:"abort"`
	Stall     *Stall     `yaml:"stall"`
	Pause     *Pause     `yaml:"pause"`
	GoAway    *GoAway    `yaml:"goaway"`
	Kill      *Kill      `yaml:"kill"`
	Down      *Down      `yaml:"down"`
	Capacity  *Capacity  `yaml:"capacity"`
	Keepalive *Keepalive `yaml:"keepalive"`
	Health    *Health    `yaml:"health"`
	ORCA      *ORCA      `yaml:"orca"`
}

// Kind names a fault kind.
type Kind string

// The fault kinds.
const (
	KindLatency   Kind = "latency"
	KindError     Kind = "error"
	KindAbort     Kind = "abort"
	KindStall     Kind = "stall"
	KindPause     Kind = "pause"
	KindGoAway    Kind = "goaway"
	KindKill      Kind = "kill"
	KindDown      Kind = "down"
	KindCapacity  Kind = "capacity"
	KindKeepalive Kind = "keepalive"
	KindHealth    Kind = "health"
	KindORCA      Kind = "orca"
)

// Kinds lists every fault kind in a fixed order.
var Kinds = []Kind{KindLatency, KindError, KindAbort, KindStall, KindPause, KindGoAway,
	KindKill, KindDown, KindCapacity, KindKeepalive, KindHealth, KindORCA}

// Kind returns the fault's kind, or "" when none or several are set.
func (f *Fault) Kind() Kind {
	ks := f.kinds()
	if len(ks) != 1 {
		return ""
	}
	return ks[0]
}

func (f *Fault) kinds() []Kind {
	var ks []Kind
	add := func(set bool, k Kind) {
		if set {
			ks = append(ks, k)
		}
	}
	add(f.Latency != nil, KindLatency)
	add(f.Error != nil, KindError)
	add(f.Abort != nil, KindAbort)
	add(f.Stall != nil, KindStall)
	add(f.Pause != nil, KindPause)
	add(f.GoAway != nil, KindGoAway)
	add(f.Kill != nil, KindKill)
	add(f.Down != nil, KindDown)
	add(f.Capacity != nil, KindCapacity)
	add(f.Keepalive != nil, KindKeepalive)
	add(f.Health != nil, KindHealth)
	add(f.ORCA != nil, KindORCA)
	return ks
}

// Window selects a span of time relative to the cluster's start.
//
//   - all zero: always;
//   - At only: from At on;
//   - At and For: [At, At+For);
//   - Every and For (and optionally At): [At+k·Every, At+k·Every+For) for k ≥ 0.
type Window struct {
	At    time.Duration `yaml:"at"`
	For   time.Duration `yaml:"for"`
	Every time.Duration `yaml:"every"`
}

// IsZero reports whether the window is "always".
func (w Window) IsZero() bool { return w == Window{} }

// Active reports whether elapsed time t falls in the window.
func (w Window) Active(t time.Duration) bool {
	if t < w.At {
		return false
	}
	d := t - w.At
	if w.Every > 0 {
		d %= w.Every
	}
	return w.For == 0 || d < w.For
}

// End returns when the window period containing t ends, or false when t is
// not in the window or the window never ends.
func (w Window) End(t time.Duration) (time.Duration, bool) {
	if !w.Active(t) || w.For == 0 {
		return 0, false
	}
	start := w.At
	if w.Every > 0 {
		start += (t - w.At) / w.Every * w.Every
	}
	return start + w.For, true
}

// NextEdge returns the first time after t at which the window opens or
// closes, or false when it never changes again.
func (w Window) NextEdge(t time.Duration) (time.Duration, bool) {
	if t < w.At {
		return w.At, true
	}
	if w.For == 0 {
		return 0, false
	}
	if w.Every == 0 {
		if end := w.At + w.For; t < end {
			return end, true
		}
		return 0, false
	}
	k := (t - w.At) / w.Every
	start := w.At + k*w.Every
	if end := start + w.For; t < end {
		return end, true
	}
	return start + w.Every, true
}

func (w Window) validate(path string, needFor bool) error {
	var errs []error
	for _, x := range []struct {
		name string
		d    time.Duration
	}{{"at", w.At}, {"for", w.For}, {"every", w.Every}} {
		if x.d < 0 {
			errs = append(errs, field.Errorf(field.Join(path, x.name), "must not be negative, got %s", x.d))
		}
	}
	if needFor && w.For <= 0 {
		errs = append(errs, field.Errorf(field.Join(path, "for"), "is required and must be positive"))
	}
	if w.Every > 0 {
		if w.For <= 0 {
			errs = append(errs, field.Errorf(field.Join(path, "for"), "is required with every"))
		} else if w.For >= w.Every {
			errs = append(errs, field.Errorf(field.Join(path, "for"), "(%s) must be shorter than every (%s)", w.For, w.Every))
		}
	}
	return errors.Join(errs...)
}

// Latency delays calls or stream messages by a random amount.
type Latency struct {
	// Dist is fixed, uniform, normal, lognormal, exponential or pareto.
	Dist Dist `yaml:"dist"`
	// Value is the delay of the fixed distribution.
	Value time.Duration `yaml:"value"`
	// Min and Max bound the uniform distribution; Min is the scale of pareto.
	Min time.Duration `yaml:"min"`
	Max time.Duration `yaml:"max"`
	// Mean and Stddev shape normal (negative draws become 0); Mean alone
	// shapes exponential.
	Mean   time.Duration `yaml:"mean"`
	Stddev time.Duration `yaml:"stddev"`
	// Median and P99 shape lognormal: μ = ln(median), σ = (ln(p99) − μ)/z₀.₉₉.
	Median time.Duration `yaml:"median"`
	P99    time.Duration `yaml:"p99"`
	// Alpha is the shape of pareto (> 0): P(X > x) = (Min/x)^Alpha.
	Alpha float64 `yaml:"alpha"`
	// Per is what is delayed: call (once, before the reply or first stream
	// message; the default), message (every stream message the server sends
	// or, for client streams, receives) or both.
	Per string `yaml:"per"`
	// Rate is the fraction of calls delayed (default 1).
	Rate *float64 `yaml:"rate"`
}

// Dist names a latency distribution.
type Dist string

// The latency distributions.
const (
	DistFixed       Dist = "fixed"
	DistUniform     Dist = "uniform"
	DistNormal      Dist = "normal"
	DistLognormal   Dist = "lognormal"
	DistExponential Dist = "exponential"
	DistPareto      Dist = "pareto"
)

// ErrorRule fails calls with a status before any response is sent, as a
// trailers-only response, so gRPC's own retry may retry it.
type ErrorRule struct {
	Code codes.Code `yaml:"code"`
	// Rate is the fraction of calls failed (default 1 when EveryNth is 0).
	Rate *float64 `yaml:"rate"`
	// EveryNth fails the Nth, 2Nth, … call instead of a random fraction.
	EveryNth int `yaml:"every_nth"`
	// Message is the status message (default "fakeserver: injected <CODE>").
	Message string `yaml:"message"`
	// Pushback, when set, adds the grpc-retry-pushback-ms trailer: the
	// server asks the client to wait that long before retrying. A negative
	// value asks it not to retry at all.
	Pushback *time.Duration `yaml:"pushback"`
}

// Abort ends a stream with a status after a number of messages.
type Abort struct {
	// After is the number of messages exchanged before the abort: sent by
	// the server for ListUsers and SyncUsers, received for BatchCreateUsers.
	After int        `yaml:"after"`
	Code  codes.Code `yaml:"code"`
	// Message is the status message.
	Message string `yaml:"message"`
	// Rate is the fraction of streams aborted (default 1).
	Rate *float64 `yaml:"rate"`
}

// Stall never replies: the call waits until the client gives up.
type Stall struct {
	// Rate is the fraction of calls stalled (default 1 when EveryNth is 0).
	Rate     *float64 `yaml:"rate"`
	EveryNth int      `yaml:"every_nth"`
}

// Pause is a stop-the-world stall: every call and stream message that
// arrives in the window waits until the window ends. Every and For are
// required; At shifts the first pause.
type Pause struct {
	Window `yaml:",inline"`
}

// GoAway makes the server send GOAWAY to every connection after a maximum
// age (grpc-go adds ±10% jitter), then close it after Grace.
type GoAway struct {
	MaxConnectionAge time.Duration `yaml:"max_connection_age"`
	Grace            time.Duration `yaml:"grace"`
}

// Kill abruptly closes every open connection (no GOAWAY) at At and then
// every Every, if set. The listener stays open.
type Kill struct {
	At    time.Duration `yaml:"at"`
	Every time.Duration `yaml:"every"`
}

// Down takes a backend off the network for a window: the listener is
// closed and connections are dropped; when the window ends the same port
// serves again.
type Down struct {
	Window `yaml:",inline"`
}

// Capacity limits what a backend accepts.
type Capacity struct {
	// MaxInflight fails calls beyond this many in flight with
	// RESOURCE_EXHAUSTED (0: no limit).
	MaxInflight int `yaml:"max_inflight"`
	// MaxConcurrentStreams overrides Config.MaxConcurrentStreams.
	MaxConcurrentStreams uint32 `yaml:"max_concurrent_streams"`
}

// Keepalive sets the server's keepalive enforcement policy: clients that
// ping more often than MinTime (or without active streams, unless
// PermitWithoutStream) get GOAWAY too_many_pings. Without this fault the
// server uses grpc-go's defaults (MinTime 5m, no pings without streams).
type Keepalive struct {
	MinTime             time.Duration `yaml:"min_time"`
	PermitWithoutStream bool          `yaml:"permit_without_stream"`
}

// Health sets the grpc.health.v1 status of a backend during a window.
type Health struct {
	// Status is NOT_SERVING (the default), SERVING or SERVICE_UNKNOWN.
	Status  string `yaml:"status"`
	Window  `yaml:",inline"`
	Service string `yaml:"service"` // "" (whole server, the default) or a service name
}

// ORCA sets the load the backend reports in ORCA per-call trailers and on
// the ORCA out-of-band stream.
type ORCA struct {
	// Utilization, when set, is reported as is (0..1).
	Utilization *float64 `yaml:"utilization"`
	// Capacity, when Utilization is not set, makes utilization proportional
	// to load: in-flight calls / Capacity.
	Capacity float64 `yaml:"capacity"`
}

// IntList is a list of integers that YAML may also give as a single one.
type IntList []int

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *IntList) UnmarshalYAML(n *yaml.Node) error {
	nodes := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		nodes = n.Content
	}
	out := make(IntList, 0, len(nodes))
	for _, x := range nodes {
		var i int
		if x.Kind != yaml.ScalarNode || x.ShortTag() != "!!int" || x.Decode(&i) != nil {
			return fmt.Errorf("expected a backend index or a list of them, got %q", x.Value)
		}
		out = append(out, i)
	}
	*l = out
	return nil
}

// MethodList is a list of method names that YAML may also give as one.
type MethodList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *MethodList) UnmarshalYAML(n *yaml.Node) error {
	nodes := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		nodes = n.Content
	}
	out := make(MethodList, 0, len(nodes))
	for _, x := range nodes {
		if x.Kind != yaml.ScalarNode || x.Value == "" {
			return fmt.Errorf("expected a method name or a list of them")
		}
		out = append(out, x.Value)
	}
	*l = out
	return nil
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Backends == 0 {
		c.Backends = max(len(c.Addrs), defaultBackends)
	}
	if c.StoreSize == 0 {
		c.StoreSize = DefaultStoreSize
	}
	return c
}

// Validate checks the configuration. Every problem is reported, each as a
// *field.Error naming the field (e.g. "faults[1].error.rate").
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Backends < 1 || c.Backends > maxBackends {
		errs = append(errs, field.Errorf("backends", "must be between 1 and %d, got %d", maxBackends, c.Backends))
	}
	if len(c.Addrs) > 0 && len(c.Addrs) != c.Backends {
		errs = append(errs, field.Errorf("addrs", "has %d addresses for %d backends", len(c.Addrs), c.Backends))
	}
	for i, a := range c.Addrs {
		if network, path := listenNetwork(a); network == "unix" {
			if path == "" || path == "@" || strings.HasPrefix(a, "unix://") && !strings.HasPrefix(path, "/") {
				errs = append(errs, field.Errorf(fmt.Sprintf("addrs[%d]", i), "%q: missing socket path", a))
			}
		} else if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, field.Errorf(fmt.Sprintf("addrs[%d]", i),
				"%q is not host:port or a unix socket (unix:///abs/path, unix:relative, unix-abstract:name)", a))
		}
	}
	if c.TLS != nil {
		errs = append(errs, c.TLS.validate()...)
	}
	if c.RequireToken != nil {
		errs = append(errs, c.RequireToken.validate()...)
	}
	if c.StoreSize < 1 || c.StoreSize > 1<<24 {
		errs = append(errs, field.Errorf("store_size", "must be between 1 and %d, got %d", 1<<24, c.StoreSize))
	}
	total := c.totalBackends()
	for i := range c.Faults {
		errs = append(errs, c.Faults[i].validate(fmt.Sprintf("faults[%d]", i), total))
	}
	errs = append(errs, c.validateEvents()...)
	return errors.Join(errs...)
}

// validate checks one fault: exactly one kind, the backends and methods it
// selects, its time window, then its kind's settings.
func (f *Fault) validate(path string, backends int) error {
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, field.Errorf(field.Join(path, name), format, args...))
	}
	switch ks := f.kinds(); len(ks) {
	case 0:
		fail("", "names no fault kind (one of %s)", kindList())
		return errors.Join(errs...)
	case 1:
	default:
		fail("", "names %d fault kinds (%v); give one per entry", len(ks), ks)
		return errors.Join(errs...)
	}
	for i, b := range f.Backend {
		if b < 0 || b >= backends {
			fail(fmt.Sprintf("backend[%d]", i), "backend %d does not exist (there are %d, numbered from 0)", b, backends)
		}
	}
	for i, m := range f.Method {
		if _, ok := parseMethod(m); !ok {
			fail(fmt.Sprintf("method[%d]", i), "unknown method %q (one of %s)", m, methodList())
		}
	}
	k := f.Kind()
	switch k {
	case KindLatency, KindError, KindAbort, KindStall, KindORCA:
		if err := f.Window.validate(path, false); err != nil {
			errs = append(errs, err)
		}
	default:
		if !f.Window.IsZero() {
			fail("", "at/for/every select calls in time for latency, error, abort, stall and orca; %s has its own timing", k)
		}
	}
	switch k {
	case KindGoAway, KindCapacity, KindKeepalive, KindDown, KindKill, KindHealth:
		if len(f.Method) > 0 {
			fail("method", "%s acts on the whole backend, not per method", k)
		}
	}
	kp := field.Join(path, string(k))
	errs = append(errs, f.validateCallKind(k, path, kp)...)
	errs = append(errs, f.validateServerKind(k, kp)...)
	return errors.Join(errs...)
}

// validateCallKind checks the settings of the kinds that act on calls
// (latency, error, abort, stall, orca); kp is the kind's path.
func (f *Fault) validateCallKind(k Kind, path, kp string) []error {
	var errs []error
	switch k {
	case KindLatency:
		errs = append(errs, f.Latency.validate(kp))
	case KindError:
		e := f.Error
		if e.Code == codes.OK {
			errs = append(errs, field.Errorf(kp+".code", "is required and must not be OK"))
		}
		errs = append(errs, validateRate(kp, e.Rate, e.EveryNth))
	case KindAbort:
		a := f.Abort
		if a.After < 0 {
			errs = append(errs, field.Errorf(kp+".after", "must not be negative, got %d", a.After))
		}
		if a.Code == codes.OK {
			errs = append(errs, field.Errorf(kp+".code", "is required and must not be OK"))
		}
		errs = append(errs, validateRate(kp, a.Rate, 0))
		for i, m := range f.Method {
			if mm, ok := parseMethod(m); ok && !mm.IsStream() {
				errs = append(errs, field.Errorf(fmt.Sprintf("%s.method[%d]", path, i), "abort applies to streams; %s is unary", mm))
			}
		}
	case KindStall:
		errs = append(errs, validateRate(kp, f.Stall.Rate, f.Stall.EveryNth))
	case KindORCA:
		o := f.ORCA
		switch {
		case o.Utilization != nil && (*o.Utilization < 0 || *o.Utilization > 1 || math.IsNaN(*o.Utilization)):
			errs = append(errs, field.Errorf(kp+".utilization", "must be between 0 and 1, got %g", *o.Utilization))
		case o.Utilization != nil && o.Capacity != 0:
			errs = append(errs, field.Errorf(kp, "give utilization (fixed) or capacity (proportional to load), not both"))
		case o.Utilization == nil && o.Capacity <= 0:
			errs = append(errs, field.Errorf(kp, "needs utilization (0..1) or a positive capacity"))
		}
	}
	return errs
}

// validateServerKind checks the settings of the kinds that act on a whole
// backend (pause, down, health, kill, goaway, capacity, keepalive); kp is
// the kind's path.
func (f *Fault) validateServerKind(k Kind, kp string) []error {
	var errs []error
	switch k {
	case KindPause:
		errs = append(errs, f.Pause.Window.validate(kp, true))
	case KindDown:
		errs = append(errs, f.Down.Window.validate(kp, true))
	case KindHealth:
		h := f.Health
		switch strings.ToUpper(h.Status) {
		case "", "NOT_SERVING", "SERVING", "SERVICE_UNKNOWN":
		default:
			errs = append(errs, field.Errorf(kp+".status", "must be NOT_SERVING, SERVING or SERVICE_UNKNOWN, got %q", h.Status))
		}
		errs = append(errs, h.Window.validate(kp, false))
	case KindKill:
		if f.Kill.At < 0 {
			errs = append(errs, field.Errorf(kp+".at", "must not be negative"))
		}
		if f.Kill.Every < 0 {
			errs = append(errs, field.Errorf(kp+".every", "must not be negative"))
		}
	case KindGoAway:
		if f.GoAway.MaxConnectionAge <= 0 {
			errs = append(errs, field.Errorf(kp+".max_connection_age", "is required and must be positive"))
		}
		if f.GoAway.Grace < 0 {
			errs = append(errs, field.Errorf(kp+".grace", "must not be negative"))
		}
	case KindCapacity:
		if f.Capacity.MaxInflight < 0 {
			errs = append(errs, field.Errorf(kp+".max_inflight", "must not be negative"))
		}
		if f.Capacity.MaxInflight == 0 && f.Capacity.MaxConcurrentStreams == 0 {
			errs = append(errs, field.Errorf(kp, "sets neither max_inflight nor max_concurrent_streams"))
		}
	case KindKeepalive:
		if f.Keepalive.MinTime < 0 {
			errs = append(errs, field.Errorf(kp+".min_time", "must not be negative"))
		}
	}
	return errs
}

func validateRate(path string, rate *float64, everyNth int) error {
	switch {
	case rate != nil && everyNth != 0:
		return field.Errorf(path, "give rate or every_nth, not both")
	case rate != nil && (*rate < 0 || *rate > 1 || math.IsNaN(*rate)):
		return field.Errorf(path+".rate", "must be between 0 and 1, got %g", *rate)
	case everyNth < 0:
		return field.Errorf(path+".every_nth", "must be positive, got %d", everyNth)
	}
	return nil
}

func (l *Latency) validate(path string) error {
	var errs []error
	need := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, field.Errorf(path+"."+name, "is required for dist %s and must be positive", l.Dist))
		}
	}
	forbid := func(fields ...string) {
		set := map[string]bool{
			"value": l.Value != 0, "min": l.Min != 0, "max": l.Max != 0, "mean": l.Mean != 0,
			"stddev": l.Stddev != 0, "median": l.Median != 0, "p99": l.P99 != 0, "alpha": l.Alpha != 0,
		}
		for _, f := range fields {
			if set[f] {
				errs = append(errs, field.Errorf(path+"."+f, "is not used by dist %s", l.Dist))
			}
		}
	}
	for _, d := range []struct {
		n string
		v time.Duration
	}{{"value", l.Value}, {"min", l.Min}, {"max", l.Max}, {"mean", l.Mean}, {"stddev", l.Stddev}, {"median", l.Median}, {"p99", l.P99}} {
		if d.v < 0 {
			errs = append(errs, field.Errorf(path+"."+d.n, "must not be negative, got %s", d.v))
		}
	}
	switch l.Dist {
	case DistFixed:
		if l.Value < 0 {
			break
		}
		forbid("min", "max", "mean", "stddev", "median", "p99", "alpha")
	case DistUniform:
		if l.Max <= l.Min {
			errs = append(errs, field.Errorf(path+".max", "must be greater than min (%s), got %s", l.Min, l.Max))
		}
		forbid("value", "mean", "stddev", "median", "p99", "alpha")
	case DistNormal:
		need("mean", l.Mean)
		need("stddev", l.Stddev)
		forbid("value", "min", "max", "median", "p99", "alpha")
	case DistLognormal:
		need("median", l.Median)
		need("p99", l.P99)
		if l.P99 > 0 && l.P99 <= l.Median {
			errs = append(errs, field.Errorf(path+".p99", "must be greater than median (%s), got %s", l.Median, l.P99))
		}
		forbid("value", "min", "max", "mean", "stddev", "alpha")
	case DistExponential:
		need("mean", l.Mean)
		forbid("value", "min", "max", "stddev", "median", "p99", "alpha")
	case DistPareto:
		need("min", l.Min)
		if l.Alpha <= 0 || math.IsNaN(l.Alpha) {
			errs = append(errs, field.Errorf(path+".alpha", "is required for dist pareto and must be positive"))
		}
		forbid("value", "max", "mean", "stddev", "median", "p99")
	case "":
		errs = append(errs, field.Errorf(path+".dist", "is required (fixed, uniform, normal, lognormal, exponential or pareto)"))
	default:
		errs = append(errs, field.Errorf(path+".dist", "unknown distribution %q (fixed, uniform, normal, lognormal, exponential or pareto)", l.Dist))
	}
	switch l.Per {
	case "", "call", "message", "both":
	default:
		errs = append(errs, field.Errorf(path+".per", "must be call, message or both, got %q", l.Per))
	}
	errs = append(errs, validateRate(path, l.Rate, 0))
	return errors.Join(errs...)
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// LoadFile reads a fault file: either a full server configuration (a mapping
// with backends, faults, …) or just a list of faults. Overrides (e.g. from
// command-line flags) are applied before validation. Errors are located as
// "file:line: field: message".
func LoadFile(path string, overrides ...func(*Config)) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return Parse(path, data, overrides...)
}

// Parse is LoadFile on bytes already read; name is used in error messages.
func Parse(name string, data []byte, overrides ...func(*Config)) (Config, error) {
	root, err := yamlx.Parse(name, data)
	if err != nil {
		return Config{}, err
	}
	if n := yamlNodeValue(root); n != nil && n.Kind == yaml.SequenceNode {
		// A bare list of faults: decode it as {faults: [...]} so paths and
		// messages read the same as in a full configuration.
		root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: "faults", Line: n.Line}, n}}
	}
	var c Config
	pos, err := yamlx.Decode(name, root, &c)
	if err != nil {
		return Config{}, err
	}
	for _, o := range overrides {
		o(&c)
	}
	if err := c.Validate(); err != nil {
		return Config{}, pos.Locate(name, err)
	}
	return c, nil
}

func yamlNodeValue(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return n.Content[0]
	}
	return n
}
