package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

const compareSummary = `Compare a results file with a baseline. Cells are joined by ID (repeats
grouped); for each cell and gate the table shows both medians, the delta, its
bootstrap 95% confidence interval, the Mann-Whitney p-value and a verdict.
With 3 or more repeats per side (4+ at alpha 0.05) a regression must be beyond
the gate and significant; with fewer, the gate applies to the medians alone and
the row says "low confidence". Cells missing on either side fail unless
--allow-missing. Exit 1 on any regression or missing cell.

Gates: metric[@Method]=[+|-]N% (relative) or =+N<unit> (absolute), e.g.
p99=+10%, attempt.p99@GetUser=+2ms, error_rate=+0.01, rps=-5%.
Default: p50=+10%, p99=+10%, error_rate=+0.01.`

// runCompare implements `grpcbench compare BASE.json NEW.json`.
func runCompare(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "compare", "BASE.json NEW.json [flags]", compareSummary)
	gateFlags := fs.StringArray("gate", nil, "regression gate metric[@Method]=+N% (repeatable; default p50=+10%, p99=+10%, error_rate=+0.01)")
	alpha := fs.Float64("alpha", gates.DefaultAlpha, "significance level of the Mann-Whitney test")
	junit := fs.String("junit", "", "also write JUnit XML (one test case per cell × gate) to this file")
	markdown := fs.String("markdown", "", "also write a Markdown report (PR comment, CI step summary) to this file")
	allowMissing := fs.Bool("allow-missing", false, "do not fail on cells present in only one file")
	reportDir := fs.String("report", "", "also write an HTML/PNG report of both runs overlaid, with the verdicts, into this directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErrorf("compare: want two results files, BASE.json and NEW.json; got %d arguments", fs.NArg())
	}
	if !(*alpha > 0 && *alpha < 1) {
		return usageErrorf("compare: --alpha must be between 0 and 1, got %g", *alpha)
	}
	opts := gates.CompareOptions{Alpha: *alpha, AllowMissing: *allowMissing}
	if len(*gateFlags) > 0 {
		gs, err := gates.ParseGates(*gateFlags)
		if err != nil {
			return usageErrorf("compare: --gate: %w", err)
		}
		opts.Gates = gs
	}
	if err := checkOutputs(fileOutput("--junit", *junit), fileOutput("--markdown", *markdown), dirOutput("--report", *reportDir)); err != nil { // output.go
		return err
	}
	if err := ctx.Err(); err != nil {
		return failure(err)
	}
	basePath, newPath := fs.Arg(0), fs.Arg(1)
	base, err := results.ReadFile(basePath)
	if err != nil {
		return usageErrorf("compare: base %w", err) // ReadFile's errors name the file
	}
	nw, err := results.ReadFile(newPath)
	if err != nil {
		return usageErrorf("compare: new %w", err)
	}

	c := gates.Compare(base, nw, opts)
	c.Base, c.New = basePath, newPath
	if len(c.Rows) == 0 {
		return usageErrorf("compare: %s and %s hold no cells", basePath, newPath)
	}
	if err := gates.WriteText(e.stdout, c); err != nil {
		return failure(err)
	}
	if *markdown != "" {
		var b bytes.Buffer
		if err := gates.WriteMarkdown(&b, c); err != nil {
			return failure(err)
		}
		if err := writeFileAtomic(ctx, *markdown, b.Bytes()); err != nil { // output.go
			return failure(fmt.Errorf("compare: --markdown: %w", err))
		}
	}
	if *junit != "" {
		var b bytes.Buffer
		if err := gates.WriteJUnit(&b, c); err != nil {
			return failure(err)
		}
		if err := writeFileAtomic(ctx, *junit, b.Bytes()); err != nil { // output.go
			return failure(fmt.Errorf("compare: --junit: %w", err))
		}
	}
	if *reportDir != "" {
		opts := report.Options{RunLabels: []string{"base", "new"}, Verdicts: compareVerdicts(c)}
		if err := writeReportDir(ctx, *reportDir, []*results.Run{base, nw}, opts); err != nil { // output.go
			return failure(fmt.Errorf("compare: --report: %w", err))
		}
		fmt.Fprintf(e.stdout, "report: %s\n", filepath.Join(*reportDir, report.IndexFile))
	}
	if c.Failed() {
		return gateFailed(errors.New("compare: " + c.Summary()))
	}
	return nil
}

// compareVerdicts turns comparison rows into report verdicts.
func compareVerdicts(c *gates.Comparison) []report.Verdict {
	out := make([]report.Verdict, 0, len(c.Rows))
	for _, r := range c.Rows {
		value := r.Verdict()
		if r.Base.Present && r.New.Present {
			value = fmt.Sprintf("%s → %s (%+.1f%%, p=%.3g): %s", r.Gate.Metric.Format(r.Base.Median),
				r.Gate.Metric.Format(r.New.Median), 100*r.Delta, r.P, r.Verdict())
		}
		out = append(out, report.Verdict{Cell: r.Cell, Name: r.Gate.Text + " regression", Value: value, Limit: r.Gate.Text, Pass: r.Pass})
	}
	return out
}
