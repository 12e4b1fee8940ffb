package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/scenarios"
)

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "run", "SCENARIO.yaml [-o results.json] [--set path=value]...",
		"Run a scenario: every cell of its matrix against the embedded fake server (or its target),\nthen write the results (JSON) and print a summary table.")
	out := fs.StringP("output", "o", "results.json", "results file (written atomically)")
	sets := fs.StringArray("set", nil, "override a scenario field, e.g. --set client.pool.size=8 (repeatable)")
	reportDir := fs.String("report", "", "also write an HTML/PNG report into this directory")
	quiet := fs.BoolP("quiet", "q", false, "no progress output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("run needs exactly one scenario file, got %d arguments", fs.NArg())
	}
	sp, cells, err := loadScenario(fs.Arg(0), *sets)
	if err != nil {
		return err
	}
	var prog progress
	switch {
	case *quiet:
		prog = nopProgress{}
	case e.isTTY:
		prog = newBarProgress(e.stderr, len(cells))
	default:
		prog = &lineProgress{w: e.stderr}
	}
	run, runErr := scenarios.Run(ctx, sp, scenarios.Options{Progress: prog.event, Args: os.Args})
	prog.wait()
	if run == nil {
		return failure(runErr)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return failure(err)
	}
	if err := results.WriteFile(*out, run); err != nil {
		return failure(fmt.Errorf("write results: %w", err))
	}
	printSummary(e.stdout, run)
	fmt.Fprintf(e.stdout, "\nresults: %s\n", *out)
	gateErr := evaluateThresholds(e, sp, run)
	if *reportDir != "" {
		if err := writeReport(ctx, *reportDir, []*results.Run{run}, sp); err != nil {
			return failure(fmt.Errorf("report: %w", err))
		}
		fmt.Fprintf(e.stdout, "report:  %s\n", filepath.Join(*reportDir, "index.html"))
	}
	if runErr != nil {
		return failure(runErr)
	}
	if run.Partial {
		return failure(errors.New("interrupted: the results are partial (marked \"partial\": true)"))
	}
	return gateErr
}

// loadScenario loads, validates and expands a scenario file; every error is
// a usage error (exit 2), reported before any load is sent.
func loadScenario(path string, sets []string) (*scenarios.Spec, []*scenarios.Cell, error) {
	sp, err := scenarios.LoadFile(path, sets...)
	if err != nil {
		return nil, nil, usageError(err)
	}
	cells, err := sp.Expand()
	if err != nil {
		return nil, nil, usageError(err)
	}
	return sp, cells, nil
}

func runValidate(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "validate", "SCENARIO.yaml [--set path=value]...",
		"Check a scenario without running it: fields, values, matrix and thresholds.\nPrints the cells it would run.")
	sets := fs.StringArray("set", nil, "override a scenario field (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("validate needs exactly one scenario file, got %d arguments", fs.NArg())
	}
	sp, cells, err := loadScenario(fs.Arg(0), *sets)
	if err != nil {
		return err
	}
	s := sp.Scenario
	per := s.Load.Warmup + s.Load.Duration
	fmt.Fprintf(e.stdout, "%s: ok — %d cells, about %s of load\n", fs.Arg(0), len(cells), (per * time.Duration(len(cells))).Round(time.Second))
	for _, c := range cells {
		fmt.Fprintf(e.stdout, "  %s\n", c.ID)
	}
	return nil
}

func runInit(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "init", "[NAME]", "Write a commented example scenario to NAME.yaml (default scenario.yaml).")
	force := fs.Bool("force", false, "overwrite an existing file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageErrorf("init takes at most one name, got %d", fs.NArg())
	}
	name := "scenario"
	if fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	path := name
	if !strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml") {
		path += ".yaml"
	}
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".yaml"), ".yml")
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return usageErrorf("%s exists; use --force to overwrite it", path)
		}
		return failure(err)
	}
	if _, err := io.WriteString(f, scenarios.Example(base)); err != nil {
		f.Close()
		return failure(err)
	}
	if err := f.Close(); err != nil {
		return failure(err)
	}
	fmt.Fprintf(e.stdout, "wrote %s; run it with: grpcbench run %s\n", path, path)
	return nil
}

// progress shows the run's progress.
type progress interface {
	event(scenarios.Event)
	wait()
}

type nopProgress struct{}

func (nopProgress) event(scenarios.Event) {}
func (nopProgress) wait()                 {}

// lineProgress prints one plain line per finished cell (not a terminal).
type lineProgress struct{ w io.Writer }

func (p *lineProgress) event(ev scenarios.Event) {
	if ev.Kind != "done" {
		return
	}
	fmt.Fprintf(p.w, "cell %d/%d %s: %s\n", ev.Cell+1, ev.Cells, ev.ID, cellLine(ev.Result))
}

func (p *lineProgress) wait() {}

// barProgress shows an mpb bar per cell on a terminal.
type barProgress struct {
	p     *mpb.Progress
	mu    sync.Mutex
	bar   *mpb.Bar
	last  results.LiveSnapshot
	stat  string
	start time.Time
}

func newBarProgress(w io.Writer, _ int) *barProgress {
	return &barProgress{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(30), mpb.WithRefreshRate(200*time.Millisecond))}
}

func (b *barProgress) status() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stat
}

func (b *barProgress) event(ev scenarios.Event) {
	switch ev.Kind {
	case "start":
		b.mu.Lock()
		b.stat, b.last, b.start = "", results.LiveSnapshot{}, time.Now()
		b.mu.Unlock()
		name := fmt.Sprintf("cell %d/%d %s", ev.Cell+1, ev.Cells, ev.ID)
		b.bar = b.p.AddBar(int64(ev.Total/time.Millisecond),
			mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				return fmt.Sprintf("%s %s", time.Since(b.start).Round(time.Second), b.status())
			})))
	case "tick":
		b.mu.Lock()
		d := ev.Live.Sub(b.last)
		b.last = ev.Live
		b.stat = fmt.Sprintf("%d calls/s p99 %s errors %d", d.Calls, fmtDur(d.Quantile(0.99)), ev.Live.Errors)
		b.mu.Unlock()
		if b.bar != nil {
			b.bar.SetCurrent(int64(ev.Elapsed / time.Millisecond))
		}
	case "done":
		if b.bar != nil {
			b.mu.Lock()
			b.stat = cellLine(ev.Result)
			b.mu.Unlock()
			b.bar.SetTotal(-1, true)
			b.bar.Wait()
		}
	}
}

func (b *barProgress) wait() { b.p.Wait() }
