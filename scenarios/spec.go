package scenarios

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/pool"
	"github.com/grpcbench/grpcbench/retry"
)

// Limits that keep every cell bounded.
const (
	MaxDuration    = time.Hour
	MaxRate        = 1_000_000
	MaxWorkers     = 10_000
	MaxMessages    = 100_000
	MaxRepeat      = 100
	MaxCells       = 10_000
	DefaultTimeout = 5 * time.Second
)

// Scenario is one scenario file, resolved: defaults are filled by Load.
type Scenario struct {
	// Name names the run (default: the file name without extension).
	Name string `yaml:"name"`
	// Description is free text shown in reports.
	Description string `yaml:"description"`
	// Seed drives the fake server's faults, the call mix and Poisson
	// arrivals. The same seed gives the same run, up to timing.
	Seed int64 `yaml:"seed"`
	// Server is the embedded fake server, or an external target.
	Server Server `yaml:"server"`
	// Load is how calls are offered.
	Load Load `yaml:"load"`
	// Mix is the calls to make, picked by weight.
	Mix []MixEntry `yaml:"mix"`
	// Payload sets message sizes.
	Payload Payload `yaml:"payload"`
	// Client is the client stack under test.
	Client Client `yaml:"client"`
	// Matrix maps dotted paths to the values to sweep, in file order.
	Matrix Matrix `yaml:"matrix"`
	// Repeat runs every matrix point this many times (default 1).
	Repeat int `yaml:"repeat"`
	// Thresholds are pass/fail gates evaluated after the run; kept as YAML
	// here and checked by the gates package.
	Thresholds RawYAML `yaml:"thresholds"`

	// calls are the mix entries compiled (methods resolved, data encoded);
	// set when the scenario is loaded.
	calls *callSet
}

// Server is where calls go and where their methods are described.
type Server struct {
	// Target is an external "host:port" (127.0.0.1 only, by load-safety
	// rule) or empty for the embedded fake server.
	Target string `yaml:"target"`
	// Reflection asks the server for its methods over gRPC server
	// reflection. It is the default for calls that name a method the
	// built-in UserService does not have when no files are given; false
	// turns it off.
	Reflection *bool `yaml:"reflection"`
	// Protoset lists FileDescriptorSet files describing the methods.
	Protoset []string `yaml:"protoset"`
	// Proto lists .proto files describing the methods, compiled in-process;
	// ImportPaths are searched for them and their imports.
	Proto       []string `yaml:"proto"`
	ImportPaths []string `yaml:"import_paths"`
	// The embedded fake server: backends, seed, max_concurrent_streams,
	// store_size and faults. Seed defaults to the scenario's.
	fakeserver.Config `yaml:",inline"`
}

// Load models.
const (
	ModelOpen   = "open"
	ModelClosed = "closed"
)

// Load describes how calls are offered.
type Load struct {
	// Model is open (arrival rate; the default) or closed (workers).
	Model string `yaml:"model"`
	// Rate is the open model's arrival rate in calls/s (default 100).
	Rate float64 `yaml:"rate"`
	// Stages replace Rate and Duration with a sequence of constant or
	// ramped rates (open model).
	Stages []Stage `yaml:"stages"`
	// Arrivals is uniform (evenly spaced; the default) or poisson.
	Arrivals string `yaml:"arrivals"`
	// MaxInflight caps outstanding calls in the open model (default 64):
	// arrivals beyond it wait in a queue of the same size, measured from
	// their intended start; beyond that they are dropped and counted.
	MaxInflight int `yaml:"max_inflight"`
	// Workers is the closed model's number of workers (default 8).
	Workers int `yaml:"workers"`
	// Think is the closed model's pause between a worker's calls.
	Think time.Duration `yaml:"think"`
	// Duration is the recorded phase (default 10s; the sum of stages).
	Duration time.Duration `yaml:"duration"`
	// Warmup runs before the recorded phase; its calls are not recorded.
	Warmup time.Duration `yaml:"warmup"`
	// MaxCalls bounds the calls of a cell, warm-up included (default: the
	// open model's schedule, or 10 million).
	MaxCalls int64 `yaml:"max_calls"`
}

// Stage is one step of an open-model load profile.
type Stage struct {
	// Duration is how long the stage lasts.
	Duration time.Duration `yaml:"duration"`
	// Rate is the arrival rate in calls/s at the end of the stage.
	Rate float64 `yaml:"rate"`
	// Ramp makes the rate move linearly from the previous stage's rate (0
	// for the first) to Rate; otherwise the stage is constant.
	Ramp bool `yaml:"ramp"`
}

// MixEntry is one kind of call in the mix.
type MixEntry struct {
	// Call names the method: "package.Service/Method" (or
	// "package.Service.Method"), or a short "Service/Method" or "Method"
	// when unique, e.g. GetUser of the built-in UserService.
	Call string `yaml:"call"`
	// Weight is the relative frequency (default 1).
	Weight float64 `yaml:"weight"`
	// Messages is the stream length: the requests a client stream sends or
	// the request/reply exchanges of a bidi stream (default: the number of
	// messages in Data when it is a list, else 10). For the built-in
	// ListUsers it is the number of users the server streams back; other
	// server streams end when the server decides. Not allowed for unary
	// calls.
	Messages int `yaml:"messages"`
	// Data is the request: a mapping (or a JSON string) of the input
	// message's fields, converted with protojson; for client streams and
	// bidi a list of messages, cycled over Messages. Strings may hold
	// templates ({{randomInt 1 50}}, see the calldata package).
	Data RawYAML `yaml:"data"`
	// DataFile reads Data from a JSON or YAML file instead (relative to
	// the scenario file).
	DataFile string `yaml:"data_file"`
	// Metadata is sent with this entry's calls, after the client's;
	// values may hold templates.
	Metadata map[string]string `yaml:"metadata"`
}

// Payload sets the sizes of the built-in UserService's default requests
// (mix entries without data): bytes of padding in each request, and the
// padding the server puts in each reply.
type Payload struct {
	RequestBytes  int `yaml:"request_bytes"`
	ResponseBytes int `yaml:"response_bytes"`
}

// Client is the client stack — client → retry → breaker → pool, with the
// balancing policy inside each pooled connection — and its per-call options
// (timeout, compression, metadata, wait_for_ready, message sizes).
type Client struct {
	client.CallOptions `yaml:",inline"`
	// DecodeResponses decodes every response into its message type, so a
	// malformed response is an error (the default). false only counts the
	// bytes received.
	DecodeResponses *bool `yaml:"decode_responses"`
	// Pool is the connection pool.
	Pool pool.Config `yaml:"pool"`
	// LB is the balancing policy and channel options (keepalive, windows,
	// connect backoff) of every pooled connection.
	LB lb.Config `yaml:"lb"`
	// Retry, when set, retries failed calls.
	Retry *retry.Policy `yaml:"retry"`
	// Breaker, when set, wraps the pool in a circuit breaker.
	Breaker *breaker.Config `yaml:"breaker"`
}

// RawYAML keeps a YAML subtree undecoded.
type RawYAML struct{ Node *yaml.Node }

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *RawYAML) UnmarshalYAML(n *yaml.Node) error {
	r.Node = n
	return nil
}

// IsZero reports whether nothing was given.
func (r RawYAML) IsZero() bool { return r.Node == nil }

// Dimension is one matrix axis.
type Dimension struct {
	// Path is the dotted field path, e.g. "client.pool.size".
	Path string
	// Values are the YAML values to sweep, with their positions.
	Values []*yaml.Node
}

// Matrix is the ordered list of dimensions.
type Matrix []Dimension

// UnmarshalYAML implements yaml.Unmarshaler: a mapping of path → list,
// kept in file order.
func (m *Matrix) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected a mapping of field paths to lists of values")
	}
	var out Matrix
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: expected a list of values", k.Value)
		}
		out = append(out, Dimension{Path: k.Value, Values: v.Content})
	}
	*m = out
	return nil
}

// withDefaults fills zero fields.
func (s *Scenario) withDefaults(file string) {
	if s.Name == "" {
		base := file[strings.LastIndex(file, "/")+1:]
		s.Name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	}
	if s.Server.Target == "" {
		if s.Server.Backends == 0 {
			s.Server.Backends = max(len(s.Server.Addrs), 1)
		}
		if s.Server.Seed == 0 {
			s.Server.Seed = s.Seed
		}
		if s.Server.StoreSize == 0 {
			s.Server.StoreSize = fakeserver.DefaultStoreSize
		}
	}
	l := &s.Load
	if l.Model == "" {
		l.Model = ModelOpen
	}
	if l.Model == ModelOpen {
		if l.Arrivals == "" {
			l.Arrivals = "uniform"
		}
		if l.MaxInflight == 0 {
			l.MaxInflight = 64
		}
		if len(l.Stages) > 0 && l.Duration == 0 {
			for _, st := range l.Stages {
				l.Duration += st.Duration
			}
		}
		if len(l.Stages) == 0 && l.Rate == 0 {
			l.Rate = 100
		}
	} else if l.Workers == 0 {
		l.Workers = 8
	}
	if l.Duration == 0 {
		l.Duration = 10 * time.Second
	}
	if l.MaxCalls == 0 {
		if l.Model == ModelOpen {
			l.MaxCalls = NewSchedule(*l).MaxCalls()
		} else {
			l.MaxCalls = 10_000_000
		}
	}
	if len(s.Mix) == 0 {
		s.Mix = []MixEntry{{Call: "GetUser"}}
	}
	for i := range s.Mix {
		if s.Mix[i].Weight == 0 {
			s.Mix[i].Weight = 1
		}
	}
	c := &s.Client
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	c.Pool = c.Pool.WithDefaults()
	if c.LB.Policy == "" {
		c.LB.Policy = lb.DefaultPolicy
	}
	if c.Retry != nil {
		p := c.Retry.WithDefaults()
		c.Retry = &p
	}
	if c.Breaker != nil {
		b := c.Breaker.WithDefaults()
		c.Breaker = &b
	}
	if s.Repeat == 0 {
		s.Repeat = 1
	}
}

// TargetRate is the average intended arrival rate of the recorded phase
// (open model), 0 for the closed model.
func (s *Scenario) TargetRate() float64 {
	if s.Load.Model != ModelOpen {
		return 0
	}
	return NewSchedule(s.Load).TargetRate()
}

// Validate checks a scenario with defaults filled. Errors are
// field.Errors with paths from the root ("load.rate").
func (s *Scenario) Validate() error {
	var errs []error
	fail := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	if s.Server.Target != "" {
		host, _, err := net.SplitHostPort(s.Server.Target)
		switch {
		case err != nil:
			fail("server.target", "%q is not host:port", s.Server.Target)
		case !isLoopback(host):
			fail("server.target", "%q is not a loopback address: grpcbench sends load only to 127.0.0.1 / ::1 / localhost", s.Server.Target)
		}
		if len(s.Server.Faults) > 0 || s.Server.Backends != 0 {
			fail("server", "target (an external server) cannot have backends or faults; those configure the embedded fake server")
		}
	} else {
		for _, a := range s.Server.Addrs {
			if host, _, err := net.SplitHostPort(a); err == nil && !isLoopback(host) {
				fail("server.addrs", "%q is not a loopback address", a)
			}
		}
		errs = append(errs, field.Prefix("server", s.Server.Config.Validate()))
	}
	l := &s.Load
	switch l.Model {
	case ModelOpen:
		if len(l.Stages) > 0 && l.Rate != 0 {
			fail("load.rate", "give rate or stages, not both")
		}
		if l.Rate < 0 || l.Rate > MaxRate || math.IsNaN(l.Rate) {
			fail("load.rate", "must be between 0 and %d calls/s, got %g", MaxRate, l.Rate)
		}
		var sum time.Duration
		for i, st := range l.Stages {
			p := fmt.Sprintf("load.stages[%d]", i)
			if st.Duration <= 0 {
				fail(p+".duration", "must be positive")
			}
			if st.Rate < 0 || st.Rate > MaxRate || math.IsNaN(st.Rate) {
				fail(p+".rate", "must be between 0 and %d calls/s, got %g", MaxRate, st.Rate)
			}
			sum += st.Duration
		}
		if len(l.Stages) > 0 && sum != l.Duration {
			fail("load.duration", "is %s but the stages add up to %s; leave it out", l.Duration, sum)
		}
		switch l.Arrivals {
		case "uniform", "poisson":
		default:
			fail("load.arrivals", "must be uniform or poisson, got %q", l.Arrivals)
		}
		if l.MaxInflight < 1 || l.MaxInflight > MaxWorkers {
			fail("load.max_inflight", "must be between 1 and %d, got %d", MaxWorkers, l.MaxInflight)
		}
		if l.Workers != 0 {
			fail("load.workers", "belongs to the closed model; the open model uses max_inflight")
		}
		if l.Think != 0 {
			fail("load.think", "belongs to the closed model")
		}
	case ModelClosed:
		if l.Rate != 0 || len(l.Stages) > 0 {
			fail("load.rate", "belongs to the open model; the closed model uses workers")
		}
		if l.Workers < 1 || l.Workers > MaxWorkers {
			fail("load.workers", "must be between 1 and %d, got %d", MaxWorkers, l.Workers)
		}
		if l.Think < 0 {
			fail("load.think", "must not be negative")
		}
		if l.Arrivals != "" {
			fail("load.arrivals", "belongs to the open model")
		}
	default:
		fail("load.model", "must be open or closed, got %q", l.Model)
	}
	if l.Duration <= 0 || l.Duration > MaxDuration {
		fail("load.duration", "must be between 1ns and %s, got %s", MaxDuration, l.Duration)
	}
	if l.Warmup < 0 || l.Warmup > MaxDuration {
		fail("load.warmup", "must be between 0 and %s, got %s", MaxDuration, l.Warmup)
	}
	if l.MaxCalls < 1 {
		fail("load.max_calls", "must be at least 1, got %d", l.MaxCalls)
	}
	total := 0.0
	for i, e := range s.Mix {
		p := fmt.Sprintf("mix[%d]", i)
		if strings.TrimSpace(e.Call) == "" {
			fail(p+".call", "is required: the method to call, e.g. package.Service/Method")
		}
		if e.Weight < 0 || math.IsNaN(e.Weight) || math.IsInf(e.Weight, 0) {
			fail(p+".weight", "must be positive, got %g", e.Weight)
		}
		total += e.Weight
		if e.Messages < 0 || e.Messages > MaxMessages {
			fail(p+".messages", "must be between 1 and %d, got %d", MaxMessages, e.Messages)
		}
		if e.DataFile != "" && !e.Data.IsZero() {
			fail(p+".data_file", "give data or data_file, not both")
		}
	}
	if total <= 0 && len(s.Mix) > 0 {
		fail("mix", "weights add up to 0")
	}
	srv := &s.Server
	if len(srv.Protoset) > 0 && len(srv.Proto) > 0 {
		fail("server.proto", "give proto or protoset, not both")
	}
	if srv.Reflection != nil && *srv.Reflection && (len(srv.Protoset) > 0 || len(srv.Proto) > 0) {
		fail("server.reflection", "reflection and descriptor files exclude each other: leave reflection out to use the files")
	}
	if len(srv.ImportPaths) > 0 && len(srv.Proto) == 0 {
		fail("server.import_paths", "applies to server.proto files")
	}
	if s.Payload.RequestBytes < 0 || s.Payload.RequestBytes > fakeserver.MaxPadding {
		fail("payload.request_bytes", "must be between 0 and %d, got %d", fakeserver.MaxPadding, s.Payload.RequestBytes)
	}
	if s.Payload.ResponseBytes < 0 || s.Payload.ResponseBytes > fakeserver.MaxPadding {
		fail("payload.response_bytes", "must be between 0 and %d, got %d", fakeserver.MaxPadding, s.Payload.ResponseBytes)
	}
	c := &s.Client
	if c.Timeout < 0 {
		fail("client.timeout", "must not be negative")
	}
	errs = append(errs,
		field.Prefix("client", c.CallOptions.Validate()),
		field.Prefix("client.pool", c.Pool.Validate()),
		field.Prefix("client.lb", c.LB.Validate()))
	if c.Retry != nil {
		errs = append(errs, field.Prefix("client.retry", c.Retry.Validate()))
	}
	if c.Breaker != nil {
		errs = append(errs, field.Prefix("client.breaker", c.Breaker.Validate()))
	}
	if s.Repeat < 1 || s.Repeat > MaxRepeat {
		fail("repeat", "must be between 1 and %d, got %d", MaxRepeat, s.Repeat)
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Resolved returns the scenario as a generic tree (maps, lists, scalars)
// with defaults filled, for the results file.
func (s *Scenario) Resolved() any {
	b, err := yaml.Marshal(s)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var out any
	if err := yaml.Unmarshal(b, &out); err != nil {
		return map[string]any{"error": err.Error()}
	}
	return out
}

// MarshalYAML implements yaml.Marshaler: path → values, in order.
func (m Matrix) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, d := range m {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: d.Path},
			&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: d.Values, Style: yaml.FlowStyle})
	}
	return n, nil
}

// MarshalYAML implements yaml.Marshaler.
func (r RawYAML) MarshalYAML() (any, error) {
	if r.Node == nil {
		return nil, nil
	}
	return r.Node, nil
}
