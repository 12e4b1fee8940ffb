package lb_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/internal/yamlx"
	"github.com/grpcbench/grpcbench/lb"
)

func dur(d time.Duration) *time.Duration { return &d }
func f64(f float64) *float64             { return &f }

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  lb.Config
		want []string // "path: message substring", one per expected error; nil means valid
	}{
		{name: "zero value is round_robin", cfg: lb.Config{}},
		{name: "pick_first", cfg: lb.Config{Policy: lb.PickFirst}},
		{name: "round_robin with health", cfg: lb.Config{Policy: lb.RoundRobin, HealthCheck: true}},
		{name: "weighted_round_robin all options", cfg: lb.Config{
			Policy: lb.WeightedRoundRobin, BlackoutPeriod: dur(0), WeightUpdatePeriod: dur(100 * time.Millisecond),
			EnableOOBLoadReport: true, OOBReportingPeriod: dur(time.Second), WeightExpirationPeriod: dur(time.Minute),
			ErrorUtilizationPenalty: f64(0)}},
		{name: "least_request default choice", cfg: lb.Config{Policy: lb.LeastRequest}},
		{name: "least_request choice 10", cfg: lb.Config{Policy: lb.LeastRequest, ChoiceCount: 10}},
		{name: "ring_hash", cfg: lb.Config{Policy: lb.RingHash, HashHeader: "X-User-Key", MinRingSize: 16, MaxRingSize: 64}},
		{name: "other policies' options are ignored",
			cfg: lb.Config{Policy: lb.RoundRobin, ChoiceCount: 1, MinRingSize: 10, MaxRingSize: 5, WeightUpdatePeriod: dur(time.Millisecond)}},

		{name: "unknown policy", cfg: lb.Config{Policy: "random"},
			want: []string{`policy: unknown policy "random"`}},
		{name: "grpclb is rejected with a reason", cfg: lb.Config{Policy: lb.GRPCLB},
			want: []string{"policy: grpclb is not supported: it is gRPC's deprecated legacy"}},
		{name: "choice_count too small", cfg: lb.Config{Policy: lb.LeastRequest, ChoiceCount: 1},
			want: []string{"choice_count: must be between 2 and 10, got 1"}},
		{name: "choice_count too large", cfg: lb.Config{Policy: lb.LeastRequest, ChoiceCount: 11},
			want: []string{"choice_count: must be between 2 and 10, got 11"}},
		{name: "ring_hash needs a header", cfg: lb.Config{Policy: lb.RingHash},
			want: []string{"hash_header: is required for ring_hash"}},
		{name: "ring_hash binary header", cfg: lb.Config{Policy: lb.RingHash, HashHeader: "key-bin"},
			want: []string{"hash_header: \"key-bin\": binary headers"}},
		{name: "ring_hash bad header characters", cfg: lb.Config{Policy: lb.RingHash, HashHeader: "user key"},
			want: []string{"hash_header: \"user key\": a header name may hold only"}},
		{name: "ring_hash pseudo-header", cfg: lb.Config{Policy: lb.RingHash, HashHeader: ":path"},
			want: []string{"hash_header: \":path\": pseudo-headers"}},
		{name: "ring sizes", cfg: lb.Config{Policy: lb.RingHash, HashHeader: "k", MinRingSize: 9 << 20, MaxRingSize: 9 << 20},
			want: []string{"min_ring_size: must be at most 8388608", "max_ring_size: must be at most 8388608"}},
		{name: "min ring above default max", cfg: lb.Config{Policy: lb.RingHash, HashHeader: "k", MinRingSize: 5000},
			want: []string{"min_ring_size: 5000 is greater than max_ring_size 4096"}},
		{name: "wrr periods", cfg: lb.Config{Policy: lb.WeightedRoundRobin, BlackoutPeriod: dur(-1),
			WeightUpdatePeriod: dur(50 * time.Millisecond), WeightExpirationPeriod: dur(0),
			OOBReportingPeriod: dur(time.Second), ErrorUtilizationPenalty: f64(-1)},
			want: []string{"blackout_period: must not be negative",
				"weight_update_period: must be at least 100ms",
				"weight_expiration_period: must be positive",
				"oob_reporting_period: needs enable_oob_load_report: true",
				"error_utilization_penalty: must be a finite number >= 0"}},
		{name: "health under pick_first has no effect", cfg: lb.Config{Policy: lb.PickFirst, HealthCheck: true},
			want: []string{"health_check: has no effect under pick_first"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.FieldErrors(t, tt.cfg.Validate(), tt.want...) })
	}
}

func TestValidateRingHashEnvSwitch(t *testing.T) {
	t.Setenv("GRPC_EXPERIMENTAL_RING_HASH_SET_REQUEST_HASH_KEY", "false")
	err := lb.Config{Policy: lb.RingHash, HashHeader: "k"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "GRPC_EXPERIMENTAL_RING_HASH_SET_REQUEST_HASH_KEY=false") {
		t.Fatalf("Validate() = %v, want an error naming the env switch", err)
	}
}

func TestDecodeYAML(t *testing.T) {
	const doc = `policy: weighted_round_robin
blackout_period: 100ms
weight_update_period: 50ms
error_utilization_penalty: 0
health_check: true
`
	node, err := yamlx.Parse("lb.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var cfg lb.Config
	pos, err := yamlx.Decode("lb.yaml", node, &cfg)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if cfg.BlackoutPeriod == nil || *cfg.BlackoutPeriod != 100*time.Millisecond ||
		cfg.ErrorUtilizationPenalty == nil || *cfg.ErrorUtilizationPenalty != 0 ||
		!cfg.HealthCheck {
		t.Fatalf("decoded %+v", cfg)
	}
	err = pos.Locate("lb.yaml", cfg.Validate())
	want := "lb.yaml:3: weight_update_period: must be at least 100ms"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("located error = %v, want prefix %q", err, want)
	}

	bad, err := yamlx.Parse("bad.yaml", []byte("policy: round_robin\nchoise_count: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := yamlx.Decode("bad.yaml", bad, &lb.Config{}); err == nil || !strings.Contains(err.Error(), "bad.yaml:2") {
		t.Fatalf("Decode of a misspelt key = %v, want an error on line 2", err)
	}
}

func TestServiceConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  lb.Config
		want string
	}{
		{"default", lb.Config{}, `{"loadBalancingConfig":[{"round_robin":{}}]}`},
		{"pick_first", lb.Config{Policy: lb.PickFirst}, `{"loadBalancingConfig":[{"pick_first":{}}]}`},
		{"round_robin health", lb.Config{Policy: lb.RoundRobin, HealthCheck: true},
			`{"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":""}}`},
		{"least_request", lb.Config{Policy: lb.LeastRequest, ChoiceCount: 3},
			`{"loadBalancingConfig":[{"least_request_experimental":{"choiceCount":3}}]}`},
		{"least_request default", lb.Config{Policy: lb.LeastRequest},
			`{"loadBalancingConfig":[{"least_request_experimental":{}}]}`},
		{"ring_hash", lb.Config{Policy: lb.RingHash, HashHeader: "X-User-Key", MinRingSize: 64, MaxRingSize: 256},
			`{"loadBalancingConfig":[{"ring_hash_experimental":{"minRingSize":64,"maxRingSize":256,"requestHashHeader":"x-user-key"}}]}`},
		{"wrr defaults", lb.Config{Policy: lb.WeightedRoundRobin},
			`{"loadBalancingConfig":[{"weighted_round_robin":{}}]}`},
		{"wrr options", lb.Config{Policy: lb.WeightedRoundRobin, BlackoutPeriod: dur(0),
			WeightUpdatePeriod: dur(1500 * time.Millisecond), WeightExpirationPeriod: dur(3 * time.Minute),
			EnableOOBLoadReport: true, OOBReportingPeriod: dur(time.Nanosecond + time.Second), ErrorUtilizationPenalty: f64(0)},
			`{"loadBalancingConfig":[{"weighted_round_robin":{"enableOobLoadReport":true,"oobReportingPeriod":"1.000000001s",` +
				`"blackoutPeriod":"0s","weightExpirationPeriod":"180s","weightUpdatePeriod":"1.5s","errorUtilizationPenalty":0}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.ServiceConfig()
			if err != nil {
				t.Fatalf("ServiceConfig() error: %v", err)
			}
			if got != tt.want {
				t.Errorf("ServiceConfig() =\n%s\nwant\n%s", got, tt.want)
			}
			lbc, err := tt.cfg.LoadBalancingConfig()
			if err != nil {
				t.Fatalf("LoadBalancingConfig() error: %v", err)
			}
			if !strings.Contains(got, `"loadBalancingConfig":`+lbc) {
				t.Errorf("LoadBalancingConfig() = %s, not the list in %s", lbc, got)
			}
		})
	}
}

func TestServiceConfigWith(t *testing.T) {
	retry := map[string]any{
		"name": []any{map[string]any{"service": "grpcbench.user.v1.UserService"}},
		"retryPolicy": map[string]any{
			"maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "1s", "backoffMultiplier": 2.0,
			"retryableStatusCodes": []string{"UNAVAILABLE"},
		},
	}
	got, err := lb.Config{}.ServiceConfigWith([]any{retry})
	if err != nil {
		t.Fatalf("ServiceConfigWith: %v", err)
	}
	want := `{"loadBalancingConfig":[{"round_robin":{}}],"methodConfig":[{"name":[{"service":"grpcbench.user.v1.UserService"}],` +
		`"retryPolicy":{"backoffMultiplier":2,"initialBackoff":"0.05s","maxAttempts":3,"maxBackoff":"1s","retryableStatusCodes":["UNAVAILABLE"]}}]}`
	if got != want {
		t.Errorf("ServiceConfigWith =\n%s\nwant\n%s", got, want)
	}

	errs := []struct {
		name string
		mc   []any
		want string
	}{
		{"not an object", []any{"retry"}, "methodConfig[0]: must be a JSON object"},
		{"not encodable", []any{map[string]any{"f": func() {}}}, "methodConfig[0]: json: unsupported type"},
		{"grpc-go rejects a bad duration", []any{map[string]any{"name": []any{map[string]any{}}, "timeout": "5"}},
			"grpc-go rejects the service config"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := lb.Config{}.ServiceConfigWith(tt.mc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ServiceConfigWith = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestServiceConfigInvalid(t *testing.T) {
	_, err := lb.Config{Policy: lb.GRPCLB}.ServiceConfig()
	if !errors.Is(err, lb.ErrGRPCLB) && (err == nil || !strings.Contains(err.Error(), "replaced by xDS")) {
		t.Fatalf("ServiceConfig(grpclb) = %v, want the grpclb explanation", err)
	}
	if _, err := (lb.Config{Policy: "nope"}).DialOptions(); err == nil {
		t.Fatal("DialOptions accepted an unknown policy")
	}
	if err := lb.CheckServiceConfig(`{"loadBalancingConfig":[{"no_such_policy":{}}]}`); err == nil {
		t.Fatal("CheckServiceConfig accepted an unknown policy")
	}
}

func TestBalancerName(t *testing.T) {
	for p, want := range map[lb.Policy]string{
		"": "round_robin", lb.PickFirst: "pick_first", lb.RoundRobin: "round_robin",
		lb.WeightedRoundRobin: "weighted_round_robin", lb.LeastRequest: "least_request_experimental",
		lb.RingHash: "ring_hash_experimental",
	} {
		got, err := lb.BalancerName(p)
		if err != nil || got != want {
			t.Errorf("BalancerName(%q) = %q, %v; want %q", p, got, err, want)
		}
	}
	if _, err := lb.BalancerName(lb.GRPCLB); !errors.Is(err, lb.ErrGRPCLB) {
		t.Errorf("BalancerName(grpclb) error = %v, want ErrGRPCLB", err)
	}
}

func TestDialOptions(t *testing.T) {
	opts, err := lb.Config{Policy: lb.LeastRequest, HealthCheck: true}.DialOptions()
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) != 1 {
		t.Errorf("got %d options, want 1 (the service config)", len(opts))
	}
	r := lb.NewStaticResolver("127.0.0.1:1")
	cc, err := grpc.NewClient(r.Target(), append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()), r.DialOption())...)
	if err != nil {
		t.Fatalf("grpc.NewClient rejects the options: %v", err)
	}
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	if r.Conns() != 0 {
		t.Errorf("a ClientConn that never left idle built %d resolvers", r.Conns())
	}
}
