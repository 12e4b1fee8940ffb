package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/grpcbench/grpcbench/results"
)

func runMerge(_ context.Context, e *env, args []string) error {
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
	runs := make([]*results.Run, fs.NArg())
	for i, f := range fs.Args() {
		r, err := results.ReadFile(f)
		if err != nil {
			return usageErrorf("merge: %s: %w", f, err)
		}
		runs[i] = r
	}
	m, err := results.Merge(runs...)
	if err != nil {
		return usageErrorf("merge: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return failure(err)
	}
	if err := results.WriteFile(*out, m); err != nil {
		return failure(err)
	}
	fmt.Fprintf(e.stdout, "merged %d files, %d cells: %s\n", len(runs), len(m.Cells), *out)
	return nil
}
