package scenarios

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/retry"
)

const base = `name: t
seed: 1
server:
  backends: 2
load: {model: open, rate: 100, duration: 1s}
mix:
  - {call: GetUser}
client:
  pool: {size: 2}
  retry: {policy: exponential, max_attempts: 3}
`

func TestDefaultsFilled(t *testing.T) {
	sp, err := Parse("t.yaml", []byte("mix: [{call: ListUsers}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := sp.Scenario
	if s.Name != "t" || s.Server.Backends != 1 || s.Load.Model != ModelOpen || s.Load.Rate != 100 ||
		s.Load.Duration != 10*time.Second || s.Load.MaxInflight != 64 || s.Load.Arrivals != "uniform" ||
		s.Mix[0].Messages != 10 || s.Mix[0].Weight != 1 || s.Client.Timeout != DefaultTimeout ||
		s.Client.Pool.Size != 1 || s.Client.LB.Policy != lb.RoundRobin || s.Repeat != 1 || s.Load.MaxCalls != 1001 {
		t.Fatalf("defaults: %+v", s)
	}
	// Defaults are echoed in the resolved scenario.
	r := s.Resolved().(map[string]any)
	if r["load"].(map[string]any)["max_inflight"] != 64 || r["repeat"] != 1 {
		t.Fatalf("resolved: %v", r)
	}
}

func TestMatrixExpansion(t *testing.T) {
	tests := []struct {
		name   string
		matrix string
		repeat int
		ids    []string
	}{
		{"no matrix", "", 1, []string{"base#1"}},
		{"repeats", "", 3, []string{"base#1", "base#2", "base#3"}},
		{"one dimension", "matrix:\n  client.pool.size: [1, 4]\n", 1, []string{"pool.size=1#1", "pool.size=4#1"}},
		{"product in file order, last fastest", "matrix:\n  client.pool.size: [1, 2]\n  client.lb.policy: [pick_first, round_robin]\n", 1,
			[]string{"pool.size=1,lb.policy=pick_first#1", "pool.size=1,lb.policy=round_robin#1", "pool.size=2,lb.policy=pick_first#1", "pool.size=2,lb.policy=round_robin#1"}},
		{"repeat runs the whole matrix again", "matrix:\n  client.retry.policy: [linear, fixed]\n", 2,
			[]string{"retry.policy=linear#1", "retry.policy=fixed#1", "retry.policy=linear#2", "retry.policy=fixed#2"}},
		{"non-client path keeps its prefix", "matrix:\n  load.rate: [50, 100]\n", 1, []string{"load.rate=50#1", "load.rate=100#1"}},
		{"mapping value", "matrix:\n  client.pool: [{size: 2, pick: random}]\n", 1, []string{"pool={size: 2, pick: random}#1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := base + tt.matrix + "repeat: " + itoa(tt.repeat) + "\n"
			sp, err := Parse("t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			cells, err := sp.Expand()
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range cells {
				ids = append(ids, c.ID)
			}
			if strings.Join(ids, " ") != strings.Join(tt.ids, " ") {
				t.Fatalf("ids %v, want %v", ids, tt.ids)
			}
		})
	}
	// Each cell's scenario carries its values.
	sp, err := Parse("t.yaml", []byte(base+"matrix:\n  client.pool.size: [1, 4]\n  client.retry.policy: [linear, fixed]\n"))
	if err != nil {
		t.Fatal(err)
	}
	cells, _ := sp.Expand()
	c := cells[3]
	if c.Scenario.Client.Pool.Size != 4 || c.Scenario.Client.Retry.Kind != retry.Fixed || len(c.Params) != 2 ||
		c.Params[0].Path != "client.pool.size" || c.Params[0].Value != "4" {
		t.Fatalf("cell %s: %+v params %v", c.ID, c.Scenario.Client, c.Params)
	}
	if sp.Scenario.Client.Pool.Size != 2 {
		t.Fatal("expansion changed the base scenario")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestSetOverrides(t *testing.T) {
	tests := []struct {
		sets  []string
		check func(*Scenario) bool
	}{
		{[]string{"client.pool.size=8"}, func(s *Scenario) bool { return s.Client.Pool.Size == 8 }},
		{[]string{"load.rate=250", "load.duration=3s"}, func(s *Scenario) bool { return s.Load.Rate == 250 && s.Load.Duration == 3*time.Second }},
		{[]string{"client.breaker.failure_threshold=5"}, func(s *Scenario) bool { return s.Client.Breaker != nil && s.Client.Breaker.FailureThreshold == 5 }},
		{[]string{"mix[0].weight=3"}, func(s *Scenario) bool { return s.Mix[0].Weight == 3 }},
		{[]string{"client.lb={policy: least_request, choice_count: 3}"}, func(s *Scenario) bool {
			return s.Client.LB.Policy == lb.LeastRequest && s.Client.LB.ChoiceCount == 3
		}},
		{[]string{"name=renamed"}, func(s *Scenario) bool { return s.Name == "renamed" }},
		{[]string{"server.faults=[{error: {code: INTERNAL, rate: 0.1}}]"}, func(s *Scenario) bool { return len(s.Server.Faults) == 1 }},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.sets, ","), func(t *testing.T) {
			sp, err := Parse("t.yaml", []byte(base), tt.sets...)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(sp.Scenario) {
				t.Fatalf("override not applied: %+v", sp.Scenario)
			}
		})
	}
	for _, bad := range []struct{ set, want string }{
		{"client.pool.size=0x", "t.yaml (--set client.pool.size=0x): client.pool.size"},
		{"client.pool.size=-1", "t.yaml (--set client.pool.size=-1): client.pool.size"},
		{"client.pool.sise=2", "client.pool.sise: unknown field"},
		{"nonsense", "want path=value"},
		{"mix[5].weight=1", "mix: has 1 items, no [5]"},
	} {
		_, err := Parse("t.yaml", []byte(base), bad.set)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("--set %s: %v; want %q", bad.set, err, bad.want)
		}
	}
}

// BadScenarios is the catalogue of mistakes a scenario can hold; each must
// be reported with file, line and field. cmd/grpcbench checks that each
// exits 2.
var BadScenarios = []struct{ Name, Src, Want string }{
	{"unknown top-level field", base + "tresholds: {}\n", "t.yaml:11: tresholds: unknown field"},
	{"unknown nested field", strings.Replace(base, "size: 2", "sise: 2", 1), "t.yaml:9: client.pool.sise: unknown field"},
	{"wrong type", strings.Replace(base, "rate: 100", "rate: fast", 1), "t.yaml:5: load.rate:"},
	{"max_attempts zero is default, negative is wrong", strings.Replace(base, "max_attempts: 3", "max_attempts: -1", 1), "t.yaml:10: client.retry.max_attempts: must be at least 1"},
	{"negative rate", strings.Replace(base, "rate: 100", "rate: -5", 1), "t.yaml:5: load.rate: must be between 0"},
	{"duration without unit", strings.Replace(base, "duration: 1s", "duration: 10", 1), "t.yaml:5: load.duration"},
	{"unknown model", strings.Replace(base, "model: open", "model: ajar", 1), `t.yaml:5: load.model: must be open or closed, got "ajar"`},
	{"closed field in open model", strings.Replace(base, "rate: 100", "rate: 100, workers: 4", 1), "t.yaml:5: load.workers: belongs to the closed model"},
	{"unknown call", strings.Replace(base, "call: GetUser", "call: GetUsers", 1), `t.yaml:7: mix[0].call: unknown call "GetUsers"`},
	{"messages on unary", strings.Replace(base, "{call: GetUser}", "{call: GetUser, messages: 3}", 1), "t.yaml:7: mix[0].messages: GetUser is unary"},
	{"unknown pick", strings.Replace(base, "size: 2", "size: 2, pick: fastest", 1), "t.yaml:9: client.pool.pick"},
	{"unknown lb policy", base + "  lb: {policy: fastest}\n", "t.yaml:11: client.lb.policy"},
	{"grpclb rejected", base + "  lb: {policy: grpclb}\n", "t.yaml:11: client.lb.policy: grpclb is not supported"},
	{"unknown retry code", strings.Replace(base, "max_attempts: 3", "max_attempts: 3, codes: [UNAVAILBLE]", 1), `t.yaml:10: client.retry.codes[0]: unknown status code "UNAVAILBLE"`},
	{"breaker ratio above 1", base + "  breaker: {failure_ratio: 1.5}\n", "t.yaml:11: client.breaker.failure_ratio"},
	{"fault rate above 1", strings.Replace(base, "backends: 2", "backends: 2\n  faults:\n    - {error: {code: UNAVAILABLE, rate: 1.2}}", 1), "t.yaml:6: server.faults[0].error.rate: must be between 0 and 1"},
	{"fault on missing backend", strings.Replace(base, "backends: 2", "backends: 2\n  faults:\n    - {backend: 5, stall: {}}", 1), "t.yaml:6: server.faults[0].backend[0]: backend 5 does not exist"},
	{"non-loopback target", strings.Replace(base, "backends: 2", "target: 10.0.0.1:50051", 1), `t.yaml:4: server.target: "10.0.0.1:50051" is not a loopback address`},
	{"matrix unknown path", base + "matrix:\n  client.pool.sise: [1, 2]\n", "t.yaml:12: client.pool.sise: unknown field"},
	{"matrix bad value", base + "matrix:\n  client.pool.size: [1, -2]\n", "t.yaml:12: client.pool.size: must be"},
	{"matrix not a list", base + "matrix:\n  client.pool.size: 4\n", "t.yaml:12: matrix: client.pool.size: expected a list"},
	{"repeat zero", base + "repeat: -1\n", "t.yaml:11: repeat: must be between 1 and 100"},
	{"stages and rate", strings.Replace(base, "rate: 100, duration: 1s", "rate: 100, stages: [{duration: 1s, rate: 5}]", 1), "t.yaml:5: load.rate: give rate or stages, not both"},
	{"negative payload", base + "payload: {request_bytes: -1}\n", "t.yaml:11: payload.request_bytes"},
	{"bad compression", base + "  compression: brotli\n", "t.yaml:11: client.compression"},
	{"syntax error", base + "  pool: [\n", "t.yaml:"},
	{"not a mapping", "- 1\n- 2\n", "t.yaml:1: a scenario must be a mapping"},
	{"duplicate key", base + "seed: 2\n", "t.yaml:11: seed: given twice"},
}

func TestBadScenariosNameFileLineField(t *testing.T) {
	if len(BadScenarios) < 20 {
		t.Fatalf("catalogue has %d cases, want at least 20", len(BadScenarios))
	}
	for _, tt := range BadScenarios {
		t.Run(tt.Name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.Src))
			if err == nil {
				t.Fatalf("accepted; want %q", tt.Want)
			}
			if !strings.Contains(err.Error(), tt.Want) {
				t.Fatalf("error:\n%v\nwant it to contain %q", err, tt.Want)
			}
		})
	}
}

func TestExampleIsValid(t *testing.T) {
	sp, err := Parse("example.yaml", []byte(Example("example")))
	if err != nil {
		t.Fatal(err)
	}
	if cells, err := sp.Expand(); err != nil || len(cells) != 4 {
		t.Fatalf("%d cells, %v", len(cells), err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(base + "matrix:\n  client.pool.size: [1, 2]\n"))
	f.Add([]byte(Example("x")))
	f.Fuzz(func(t *testing.T, data []byte) {
		sp, err := Parse("f.yaml", data, "load.duration=1s")
		if err != nil {
			return
		}
		cells, err := sp.Expand()
		if err != nil {
			t.Fatalf("Parse accepted what Expand rejects: %v", err)
		}
		for _, c := range cells {
			if err := c.Scenario.Validate(); err != nil {
				t.Fatalf("cell %s invalid: %v", c.ID, err)
			}
		}
	})
}
