package scenarios

import (
	"context"
	"os"
	"path/filepath"
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
	sp, err := Parse(context.Background(), "t.yaml", []byte("mix: [{call: ListUsers}]\n"))
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
			sp, err := Parse(context.Background(), "t.yaml", []byte(src))
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
	sp, err := Parse(context.Background(), "t.yaml", []byte(base+"matrix:\n  client.pool.size: [1, 4]\n  client.retry.policy: [linear, fixed]\n"))
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
			sp, err := Parse(context.Background(), "t.yaml", []byte(base), tt.sets...)
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
		_, err := Parse(context.Background(), "t.yaml", []byte(base), bad.set)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("--set %s: %v; want %q", bad.set, err, bad.want)
		}
	}
}

// badScenarios reads the catalogue of mistakes a scenario can hold
// (testdata/bad): each file says in its second line, "# want: FILE:line:
// field: message", how it must be reported. cmd/grpcbench checks that each
// also exits 2.
func badScenarios(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(data), "\n", 3)
		want, ok := strings.CutPrefix(lines[1], "# want: ")
		if !ok {
			t.Fatalf("%s: second line must be '# want: ...'", f)
		}
		out[f] = strings.ReplaceAll(want, "FILE", f)
	}
	return out
}

func TestBadScenariosNameFileLineField(t *testing.T) {
	cases := badScenarios(t)
	if len(cases) < 20 {
		t.Fatalf("catalogue has %d cases, want at least 20", len(cases))
	}
	for file, want := range cases {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := LoadFile(context.Background(), file)
			if err == nil {
				t.Fatalf("accepted; want %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error:\n%v\nwant it to contain %q", err, want)
			}
		})
	}
}

func TestExampleIsValid(t *testing.T) {
	sp, err := Parse(context.Background(), "example.yaml", []byte(Example("example")))
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
		sp, err := Parse(context.Background(), "f.yaml", data, "load.duration=1s")
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

func TestRepeatsGetTheirOwnSeed(t *testing.T) {
	sp, err := Parse(context.Background(), "t.yaml", []byte(base+"matrix:\n  client.pool.size: [1, 2]\nrepeat: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	cells, err := sp.Expand()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if want := int64(1 + c.Repeat); c.Scenario.Seed != want || c.Scenario.Server.Seed != want {
			t.Errorf("%s: seed %d, server seed %d; want %d", c.ID, c.Scenario.Seed, c.Scenario.Server.Seed, want)
		}
	}
}

// A field error names the most specific --set that covers the field,
// every time (the overrides are kept in a map).
func TestSetErrorNamesMostSpecificSet(t *testing.T) {
	for range 20 {
		_, err := Parse(context.Background(), "command line", []byte("name: x\n"), `mix=[{call: GetUser}]`, `mix[0].data={"user": 1}`)
		if err == nil || !strings.Contains(err.Error(), `(--set mix[0].data={"user": 1}): mix[0].data.user`) {
			t.Fatalf("error %v: want it to name the --set of mix[0].data", err)
		}
	}
}
