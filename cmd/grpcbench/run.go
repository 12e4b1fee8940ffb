package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/scenarios"
)

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "run", "[SCENARIO.yaml] [-o results.json] [--set path=value]... [--call pkg.Svc/Method --target host:port ...]",
		"Run a scenario: every cell of its matrix against the embedded fake server (or its target),\nthen write the results (JSON) and print a summary table. Without a file, the scenario\nflags (--call, --target, --data, --rate, …) make a one-line run; with one, they override\nits fields. --print-scenario prints the scenario as YAML instead of running it.")
	out := fs.StringP("output", "o", "results.json", "results file (written atomically)")
	sets := fs.StringArray("set", nil, "override a scenario field, e.g. --set client.pool.size=8 (repeatable)")
	reportDir := fs.String("report", "", "also write an HTML/PNG report into this directory")
	quiet := fs.BoolP("quiet", "q", false, "no progress output")
	progressEvery := fs.Duration("progress-every", 5*time.Second, "without a terminal, print a progress line this often while a cell runs (0: only when it ends)")
	printScenario := fs.Bool("print-scenario", false, "print the scenario as YAML (a file to save and grow) and exit")
	one := addScenarioFlags(fs)
	scale := addScaleFlags(fs) // run_scale.go: --shard(s), --start-at/in, --metrics-addr, --hlog
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sp, cells, err := loadFromArgs(ctx, "run", fs.Args(), one, *sets)
	if err != nil {
		return err
	}
	if err := checkOutputs(fileOutput("-o", *out), dirOutput("--report", *reportDir)); err != nil { // output.go
		return err
	}
	if *printScenario {
		doc, err := sp.Document()
		if err != nil {
			return failure(err)
		}
		_, err = e.stdout.Write(doc)
		return err
	}
	opts := scenarios.Options{Args: os.Args}
	stop, err := scale.apply(ctx, e, sp, cells, &opts)
	if err != nil {
		return err
	}
	defer stop()
	var prog progress
	switch {
	case *quiet:
		prog = nopProgress{}
	case e.isTTY:
		prog = newBarProgress(e.stderr, len(cells))
	default:
		prog = &lineProgress{w: e.stderr, every: *progressEvery}
	}
	opts.Progress = prog.event
	run, runErr := scenarios.Run(ctx, sp, opts)
	prog.wait()
	if run == nil {
		return failure(runErr)
	}
	printSummary(e.stdout, run)
	printDetails(e.stdout, run)                          // details.go: shares, lag, hedges, ejections, churn
	warnErrors(e.stdout, run)                            // before writing: the numbers survive a failed write
	warnSaturation(e.stdout, run)                        // health.go
	if err := writeResults(ctx, *out, run); err != nil { // output.go: atomic, exit 3
		return err
	}
	fmt.Fprintf(e.stdout, "\nresults: %s\n", *out)
	gateErr := evaluateThresholds(e, sp, run)
	if *reportDir != "" {
		rctx := ctx
		if ctx.Err() != nil { // interrupted run: report what was measured; a second interrupt aborts
			rctx = context.WithoutCancel(ctx)
		}
		if err := writeReport(rctx, *reportDir, []*results.Run{run}, sp); err != nil {
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

// loadFromArgs loads the scenario of a command line: a file with the
// scenario flags as overrides, or, without a file, the scenario the flags
// describe (a one-line run needs --call).
func loadFromArgs(ctx context.Context, cmd string, args []string, one *oneLine, sets []string) (*scenarios.Spec, []*scenarios.Cell, error) {
	flagSets, err := one.sets()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(args) > 1:
		return nil, nil, usageErrorf("%s takes at most one scenario file, got %d arguments", cmd, len(args))
	case len(args) == 1:
		sp, cells, err := loadScenario(ctx, args[0], nil, append(flagSets, sets...))
		return sp, cells, one.relabel(err)
	case !one.fs.Changed("call"):
		return nil, nil, usageErrorf("%s needs a scenario file, or --call package.Service/Method for a one-line run", cmd)
	}
	sp, cells, err := loadScenario(ctx, oneLineFile, []byte(oneLineDoc(one.fs.Lookup("call").Value.String())), append(flagSets, sets...))
	return sp, cells, one.relabel(err)
}

// oneLineFile names a one-line run's scenario in messages; relative paths
// in it are relative to the working directory.
const oneLineFile = "command line"

// oneLineDoc starts a one-line run's scenario: its name is the method's.
func oneLineDoc(call string) string {
	name := call[strings.LastIndexAny(call, "/.")+1:]
	return "name: " + strconv.Quote(name) + "\n"
}

// loadScenario loads, validates and expands a scenario file (data nil) or
// document; every error is a usage error (exit 2), reported before any load
// is sent, but for a target that cannot be reached (exit 3).
func loadScenario(ctx context.Context, path string, data []byte, sets []string) (*scenarios.Spec, []*scenarios.Cell, error) {
	var sp *scenarios.Spec
	var err error
	if data == nil {
		sp, err = scenarios.LoadFile(ctx, path, sets...)
	} else {
		sp, err = scenarios.Parse(ctx, path, data, sets...)
	}
	if errors.Is(err, scenarios.ErrUnreachable) {
		return nil, nil, failure(err)
	}
	if err != nil {
		return nil, nil, usageError(err)
	}
	cells, err := sp.Expand()
	if err != nil {
		return nil, nil, usageError(err)
	}
	return sp, cells, nil
}

func runValidate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "validate", "[SCENARIO.yaml] [--set path=value]... [scenario flags]",
		"Check a scenario without running it: fields, values, matrix, thresholds and its calls\n(methods resolved, request data checked). Prints the cells it would run.")
	sets := fs.StringArray("set", nil, "override a scenario field (repeatable)")
	one := addScenarioFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sp, cells, err := loadFromArgs(ctx, "validate", fs.Args(), one, *sets)
	if err != nil {
		return err
	}
	s := sp.Scenario
	per := s.Load.Warmup + s.Load.Duration
	fmt.Fprintf(e.stdout, "%s: ok — %d cells, about %s of load\n", sp.File, len(cells), (per * time.Duration(len(cells))).Round(time.Second))
	for _, c := range cells {
		fmt.Fprintf(e.stdout, "  %s\n", c.ID)
	}
	return nil
}

func runInit(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "init", "[NAME] [--call pkg.Svc/Method --target host:port [--proto f.proto | --protoset f.protoset]]",
		"Write a commented example scenario to NAME.yaml (default scenario.yaml). With --call, the scenario\ncalls that method (found by reflection, or in the files given) with a skeleton of its request as data.")
	force := fs.Bool("force", false, "overwrite an existing file")
	call := fs.String("call", "", "the method the scenario calls, package.Service/Method")
	target := fs.String("target", "", "the server, host:port (default: the embedded fake server)")
	protos := fs.StringArray("proto", nil, "a .proto file describing the method (repeatable)")
	imports := fs.StringArray("import-path", nil, "a directory searched for .proto imports (repeatable)")
	protosets := fs.StringArray("protoset", nil, "a protoset describing the method (repeatable)")
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
	content := scenarios.Example(base)
	if *call != "" {
		args := []string{"--call", *call}
		for flag, vals := range map[string][]string{"target": {*target}, "proto": *protos, "import-path": *imports, "protoset": *protosets} {
			for _, v := range vals {
				if v != "" {
					args = append(args, "--"+flag, v)
				}
			}
		}
		ifs := pflag.NewFlagSet("init", pflag.ContinueOnError)
		one := addScenarioFlags(ifs)
		if err := ifs.Parse(args); err != nil {
			return usageError(err)
		}
		sp, _, err := loadFromArgs(ctx, "init", nil, one, nil)
		if err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
		if content, err = scenarios.ExampleFor(base, sp); err != nil {
			f.Close()
			os.Remove(path)
			return failure(err)
		}
	}
	if _, err := io.WriteString(f, content); err != nil {
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

// lineProgress prints plain lines (not a terminal, e.g. CI): one every
// `every` while a cell runs (none when every is 0), and one when it ends.
type lineProgress struct {
	w     io.Writer
	every time.Duration
	next  time.Duration // elapsed time of the cell's next line
	last  results.LiveSnapshot
	lastT time.Duration
}

func (p *lineProgress) event(ev scenarios.Event) {
	switch ev.Kind {
	case "start":
		p.next, p.last, p.lastT = p.every, results.LiveSnapshot{}, 0
	case "tick":
		if p.every <= 0 || ev.Elapsed < p.next {
			return
		}
		d := ev.Live.Sub(p.last)
		rate := 0.0
		if dt := ev.Elapsed - p.lastT; dt > 0 {
			rate = float64(d.Calls) / dt.Seconds()
		}
		fmt.Fprintf(p.w, "cell %d/%d %s: %s/%s, %.0f calls/s, p99 %s, errors %d so far\n", ev.Cell+1, ev.Cells, ev.ID,
			ev.Elapsed.Round(time.Second), ev.Total.Round(time.Second), rate, fmtDur(d.Quantile(0.99)), ev.Live.Errors)
		p.last, p.lastT = ev.Live, ev.Elapsed
		for p.next <= ev.Elapsed {
			p.next += p.every
		}
	case "done":
		fmt.Fprintf(p.w, "cell %d/%d %s: %s\n", ev.Cell+1, ev.Cells, ev.ID, cellLine(ev.Result))
	}
}

func (p *lineProgress) wait() {}

// topErrors names a cell's most frequent failures: the top status codes
// with their counts, and the most frequent message.
func topErrors(c *results.Cell) string {
	byCode := map[string]int64{}
	for _, e := range c.TopErrors {
		byCode[e.Code] += e.Count
	}
	codes := make([]string, 0, len(byCode))
	for code := range byCode {
		codes = append(codes, code)
	}
	sort.Slice(codes, func(i, j int) bool {
		return byCode[codes[i]] > byCode[codes[j]] || (byCode[codes[i]] == byCode[codes[j]] && codes[i] < codes[j])
	})
	parts := make([]string, 0, len(codes))
	for _, code := range codes[:min(len(codes), 3)] {
		parts = append(parts, fmt.Sprintf("%s %d", code, byCode[code]))
	}
	return fmt.Sprintf("top errors %s, most often %q", strings.Join(parts, ", "), c.TopErrors[0].Message)
}

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

// warnLevel is the error rate above which the summary warns about a cell
// that did not fail outright.
const warnLevel = 0.5

// warnErrors prints a warning line for every cell whose calls mostly
// failed, even when the run passes: most failures by design (a fault
// scenario) are fine, but they must not go unnoticed.
func warnErrors(w io.Writer, run *results.Run) {
	for _, c := range run.Cells {
		if c.All == nil || c.All.Calls == 0 || c.Error != "" || c.All.ErrorRate() <= warnLevel {
			continue
		}
		fmt.Fprintf(w, "warning: cell %s: %.1f%% of calls failed (%s)\n", c.ID, 100*c.All.ErrorRate(), topErrors(c))
	}
}
