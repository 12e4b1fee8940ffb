package scenarios

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/dial"
	"github.com/grpcbench/grpcbench/fakeserver"
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
	// Target is the external server: target (any gRPC target: host:port,
	// dns:///name:port, unix:///path, …), or targets (a list of addresses
	// behind one resolver, so balancing spreads calls over them), and
	// authority. Empty for the embedded fake server.
	dial.Target `yaml:",inline"`
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
	// values may hold templates (and ${env:…}/${file:…} references, sent as
	// per-RPC credentials).
	Metadata map[string]string `yaml:"metadata"`

	// Per-method policies, as gRPC's service config has them: when set
	// they replace the client's for this entry's calls. An entry has retry
	// or hedging, not both.
	Timeout      *time.Duration       `yaml:"timeout"`
	WaitForReady *bool                `yaml:"wait_for_ready"`
	Retry        *retry.Policy        `yaml:"retry"`
	Hedging      *retry.HedgingPolicy `yaml:"hedging"`
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
	// Config is everything about the connections but balancing: tls,
	// credentials, insecure_credentials, conn (keepalive, windows, connect
	// backoff, user agent) and redact.
	dial.Config `yaml:",inline"`
	// DecodeResponses decodes every response into its message type, so a
	// malformed response is an error (the default). false only counts the
	// bytes received.
	DecodeResponses *bool `yaml:"decode_responses"`
	// Pool is the connection pool.
	Pool pool.Config `yaml:"pool"`
	// LB is the balancing policy of every pooled connection.
	LB lb.Config `yaml:"lb"`
	// Retry, when set, retries failed calls.
	Retry *retry.Policy `yaml:"retry"`
	// Hedging, when set, sends hedged attempts (gRFC A6) instead: a method
	// has retry or hedging, not both.
	Hedging *retry.HedgingPolicy `yaml:"hedging"`
	// RetryThrottling, when set, limits retries and hedges with A6's token
	// bucket (one per cell, shared by every worker).
	RetryThrottling *retry.ThrottlePolicy `yaml:"retry_throttling"`
	// Discovery is where the client learns its backends while it runs:
	// static (the default), a watched file or etcd. With file or etcd the
	// embedded fake server publishes its backend set there (server.events
	// change it).
	Discovery lb.DiscoveryConfig `yaml:"discovery"`
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
	if s.Server.Target.IsZero() {
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
	s.Load.withDefaults()
	if len(s.Mix) == 0 {
		s.Mix = []MixEntry{{Call: "GetUser"}}
	}
	for i := range s.Mix {
		e := &s.Mix[i]
		if e.Weight == 0 {
			e.Weight = 1
		}
		e.Retry, e.Hedging = policyDefaults(e.Retry), hedgingDefaults(e.Hedging)
	}
	c := &s.Client
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	c.Pool = c.Pool.WithDefaults()
	if c.LB.Policy == "" {
		c.LB.Policy = lb.DefaultPolicy
	}
	c.Retry, c.Hedging = policyDefaults(c.Retry), hedgingDefaults(c.Hedging)
	if c.Breaker != nil {
		b := c.Breaker.WithDefaults()
		c.Breaker = &b
	}
	if s.Repeat == 0 {
		s.Repeat = 1
	}
}

// withDefaults fills the load's zero fields for its model.
func (l *Load) withDefaults() {
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
			l.MaxCalls = newSchedule(*l).MaxCalls()
		} else {
			l.MaxCalls = 10_000_000
		}
	}
}

func policyDefaults(p *retry.Policy) *retry.Policy {
	if p == nil {
		return nil
	}
	d := p.WithDefaults()
	return &d
}

func hedgingDefaults(h *retry.HedgingPolicy) *retry.HedgingPolicy {
	if h == nil {
		return nil
	}
	d := h.WithDefaults()
	return &d
}

// TargetRate is the average intended arrival rate of the recorded phase
// (open model), 0 for the closed model.
func (s *Scenario) TargetRate() float64 {
	if s.Load.Model != ModelOpen {
		return 0
	}
	return newSchedule(s.Load).TargetRate()
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

// resolvePaths makes the file names a scenario gives relative to its own
// directory (dir), as protoset, proto and data_file are: TLS files, token
// files, the discovery file. ${file:…} references in metadata stay relative
// to the working directory, like the environment they stand beside.
func (s *Scenario) resolvePaths(dir string) {
	if dir == "" || dir == "." {
		return
	}
	fix := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if t := s.Client.TLS; t != nil {
		c := *t
		fix(&c.CAFile)
		fix(&c.CertFile)
		fix(&c.KeyFile)
		s.Client.TLS = &c
	}
	if cr := s.Client.Credentials; cr != nil {
		c := *cr
		fix(&c.BearerTokenFile)
		s.Client.Credentials = &c
	}
	if t := s.Server.Config.TLS; t != nil {
		c := *t
		fix(&c.CertFile)
		fix(&c.KeyFile)
		fix(&c.ClientCAFile)
		s.Server.Config.TLS = &c
	}
	if rt := s.Server.RequireToken; rt != nil {
		c := *rt
		fix(&c.File)
		s.Server.RequireToken = &c
	}
	fix(&s.Client.Discovery.File)
}
