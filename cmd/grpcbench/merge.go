package main

import (
	"context"
	"fmt"

	"github.com/grpcbench/grpcbench/results"
)

func runMerge(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "merge", "SHARD.json SHARD.json... -o results.json",
		"Merge results files from several load generators running the same scenario: cells with\nthe same ID have their histograms added and counters summed (percentiles are never averaged).")
	out := fs.StringP("output", "o", "", "merged results file (required; written atomically)")
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
	m, err := results.Merge(runs...)
	if err != nil {
		return usageErrorf("merge: %w", err)
	}
	if err := writeResults(ctx, *out, m); err != nil { // output.go: atomic, exit 3
		return err
	}
	fmt.Fprintf(e.stdout, "merged %d files, %d cells: %s\n", len(runs), len(m.Cells), *out)
	return nil
}
