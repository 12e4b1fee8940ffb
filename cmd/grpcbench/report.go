package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

// runReport implements `grpcbench report RESULTS.json [MORE.json...] -o DIR`:
// it renders one or more results files (overlaid, e.g. baseline and new)
// into DIR/index.html and one PNG per chart.
func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "report", "RESULTS.json [MORE.json...] -o DIR",
		"Render results files into DIR/index.html (a single offline page) and one PNG per chart.\n"+
			"Several files are overlaid, each cell labelled by its run.")
	out := fs.StringP("output", "o", "", "directory to write index.html and the PNG charts into (required)")
	title := fs.String("title", "", "page title (default: grpcbench and the run labels)")
	labels := fs.StringSlice("label", nil, "label of each results file, in order (default: the scenario name, or the file name when several files share it)")
	width := fs.Int("width", report.DefaultWidth, "chart width in pixels")
	maxLines := fs.Int("max-lines", report.DefaultMaxLines, "cells drawn in the percentile spectrum (the best and worst by p99)")
	maxPanels := fs.Int("max-panels", report.DefaultMaxPanels, "cells drawn over time (the best and worst by p99)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return usageErrorf("report: no results file given (see grpcbench report --help)")
	}
	if *out == "" {
		return usageErrorf("report: -o DIR is required")
	}
	if len(*labels) > len(files) {
		return usageErrorf("report: %d labels for %d results files", len(*labels), len(files))
	}
	opts := report.Options{Title: *title, Width: *width, MaxLines: *maxLines, MaxPanels: *maxPanels}
	if err := opts.Validate(); err != nil {
		return usageErrorf("report: %w", err)
	}
	if err := checkOutputs(dirOutput("-o", *out)); err != nil { // output.go
		return err
	}
	runs := make([]*results.Run, 0, len(files))
	for _, f := range files {
		r, err := results.ReadFile(f)
		if err != nil {
			// ReadFile's errors name the file.
			return usageErrorf("report: %w", err)
		}
		runs = append(runs, r)
	}
	opts.RunLabels = reportRunLabels(files, runs, *labels)
	if err := writeReportDir(ctx, *out, runs, opts); err != nil { // output.go: atomic report.Write
		return failure(err)
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", filepath.Join(*out, report.IndexFile))
	return nil
}

// reportRunLabels returns the label of each run: the --label value when given,
// else the scenario name, or the file name (without .json) when several
// runs share a scenario name.
func reportRunLabels(files []string, runs []*results.Run, given []string) []string {
	names := map[string]int{}
	for _, r := range runs {
		names[r.Name]++
	}
	out := make([]string, len(runs))
	for i, r := range runs {
		switch {
		case i < len(given) && given[i] != "":
			out[i] = given[i]
		case names[r.Name] > 1 || r.Name == "":
			out[i] = strings.TrimSuffix(filepath.Base(files[i]), ".json")
		default:
			out[i] = r.Name
		}
	}
	return out
}
