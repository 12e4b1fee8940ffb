package main

import (
	"context"
	"fmt"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/scenarios"
)

// evaluateThresholds checks the run against the scenario's thresholds,
// prints every verdict and fails (exit 1) when any threshold fails.
func evaluateThresholds(e *env, sp *scenarios.Spec, run *results.Run) error {
	if sp.Thresholds.Empty() {
		return nil
	}
	vs := gates.Evaluate(run, sp.Thresholds)
	fmt.Fprintln(e.stdout, "\nthresholds:")
	if err := gates.WriteVerdicts(e.stdout, vs); err != nil {
		return failure(err)
	}
	if f := gates.Failures(vs); len(f) > 0 {
		return gateFailed(fmt.Errorf("%d of %d thresholds failed", len(f), len(vs)))
	}
	return nil
}

// writeReport renders the HTML/PNG report of a run, with its threshold
// verdicts when the scenario has thresholds.
func writeReport(ctx context.Context, dir string, runs []*results.Run, sp *scenarios.Spec) error {
	var opts report.Options
	if sp != nil && !sp.Thresholds.Empty() {
		opts.Verdicts = reportVerdicts(gates.Evaluate(runs[0], sp.Thresholds))
	}
	return writeReportDir(ctx, dir, runs, opts) // output.go: atomic report.Write
}

// reportVerdicts converts threshold verdicts for the report.
func reportVerdicts(vs []gates.Verdict) []report.Verdict {
	out := make([]report.Verdict, len(vs))
	for i, v := range vs {
		name := v.Metric
		if v.Method != "" {
			name = v.Method + " " + name
		}
		out[i] = report.Verdict{Cell: v.Cell, Name: name, Value: v.Display, Limit: v.Expr, Pass: v.Pass}
	}
	return out
}
