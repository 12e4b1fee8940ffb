package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

const compareSummary = `Compare a results file with a baseline. Cells are joined by ID (repeats
grouped); for each cell and gate the table shows both medians, the delta, its
bootstrap 95% confidence interval, the Mann-Whitney p-value and a verdict.

With enough repeats per side for the test to reach alpha (4+4 at alpha 0.05),
a regression must be beyond the gate and significant. With fewer, no
difference can ever be significant: the gate applies to the medians alone, the
row says "low confidence", a warning says so, and such a regression does not
fail (exit 0) unless --strict — a CI gate must not fail on one sample's noise.
Cells missing on either side fail unless --allow-missing.

Each run records its load generator's health per cell (CPU, its threads'
run delay, the machine's CPU pressure, steal, schedule lag). When the new
run's generator was CPU-starved compared with the base's beyond noise, a
change beyond the gate is INCONCLUSIVE, with the figures, never a regression.
The "detects" column is the smallest change each row could detect with its
repeats and spread (80% power); a warning names gates below it.

Exit 1 on a regression (or a missing cell), 4 when the only failures are
inconclusive (0 with --inconclusive=pass), 2 on bad input.

Gates: metric[@method]=[+|-]N% (relative) or =+N<unit> (absolute), e.g.
p99=+10%, ok.p99=+10%, attempt.p99@GetUser=+2ms, error_rate=+0.01, rps=-5%.
p99 is the latency of every call, failed ones included; ok.p99 of the calls
that ended OK. Default: `

// runCompare implements `grpcbench compare BASE.json NEW.json`.
func runCompare(ctx context.Context, e *env, args []string) error {
	defaults := strings.Join(gates.DefaultGates, ", ")
	fs := newFlags(e, "compare", "BASE.json NEW.json [flags]", compareSummary+defaults+".")
	gateFlags := fs.StringArray("gate", nil, "regression gate metric[@method]=+N% (repeatable; default "+defaults+")")
	alpha := fs.Float64("alpha", gates.DefaultAlpha, "significance level of the Mann-Whitney test")
	junit := fs.String("junit", "", "also write JUnit XML (one test case per cell × gate) to this file")
	markdown := fs.String("markdown", "", "also write a Markdown report (PR comment, CI step summary) to this file")
	allowMissing := fs.Bool("allow-missing", false, "do not fail on cells present in only one file")
	strict := fs.Bool("strict", false, "fail on a regression of the medians even with too few repeats for it to be significant")
	reportDir := fs.String("report", "", "also write an HTML/PNG report of both runs overlaid, with the verdicts, into this directory")
	inconclusive := fs.String("inconclusive", "fail", "what a change measured while the new run's load generator was CPU-starved does: fail (exit 4 when nothing else fails) or pass")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *inconclusive != "fail" && *inconclusive != "pass" {
		return usageErrorf("compare: --inconclusive must be pass or fail, got %q", *inconclusive)
	}
	if fs.NArg() != 2 {
		return usageErrorf("compare: want two results files, BASE.json and NEW.json; got %d arguments", fs.NArg())
	}
	if !(*alpha > 0 && *alpha < 1) {
		return usageErrorf("compare: --alpha must be between 0 and 1, got %g", *alpha)
	}
	opts := gates.CompareOptions{Alpha: *alpha, AllowMissing: *allowMissing, Strict: *strict, InconclusivePass: *inconclusive == "pass"}
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

	c, err := gates.Compare(base, nw, opts)
	if err != nil {
		return usageErrorf("compare: --gate: %w", err)
	}
	c.Base, c.New = basePath, newPath
	if !*strict && softRegressions(c) > 0 {
		c.Warnings = append(c.Warnings, "regressions with too few repeats to test do not fail the comparison; --strict makes them fail, more repeats (--set repeat=N) make them testable")
	}
	if len(c.Rows) == 0 {
		return usageErrorf("compare: %s and %s hold no cells", basePath, newPath)
	}
	if err := gates.WriteText(e.stdout, c); err != nil {
		return failure(err)
	}
	if err := writeComparison(ctx, *markdown, "--markdown", c, gates.WriteMarkdown); err != nil {
		return err
	}
	if err := writeComparison(ctx, *junit, "--junit", c, gates.WriteJUnit); err != nil {
		return err
	}
	if *reportDir != "" {
		opts := report.Options{RunLabels: []string{"base", "new"}, Verdicts: compareVerdicts(c)}
		if err := writeReportDir(ctx, *reportDir, []*results.Run{base, nw}, opts); err != nil { // output.go
			return failure(fmt.Errorf("compare: --report: %w", err))
		}
		fmt.Fprintf(e.stdout, "report: %s\n", filepath.Join(*reportDir, report.IndexFile))
	}
	switch {
	case c.InconclusiveOnly():
		return gateInconclusive(errors.New("compare: " + c.Summary() + ": the new run's load generator was CPU-starved; rerun on a quieter machine, or --inconclusive=pass"))
	case c.Failed():
		return gateFailed(errors.New("compare: " + c.Summary()))
	}
	return nil
}

// writeComparison renders c with write into the file path named by flag;
// an empty path writes nothing.
func writeComparison(ctx context.Context, path, flag string, c *gates.Comparison, write func(io.Writer, *gates.Comparison) error) error {
	if path == "" {
		return nil
	}
	var b bytes.Buffer
	if err := write(&b, c); err != nil {
		return failure(err)
	}
	if err := writeFileAtomic(ctx, path, b.Bytes()); err != nil { // output.go
		return failure(fmt.Errorf("compare: %s: %w", flag, err))
	}
	return nil
}

// softRegressions counts the regressions that pass because the repeats were
// too few to test them.
func softRegressions(c *gates.Comparison) int {
	n := 0
	for _, r := range c.Rows {
		if r.Status == gates.StatusRegression && r.Pass {
			n++
		}
	}
	return n
}

// compareVerdicts turns comparison rows into report verdicts.
func compareVerdicts(c *gates.Comparison) []report.Verdict {
	out := make([]report.Verdict, 0, len(c.Rows))
	for _, r := range c.Rows {
		value := r.Verdict()
		if r.Base.Present && r.New.Present {
			value = r.Change() + ": " + r.Verdict()
		}
		out = append(out, report.Verdict{Cell: r.Cell, Name: r.Gate.Text + " regression", Value: value, Limit: r.Gate.Text, Pass: r.Pass})
	}
	return out
}
