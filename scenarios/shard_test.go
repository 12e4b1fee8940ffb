package scenarios

import (
	"context"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, src string, sets ...string) *Spec {
	t.Helper()
	sp, err := Parse(context.Background(), "t.yaml", []byte(src), sets...)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		in   string
		want Shard
		err  string
	}{
		{"0/4", Shard{0, 4}, ""},
		{"3/4", Shard{3, 4}, ""},
		{" 1 / 2 ", Shard{1, 2}, ""},
		{"0/1", Shard{0, 1}, ""},
		{"4/4", Shard{}, "index: must be between 0 and count−1 = 3, got 4"},
		{"-1/2", Shard{}, "index"},
		{"0/0", Shard{}, "count: must be between 1 and 1000"},
		{"0/1001", Shard{}, "count"},
		{"a/b", Shard{}, "whole numbers"},
		{"1", Shard{}, "want INDEX/COUNT"},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseShard(%q) error %v, want %q", tt.in, err, tt.err)
		}
	}
}

func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/4", "3/4", "4/4", "-1/2", "a/b", "1", "0/1000", " 1 / 2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err != nil {
			return
		}
		if sh.Index < 0 || sh.Index >= sh.Count || sh.Count > MaxShards {
			t.Fatalf("ParseShard(%q) = %v accepted", s, sh)
		}
		if back, err := ParseShard(sh.String()); err != nil || back != sh {
			t.Fatalf("round trip of %v: %v, %v", sh, back, err)
		}
	})
}

// shardsOf returns every shard's scenario of the first cell of src.
func shardsOf(t *testing.T, src string, n int) []*Scenario {
	t.Helper()
	s := mustParse(t, src).Scenario
	out := make([]*Scenario, n)
	for i := range n {
		sh, err := s.Sharded(Shard{i, n})
		if err != nil {
			t.Fatalf("shard %d/%d: %v", i, n, err)
		}
		out[i] = sh
	}
	return out
}

func TestShardedSplitsExactly(t *testing.T) {
	tests := []struct {
		name string
		src  string
		n    int
		// per shard: rate, max_inflight, workers, max_calls
		rate     []float64
		inflight []int
		workers  []int
		calls    []int64
	}{
		{"open: rate and max_inflight; default max_calls from each schedule",
			"load: {rate: 900, max_inflight: 64, duration: 2s}\n", 3,
			[]float64{300, 300, 300}, []int{22, 21, 21}, []int{0, 0, 0}, []int64{601, 601, 601}},
		{"open: a given max_calls is split",
			"load: {rate: 1000, max_inflight: 8, duration: 1s, max_calls: 10}\n", 4,
			[]float64{250, 250, 250, 250}, []int{2, 2, 2, 2}, []int{0, 0, 0, 0}, []int64{3, 3, 2, 2}},
		{"closed: workers and max_calls",
			"load: {model: closed, workers: 8, duration: 1s, max_calls: 100}\n", 3,
			nil, []int{0, 0, 0}, []int{3, 3, 2}, []int64{34, 33, 33}},
		{"closed: the default max_calls is split",
			"load: {model: closed, workers: 5, duration: 1s}\n", 2,
			nil, []int{0, 0}, []int{3, 2}, []int64{5_000_000, 5_000_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := mustParse(t, tt.src).Scenario
			shards := shardsOf(t, tt.src, tt.n)
			var rate float64
			var inflight, workers int
			var calls int64
			for i, s := range shards {
				l := s.Load
				if tt.rate != nil && l.Rate != tt.rate[i] {
					t.Errorf("shard %d rate %g, want %g", i, l.Rate, tt.rate[i])
				}
				if l.MaxInflight != tt.inflight[i] && l.Model == ModelOpen || l.Workers != tt.workers[i] || l.MaxCalls != tt.calls[i] {
					t.Errorf("shard %d: max_inflight %d workers %d max_calls %d; want %d %d %d",
						i, l.MaxInflight, l.Workers, l.MaxCalls, tt.inflight[i], tt.workers[i], tt.calls[i])
				}
				if err := s.Validate(); err != nil {
					t.Errorf("shard %d does not validate: %v", i, err)
				}
				rate += l.Rate
				inflight += l.MaxInflight
				workers += l.Workers
				calls += l.MaxCalls
			}
			if b := base.Load; rate != b.Rate || (b.Model == ModelOpen && inflight != b.MaxInflight) || workers != b.Workers {
				t.Errorf("totals rate %g max_inflight %d workers %d, base %g %d %d", rate, inflight, workers, b.Rate, b.MaxInflight, b.Workers)
			}
			if tt.name != "open: rate and max_inflight; default max_calls from each schedule" && calls != base.Load.MaxCalls {
				t.Errorf("max_calls add up to %d, base %d", calls, base.Load.MaxCalls)
			}
		})
	}
}

func TestShardedSplitIsExactForAnyCount(t *testing.T) {
	for total := int64(1); total <= 40; total++ {
		for n := 1; n <= int(total); n++ {
			var sum int64
			for i := range n {
				p := splitCount(total, Shard{i, n})
				if p < 1 || p > total/int64(n)+1 {
					t.Fatalf("split(%d, %d/%d) = %d", total, i, n, p)
				}
				sum += p
			}
			if sum != total {
				t.Fatalf("%d over %d shards adds up to %d", total, n, sum)
			}
		}
	}
}

func TestShardedStagesAndSeeds(t *testing.T) {
	src := "seed: 7\nload: {stages: [{duration: 1s, rate: 300}, {duration: 1s, rate: 600, ramp: true}]}\n"
	base := mustParse(t, src).Scenario
	shards := shardsOf(t, src, 3)
	seeds := map[int64]bool{base.Seed: true}
	for i, s := range shards {
		if s.Load.Stages[0].Rate != 100 || s.Load.Stages[1].Rate != 200 || !s.Load.Stages[1].Ramp {
			t.Errorf("shard %d stages %+v", i, s.Load.Stages)
		}
		if seeds[s.Seed] || s.Server.Seed != s.Seed {
			t.Errorf("shard %d seed %d server seed %d: want a new seed, shared by its fake server", i, s.Seed, s.Server.Seed)
		}
		seeds[s.Seed] = true
		again, _ := base.Sharded(Shard{i, 3})
		if again.Seed != s.Seed {
			t.Errorf("shard %d seed not deterministic", i)
		}
	}
	if base.Load.Stages[0].Rate != 300 || base.Seed != 7 {
		t.Fatalf("the base scenario was modified: %+v", base.Load)
	}
	one, err := base.Sharded(Shard{0, 1})
	if err != nil || one != base {
		t.Fatalf("shard 0/1 = %p, %v; want the scenario itself", one, err)
	}
	ext := mustParse(t, "seed: 7\nserver: {target: 127.0.0.1:1}\n").Scenario
	if sh, _ := ext.Sharded(Shard{1, 2}); sh.Server.Seed != 0 || sh.Seed == 7 {
		t.Fatalf("external target: seed %d server seed %d", sh.Seed, sh.Server.Seed)
	}
}

func TestShardedRefusesWhatCannotBeSplit(t *testing.T) {
	tests := []struct{ src, want string }{
		{"load: {model: closed, workers: 2}\n", "load.workers: 2 cannot be split over 3 shards"},
		{"load: {max_inflight: 2}\n", "load.max_inflight: 2 cannot be split over 3 shards"},
		{"load: {rate: 10, max_calls: 2}\n", "load.max_calls: 2 cannot be split"},
	}
	for _, tt := range tests {
		_, err := mustParse(t, tt.src).Scenario.Sharded(Shard{0, 3})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.src, err, tt.want)
		}
	}
	sp := mustParse(t, "load: {model: closed, workers: 4}\nmatrix: {load.workers: [4, 2]}\n")
	cells, _ := sp.Expand()
	if _, err := ShardCells(cells, Shard{1, 3}); err == nil || !strings.Contains(err.Error(), "cell load.workers=2#1: shard 1/3: load.workers") {
		t.Fatalf("ShardCells: %v", err)
	}
	if _, err := mustParse(t, "mix: [{call: GetUser}]\n").Scenario.Sharded(Shard{3, 3}); err == nil || !strings.Contains(err.Error(), "shard.index") {
		t.Fatalf("shard 3/3: %v", err)
	}
}

func TestScenarioHash(t *testing.T) {
	a := mustParse(t, "# a comment\nload: {rate: 50}\nmix: [{call: GetUser}]\nmatrix: {client.pool.size: [1, 2]}\n")
	b := mustParse(t, "mix:\n  - call: GetUser   # same, other layout\nload:\n  rate: 50\nmatrix:\n  client.pool.size: [1, 2]\n")
	c := mustParse(t, "load: {rate: 50}\nmix: [{call: GetUser}]\nmatrix: {client.pool.size: [1, 2]}\n", "load.rate=60")
	ha := a.Scenario.Hash()
	if !strings.HasPrefix(ha, "sha256:") || len(ha) != len("sha256:")+64 {
		t.Fatalf("hash %q", ha)
	}
	if hb := b.Scenario.Hash(); hb != ha {
		t.Errorf("same scenario, other layout: %s vs %s", hb, ha)
	}
	if hc := c.Scenario.Hash(); hc == ha {
		t.Errorf("--set load.rate=60 kept the hash")
	}
	cells, _ := a.Expand()
	if _, err := ShardCells(cells, Shard{1, 2}); err != nil || a.Scenario.Hash() != ha {
		t.Errorf("sharding changed the base hash (%v)", err)
	}
}

func TestCellStarts(t *testing.T) {
	sp := mustParse(t, "load: {duration: 3s, warmup: 1s}\nmatrix: {load.duration: [3s, 5s]}\nrepeat: 2\n")
	cells, _ := sp.Expand()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	got := cellStarts(start, cells, 2*time.Second)
	// Cells: 3s, 5s, 3s, 5s (+1s warm-up each, +2s gap).
	want := []time.Duration{0, 6 * time.Second, 14 * time.Second, 20 * time.Second}
	if len(got) != len(want) {
		t.Fatalf("%d starts", len(got))
	}
	for i := range want {
		if d := got[i].Sub(start); d != want[i] {
			t.Errorf("cell %d starts at +%v, want +%v", i, d, want[i])
		}
	}
	if cellStarts(time.Time{}, cells, time.Second) != nil {
		t.Error("no start: want no schedule")
	}
}
