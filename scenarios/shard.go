package scenarios

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/results"
)

// MaxShards bounds the number of load generators of one sharded run.
const MaxShards = 1000

// DefaultCellGap is the time reserved between two cells of a run with a
// common start (Options.StartAt) for the next cell's setup: starting its
// fake server, dialing, and the previous cell's last calls and results.
const DefaultCellGap = 2 * time.Second

// Shard names one of Count load generators running the same scenario at
// the same time: Index is 0-based. The zero value (Count 0) and Count 1 mean
// "not sharded".
type Shard struct {
	Index, Count int
}

// ParseShard parses "I/N" (0 ≤ I < N ≤ MaxShards), e.g. "2/4".
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want INDEX/COUNT, e.g. 0/4", s)
	}
	idx, err1 := strconv.Atoi(strings.TrimSpace(i))
	cnt, err2 := strconv.Atoi(strings.TrimSpace(n))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want INDEX/COUNT with whole numbers, e.g. 0/4", s)
	}
	sh := Shard{Index: idx, Count: cnt}
	if err := sh.validate(); err != nil {
		return Shard{}, fmt.Errorf("shard %q: %w", s, err)
	}
	return sh, nil
}

// String returns "I/N".
func (sh Shard) String() string { return strconv.Itoa(sh.Index) + "/" + strconv.Itoa(sh.Count) }

// Sharded reports whether sh splits the load (Count > 1).
func (sh Shard) Sharded() bool { return sh.Count > 1 }

// Validate checks 1 ≤ Count ≤ MaxShards and 0 ≤ Index < Count; the zero
// value is valid (not sharded).
func (sh Shard) Validate() error {
	if sh == (Shard{}) {
		return nil
	}
	return sh.validate()
}

func (sh Shard) validate() error {
	var errs []error
	if sh.Count < 1 || sh.Count > MaxShards {
		errs = append(errs, field.Errorf("count", "must be between 1 and %d, got %d", MaxShards, sh.Count))
	}
	if sh.Index < 0 || (sh.Count >= 1 && sh.Index >= sh.Count) {
		errs = append(errs, field.Errorf("index", "must be between 0 and count−1 = %d, got %d", sh.Count-1, sh.Index))
	}
	return errors.Join(errs...)
}

// Sharded returns the part of s that shard sh runs, so that sh.Count
// shards running at the same time offer the load of s:
//
//   - open model: the rate and every stage's rate are divided by Count;
//   - closed model: Workers is split;
//   - MaxInflight and MaxCalls are split.
//
// A count C split over N shards gives shard I ⌊C/N⌋ + (1 if I < C mod N),
// so the shards' values add up to C exactly. A MaxCalls equal to the open
// model's default (the schedule's arrivals + 1) is derived again from the
// shard's own schedule instead: a split of it would cut the schedule of
// the shards that release an arrival at the very start. Seed (and the
// embedded fake server's seed) become a mix of (seed, Index), so shards are
// independent samples. Count 1 (or 0) returns s unchanged.
//
// It fails when a count is smaller than the number of shards (a shard
// would get no workers). s is not modified; the result shares the slices it
// does not change with s.
func (s *Scenario) Sharded(sh Shard) (*Scenario, error) {
	if err := sh.Validate(); err != nil {
		return nil, field.Prefix("shard", err)
	}
	if !sh.Sharded() {
		return s, nil
	}
	out := *s
	l := &out.Load
	var errs []error
	split := func(path string, total int64) int64 {
		if total < int64(sh.Count) {
			errs = append(errs, field.Errorf(path, "%d cannot be split over %d shards (each needs at least 1)", total, sh.Count))
			return total
		}
		return splitCount(total, sh)
	}
	n := float64(sh.Count)
	defaultCalls := l.Model == ModelOpen && l.MaxCalls == s.defaultMaxCalls()
	switch l.Model {
	case ModelOpen:
		l.Rate /= n
		l.Stages = slices.Clone(l.Stages)
		for i := range l.Stages {
			l.Stages[i].Rate /= n
		}
		l.MaxInflight = int(split("load.max_inflight", int64(l.MaxInflight)))
	case ModelClosed:
		l.Workers = int(split("load.workers", int64(l.Workers)))
	}
	if defaultCalls {
		l.MaxCalls = out.defaultMaxCalls()
	} else {
		l.MaxCalls = split("load.max_calls", l.MaxCalls)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out.Seed = shardSeed(s.Seed, sh.Index)
	if s.Server.Target.IsZero() {
		out.Server.Seed = shardSeed(s.Server.Seed, sh.Index)
	}
	return &out, nil
}

// splitCount is shard sh's part of total: ⌊total/N⌋, plus one for the
// first total mod N shards.
func splitCount(total int64, sh Shard) int64 {
	n := int64(sh.Count)
	part := total / n
	if int64(sh.Index) < total%n {
		part++
	}
	return part
}

// defaultMaxCalls is the max_calls Load fills in when none is given: the
// open model's scheduled arrivals + 1, or 10 million for the closed model.
func (s *Scenario) defaultMaxCalls() int64 {
	if s.Load.Model == ModelOpen {
		return newSchedule(s.Load).MaxCalls()
	}
	return 10_000_000
}

// shardSeed mixes a seed with a shard index (SplitMix64's finalizer over
// seed + φ·(index+1)): nearby seeds and indexes give unrelated streams.
func shardSeed(seed int64, index int) int64 {
	z := uint64(seed) + 0x9e3779b97f4a7c15*uint64(index+1)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return int64(z ^ (z >> 31))
}

// ShardCells returns the cells shard sh runs: each cell's scenario made
// Sharded. The cells are new values; cells is not modified. Not sharded
// returns cells itself. An error names the first cell that cannot be split.
func ShardCells(cells []*Cell, sh Shard) ([]*Cell, error) {
	if !sh.Sharded() {
		return cells, sh.Validate()
	}
	out := make([]*Cell, len(cells))
	for i, c := range cells {
		s, err := c.Scenario.Sharded(sh)
		if err != nil {
			return nil, fmt.Errorf("cell %s: shard %s: %w", c.ID, sh, err)
		}
		cc := *c
		cc.Scenario = s
		out[i] = &cc
	}
	return out, nil
}

// Hash identifies the resolved scenario: "sha256:" and the hex SHA-256 of
// the canonical JSON of [Scenario.Resolved] (object keys sorted, no
// comments or positions). Two runs of the same file with the same
// overrides have the same hash; shards are checked against it when merged.
func (s *Scenario) Hash() string {
	b, err := json.Marshal(s.Resolved())
	if err != nil {
		// A tree with non-string keys cannot be JSON; its Go rendering
		// with sorted map keys is still canonical.
		b = fmt.Appendf(nil, "%#v", s.Resolved())
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// cellStarts returns when each cell starts on a common schedule beginning
// at start: cell k starts at start + Σ_{j<k} (warmup_j + duration_j + gap).
// Every shard computes the same schedule from the same start, so their
// cells (and fault windows, and per-second series) line up. A zero start
// returns nil (no schedule).
func cellStarts(start time.Time, cells []*Cell, gap time.Duration) []time.Time {
	if start.IsZero() {
		return nil
	}
	out := make([]time.Time, len(cells))
	at := start
	for i, c := range cells {
		out[i] = at
		at = at.Add(c.Scenario.Load.Warmup + c.Scenario.Load.Duration + gap)
	}
	return out
}

// waitUntil waits until t (a zero t: not at all) and reports false when ctx
// ended first.
func waitUntil(ctx context.Context, t time.Time) bool {
	if t.IsZero() {
		return ctx.Err() == nil
	}
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// shardInfo is the results' record of sh (nil when not sharded).
func shardInfo(sh Shard) *results.ShardInfo {
	if !sh.Sharded() {
		return nil
	}
	return &results.ShardInfo{Index: sh.Index, Count: sh.Count}
}
