package results_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// shardRun is shard i/n of scenario hash h with one cell of calls calls.
func shardRun(h string, i, n int, calls int64) *results.Run {
	start := time.Unix(1000, 0)
	r := results.NewRecorder([]string{"GetUser"}, start)
	s := r.Shard()
	for k := range calls {
		s.Call(0, 0, time.Millisecond, time.Millisecond, time.Duration(k)*time.Second/time.Duration(calls))
	}
	c := r.Cell()
	c.ID, c.Duration = "base#1", time.Second
	c.Load = results.Load{Model: results.ModelOpen, TargetRate: 100 / float64(n), AchievedRate: float64(calls), Completed: calls}
	run := &results.Run{Schema: results.Schema, Name: "s", ScenarioHash: h, Cells: []*results.Cell{c}}
	if n > 0 {
		run.Shard = &results.ShardInfo{Index: i, Count: n}
	}
	return run
}

func TestMergeShardsChecks(t *testing.T) {
	tests := []struct {
		name      string
		runs      []*results.Run
		opts      results.MergeOptions
		wantInput int // -1: an error naming no input; -2: no error
		want      string
	}{
		{"all shards", []*results.Run{shardRun("h", 2, 3, 1), shardRun("h", 0, 3, 2), shardRun("h", 1, 3, 3)}, results.MergeOptions{}, -2, ""},
		{"unsharded runs merge as before", []*results.Run{shardRun("h", 0, 0, 1), shardRun("g", 0, 0, 2)}, results.MergeOptions{}, -2, ""},
		{"another scenario", []*results.Run{shardRun("h", 0, 2, 1), shardRun("g", 1, 2, 1)}, results.MergeOptions{}, 1, "another scenario"},
		{"shard and unsharded", []*results.Run{shardRun("h", 0, 2, 1), shardRun("h", 0, 0, 1)}, results.MergeOptions{}, 1, "is not a shard"},
		{"unsharded first", []*results.Run{shardRun("h", 0, 0, 1), shardRun("h", 0, 2, 1)}, results.MergeOptions{}, 0, "is not a shard"},
		{"same index twice", []*results.Run{shardRun("h", 0, 2, 1), shardRun("h", 0, 2, 1)}, results.MergeOptions{}, 1, "shard 0/2 again"},
		{"counts differ", []*results.Run{shardRun("h", 0, 2, 1), shardRun("h", 1, 3, 1)}, results.MergeOptions{}, 1, "counts differ"},
		{"index out of range", []*results.Run{shardRun("h", 0, 2, 1), shardRun("h", 2, 2, 1)}, results.MergeOptions{}, 1, "impossible shard 2/2"},
		{"no hash", []*results.Run{shardRun("", 0, 2, 1), shardRun("", 1, 2, 1)}, results.MergeOptions{}, 0, "without a scenario_hash"},
		{"missing", []*results.Run{shardRun("h", 0, 4, 1), shardRun("h", 2, 4, 1)}, results.MergeOptions{}, -1, "shards 1, 3 of 4 are missing"},
		{"missing allowed", []*results.Run{shardRun("h", 0, 4, 1), shardRun("h", 2, 4, 1)}, results.MergeOptions{AllowMissing: true}, -2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := results.MergeWith(tt.opts, tt.runs...)
			if tt.wantInput == -2 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ie *results.InputError
			isInput := errors.As(err, &ie)
			switch {
			case err == nil:
				t.Fatalf("merged %+v, want an error", m)
			case !strings.Contains(err.Error(), tt.want):
				t.Fatalf("err = %v, want %q", err, tt.want)
			case tt.wantInput == -1 && isInput:
				t.Fatalf("err = %v names input %d", err, ie.Index)
			case tt.wantInput >= 0 && (!isInput || ie.Index != tt.wantInput):
				t.Fatalf("err = %v, want an InputError for input %d", err, tt.wantInput)
			}
		})
	}
}

// Merged shards sum their counts and rates, record which shards they are,
// and survive the file round trip; a merge with missing shards says so.
func TestMergeShardsRecordsShards(t *testing.T) {
	m, err := results.Merge(shardRun("h", 1, 2, 30), shardRun("h", 0, 2, 20))
	if err != nil {
		t.Fatal(err)
	}
	c := m.Cells[0]
	if m.Partial || m.Shard != nil || m.ScenarioHash != "h" || len(m.Shards) != 2 || m.Shards[0].Index != 0 || m.Shards[1] != (results.ShardInfo{Index: 1, Count: 2}) {
		t.Fatalf("merged run: partial %v shard %v hash %q shards %v", m.Partial, m.Shard, m.ScenarioHash, m.Shards)
	}
	if c.Load.Completed != 50 || c.Load.AchievedRate != 50 || c.Load.TargetRate != 100 || c.All.Latency.Count() != 50 {
		t.Fatalf("merged load %+v, latency count %d", c.Load, c.All.Latency.Count())
	}
	var buf bytes.Buffer
	if err := results.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	back, err := results.Decode(&buf)
	if err != nil || len(back.Shards) != 2 || back.ScenarioHash != "h" {
		t.Fatalf("round trip: %v %+v", err, back)
	}

	part, err := results.MergeWith(results.MergeOptions{AllowMissing: true}, shardRun("h", 2, 3, 5), shardRun("h", 0, 3, 5))
	if err != nil {
		t.Fatal(err)
	}
	if !part.Partial || len(part.Shards) != 2 || part.Shards[1].Index != 2 {
		t.Fatalf("missing shard 1/3: partial %v shards %v", part.Partial, part.Shards)
	}
}

func TestDecodeRejectsImpossibleShard(t *testing.T) {
	r := shardRun("h", 0, 2, 1)
	r.Shard.Index = 5
	var buf bytes.Buffer
	if err := results.Encode(&buf, r); err != nil {
		t.Fatal(err)
	}
	if _, err := results.Decode(&buf); err == nil || !strings.Contains(err.Error(), "shard: index 5") {
		t.Fatalf("err = %v", err)
	}
}
