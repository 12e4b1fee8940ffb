package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/grpcbench/grpcbench/results"
)

func runMerge(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "merge", "SHARD.json SHARD.json... -o results.json",
		"Merge results files from several load generators running the same scenario: cells with\nthe same ID have their histograms added and counters summed (percentiles are never averaged).\nShards of a sharded run (run --shard I/N) must all be there, from one scenario (same\nscenario_hash and shard count, distinct indexes); unsharded results merge by cell ID.")
	out := fs.StringP("output", "o", "", "merged results file (required; written atomically)")
	allowMissing := fs.Bool("allow-missing", false, "merge the shards given even if some of the N are missing (the result is marked partial)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("merge: -o is required")
	}
	if fs.NArg() < 2 {
		return usageErrorf("merge: want at least two results files, got %d", fs.NArg())
	}
	if err := checkOutputs(fileOutput("-o", *out)); err != nil { // output.go
		return err
	}
	runs := make([]*results.Run, fs.NArg())
	for i, f := range fs.Args() {
		r, err := results.ReadFile(f)
		if err != nil {
			return usageErrorf("merge: %w", err) // ReadFile's errors name the file
		}
		runs[i] = r
	}
	m, err := results.MergeWith(results.MergeOptions{AllowMissing: *allowMissing}, runs...)
	var ie *results.InputError
	switch {
	case errors.As(err, &ie) && ie.Index < fs.NArg():
		return usageErrorf("merge: %s: %w", fs.Arg(ie.Index), ie.Err)
	case err != nil:
		return usageErrorf("merge: %w", err)
	}
	if err := writeResults(ctx, *out, m); err != nil { // output.go: atomic, exit 3
		return err
	}
	shards := ""
	if len(m.Shards) > 0 {
		shards = fmt.Sprintf(" (%d of %d shards)", len(m.Shards), m.Shards[0].Count)
	}
	fmt.Fprintf(e.stdout, "merged %d files%s, %d cells: %s\n", len(runs), shards, len(m.Cells), *out)
	return nil
}
