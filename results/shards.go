package results

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ShardInfo names one of Count load generators that ran one scenario at the
// same time, each with its part of the load; Index is 0-based.
type ShardInfo struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// String returns "I/N".
func (s ShardInfo) String() string { return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count) }

// MergeOptions tune [MergeWith].
type MergeOptions struct {
	// AllowMissing merges the shards given even when some indexes of the
	// sharded run are absent (a load generator failed); the result is then
	// marked partial and lists the shards it has.
	AllowMissing bool
}

// InputError is a merge error caused by one input run.
type InputError struct {
	// Index is the input's position among the runs passed to Merge.
	Index int
	Err   error
}

// Error implements error.
func (e *InputError) Error() string {
	return fmt.Sprintf("results: merge: input %d %v", e.Index, e.Err)
}

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

// checkShards checks that the runs are either all unsharded or all distinct
// shards of one sharded run, and returns the shards sorted by index (nil for
// unsharded runs).
func checkShards(runs []*Run, opts MergeOptions) ([]ShardInfo, error) {
	sharded := slices.IndexFunc(runs, func(r *Run) bool { return r.Shard != nil })
	if sharded < 0 {
		return nil, nil
	}
	if i := slices.IndexFunc(runs, func(r *Run) bool { return r.Shard == nil }); i >= 0 {
		return nil, &InputError{i, fmt.Errorf("is not a shard (no \"shard\" field) but input %d is shard %s: merge the shards of one sharded run, or unsharded runs", sharded, runs[sharded].Shard)}
	}
	first := runs[0]
	if first.ScenarioHash == "" {
		return nil, &InputError{0, errors.New("is a shard without a scenario_hash: cannot check that the shards ran one scenario")}
	}
	seen := map[int]int{}
	var out []ShardInfo
	for i, r := range runs {
		sh := *r.Shard
		switch {
		case r.ScenarioHash != first.ScenarioHash:
			return nil, &InputError{i, fmt.Errorf("is a shard of another scenario: scenario_hash %s, the first input has %s (same file and --set on every shard?)", orNone(r.ScenarioHash), first.ScenarioHash)}
		case sh.Count != first.Shard.Count:
			return nil, &InputError{i, fmt.Errorf("is shard %s, the first input is shard %s: the shard counts differ", sh, first.Shard)}
		case sh.Count < 1 || sh.Index < 0 || sh.Index >= sh.Count:
			return nil, &InputError{i, fmt.Errorf("has an impossible shard %s", sh)}
		}
		if j, dup := seen[sh.Index]; dup {
			return nil, &InputError{i, fmt.Errorf("is shard %s again (input %d is the same shard)", sh, j)}
		}
		seen[sh.Index] = i
		out = append(out, sh)
	}
	slices.SortFunc(out, func(a, b ShardInfo) int { return a.Index - b.Index })
	if n := first.Shard.Count; len(out) < n && !opts.AllowMissing {
		var missing []string
		for i := range n {
			if _, ok := seen[i]; !ok {
				missing = append(missing, strconv.Itoa(i))
			}
		}
		return nil, fmt.Errorf("results: merge: shards %s of %d are missing (merge every shard, or allow missing ones)", strings.Join(missing, ", "), n)
	}
	return out, nil
}

// sameHash returns the runs' common ScenarioHash, or "" when they differ.
func sameHash(runs []*Run) string {
	h := runs[0].ScenarioHash
	for _, r := range runs[1:] {
		if r.ScenarioHash != h {
			return ""
		}
	}
	return h
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
