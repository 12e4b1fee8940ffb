package lb

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/credentials/insecure"

	// Register the policies grpc-go does not register by itself.
	_ "google.golang.org/grpc/balancer/leastrequest"
	_ "google.golang.org/grpc/balancer/ringhash"
	_ "google.golang.org/grpc/balancer/weightedroundrobin"
)

// grpc-go's registered names of the policies (two are still marked
// experimental in their names).
const (
	pickFirstName   = "pick_first"
	roundRobinName  = "round_robin"
	wrrName         = "weighted_round_robin"
	leastReqName    = "least_request_experimental"
	ringHashName    = "ring_hash_experimental"
	dryRunTarget    = "passthrough:///lb-service-config-check"
	healthCheckNone = ""
)

// balancerName returns the name grpc-go registers policy p under, as used as
// the key in loadBalancingConfig ("least_request" is
// "least_request_experimental", "ring_hash" is "ring_hash_experimental").
func balancerName(p Policy) (string, error) {
	switch p {
	case "", RoundRobin:
		return roundRobinName, nil
	case PickFirst:
		return pickFirstName, nil
	case WeightedRoundRobin:
		return wrrName, nil
	case LeastRequest:
		return leastReqName, nil
	case RingHash:
		return ringHashName, nil
	case GRPCLB:
		return "", errGRPCLB
	}
	return "", fmt.Errorf("unknown policy %q", string(p))
}

type wrrJSON struct {
	EnableOOBLoadReport     bool     `json:"enableOobLoadReport,omitempty"`
	OOBReportingPeriod      string   `json:"oobReportingPeriod,omitempty"`
	BlackoutPeriod          string   `json:"blackoutPeriod,omitempty"`
	WeightExpirationPeriod  string   `json:"weightExpirationPeriod,omitempty"`
	WeightUpdatePeriod      string   `json:"weightUpdatePeriod,omitempty"`
	ErrorUtilizationPenalty *float64 `json:"errorUtilizationPenalty,omitempty"`
}

type leastRequestJSON struct {
	ChoiceCount int `json:"choiceCount,omitempty"`
}

type ringHashJSON struct {
	MinRingSize       uint64 `json:"minRingSize,omitempty"`
	MaxRingSize       uint64 `json:"maxRingSize,omitempty"`
	RequestHashHeader string `json:"requestHashHeader,omitempty"`
}

type healthCheckJSON struct {
	ServiceName string `json:"serviceName"`
}

type serviceConfigJSON struct {
	LoadBalancingConfig []map[string]any `json:"loadBalancingConfig"`
	HealthCheckConfig   *healthCheckJSON `json:"healthCheckConfig,omitempty"`
	MethodConfig        []any            `json:"methodConfig,omitempty"`
	RetryThrottling     any              `json:"retryThrottling,omitempty"`
}

// policyConfig returns grpc-go's balancer name and its JSON config for c.
func (c Config) policyConfig() (string, any, error) {
	name, err := balancerName(c.Policy)
	if err != nil {
		return "", nil, err
	}
	switch c.EffectivePolicy() {
	case WeightedRoundRobin:
		return name, wrrJSON{
			EnableOOBLoadReport:     c.EnableOOBLoadReport,
			OOBReportingPeriod:      jsonDuration(c.OOBReportingPeriod),
			BlackoutPeriod:          jsonDuration(c.BlackoutPeriod),
			WeightExpirationPeriod:  jsonDuration(c.WeightExpirationPeriod),
			WeightUpdatePeriod:      jsonDuration(c.WeightUpdatePeriod),
			ErrorUtilizationPenalty: c.ErrorUtilizationPenalty,
		}, nil
	case LeastRequest:
		return name, leastRequestJSON{ChoiceCount: c.ChoiceCount}, nil
	case RingHash:
		return name, ringHashJSON{
			MinRingSize:       c.MinRingSize,
			MaxRingSize:       c.MaxRingSize,
			RequestHashHeader: strings.ToLower(c.HashHeader),
		}, nil
	}
	return name, struct{}{}, nil
}

// LoadBalancingConfig returns the JSON of the loadBalancingConfig list alone,
// e.g. [{"least_request_experimental":{"choiceCount":3}}], after checking it
// with the policy's own grpc-go parser.
func (c Config) LoadBalancingConfig() (string, error) {
	name, inner, err := c.lbEntry()
	if err != nil {
		return "", err
	}
	out, err := json.Marshal([]map[string]json.RawMessage{{name: inner}})
	if err != nil {
		return "", fmt.Errorf("lb: encoding loadBalancingConfig: %w", err)
	}
	return string(out), nil
}

// lbEntry validates c and returns grpc-go's balancer name and the policy's
// JSON config, checked by the balancer's own parser.
func (c Config) lbEntry() (string, json.RawMessage, error) {
	if err := c.Validate(); err != nil {
		return "", nil, fmt.Errorf("lb: invalid config: %w", err)
	}
	name, cfg, err := c.policyConfig()
	if err != nil {
		return "", nil, fmt.Errorf("lb: %w", err)
	}
	inner, err := json.Marshal(cfg)
	if err != nil {
		return "", nil, fmt.Errorf("lb: encoding %s config: %w", name, err)
	}
	if err := parsePolicy(name, inner); err != nil {
		return "", nil, err
	}
	if c.OutlierDetection != nil {
		return c.OutlierDetection.wrap(name, inner)
	}
	return name, inner, nil
}

// ServiceConfig returns the JSON service config for c: its loadBalancingConfig
// and, when HealthCheck is set, a healthCheckConfig for service "". The
// result has been parsed by grpc-go (see ServiceConfigWith).
func (c Config) ServiceConfig() (string, error) {
	return c.ServiceConfigWith(nil)
}

// ServiceConfigWith is ServiceConfig with methodConfig entries added, such as
// a native retryPolicy fragment from the retry package. Each entry must
// marshal to a JSON object. The whole document is checked by grpc-go's
// service config parser (a grpc.NewClient with WithDefaultServiceConfig that
// is closed at once and never connects), so an error here is one grpc-go
// would raise at dial time.
func (c Config) ServiceConfigWith(methodConfig []any) (string, error) {
	return c.ServiceConfigFor(methodConfig, nil)
}

// ServiceConfigFor is ServiceConfigWith with gRPC's top-level
// retryThrottling object (e.g. retry.ThrottlePolicy.ServiceConfig()) when
// retryThrottling is not nil.
func (c Config) ServiceConfigFor(methodConfig []any, retryThrottling any) (string, error) {
	name, inner, err := c.lbEntry()
	if err != nil {
		return "", err
	}
	sc := serviceConfigJSON{
		LoadBalancingConfig: []map[string]any{{name: inner}},
		MethodConfig:        methodConfig,
		RetryThrottling:     retryThrottling,
	}
	if c.HealthCheck {
		sc.HealthCheckConfig = &healthCheckJSON{ServiceName: healthCheckNone}
	}
	for i, mc := range methodConfig {
		b, err := json.Marshal(mc)
		if err != nil {
			return "", fmt.Errorf("lb: methodConfig[%d]: %w", i, err)
		}
		if len(b) == 0 || b[0] != '{' {
			return "", fmt.Errorf("lb: methodConfig[%d]: must be a JSON object, got %s", i, b)
		}
	}
	out, err := json.Marshal(sc)
	if err != nil {
		return "", fmt.Errorf("lb: encoding service config: %w", err)
	}
	if err := checkServiceConfig(string(out)); err != nil {
		return "", err
	}
	return string(out), nil
}

// checkServiceConfig parses js with grpc-go's service config parser and
// returns its error, if any. It creates a ClientConn for a passthrough target
// and closes it before it leaves idle, so nothing is dialled.
func checkServiceConfig(js string) error {
	cc, err := grpc.NewClient(dryRunTarget,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(js))
	if err != nil {
		return fmt.Errorf("lb: grpc-go rejects the service config: %w", err)
	}
	if err := cc.Close(); err != nil {
		return fmt.Errorf("lb: closing the service config check: %w", err)
	}
	return nil
}

// parsePolicy runs the registered balancer's own config parser on js.
func parsePolicy(name string, js []byte) error {
	b := balancer.Get(name)
	if b == nil {
		return fmt.Errorf("lb: balancer %q is not registered", name)
	}
	p, ok := b.(balancer.ConfigParser)
	if !ok {
		return nil
	}
	if _, err := p.ParseConfig(js); err != nil {
		return fmt.Errorf("lb: grpc-go rejects the %s config %s: %w", name, js, err)
	}
	return nil
}

// jsonDuration formats d the way the service config expects durations
// ("0.100s", "10s"); nil yields "" (left out).
func jsonDuration(d *time.Duration) string {
	if d == nil {
		return ""
	}
	return formatDuration(*d)
}

func formatDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	sec := int64(d / time.Second)
	ns := int64(d % time.Second)
	s := strconv.FormatInt(sec, 10)
	if ns != 0 {
		frac := strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s + "s"
}
