package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Exit codes shared by every command.
const (
	exitOK      = 0
	exitGate    = 1 // a threshold or regression gate failed
	exitUsage   = 2 // bad input or usage
	exitFailure = 3 // the run could not be carried out
	// exitInconclusive: compare found no regression, only changes it could
	// not attribute because the new run's load generator was starved.
	exitInconclusive = 4
	// exitAborted (130) follows a second interrupt; see signals.go.
)

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as bad input or usage (exit 2).
func usageError(err error) error { return &exitError{exitUsage, err} }

// usageErrorf is usageError with formatting.
func usageErrorf(format string, args ...any) error {
	return usageError(fmt.Errorf(format, args...))
}

// failure marks err as a run that could not be carried out (exit 3).
func failure(err error) error { return &exitError{exitFailure, err} }

// gateFailed marks err as a failed gate (exit 1).
func gateFailed(err error) error { return &exitError{exitGate, err} }

// gateInconclusive marks err as a comparison that could not decide (exit 4).
func gateInconclusive(err error) error { return &exitError{exitInconclusive, err} }

// env is what a command sees of the process: streams and arguments.
type env struct {
	stdout, stderr io.Writer
	// isTTY reports whether stdout is a terminal (progress bars).
	isTTY bool
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"run", "run a scenario file and write results (JSON) and a summary", runRun},
		{"validate", "check a scenario file without running it", runValidate},
		{"init", "write a commented example scenario", runInit},
		{"report", "render results as one offline HTML file and PNG charts", runReport},
		{"merge", "merge results files from several load generators (histograms added)", runMerge},
		{"compare", "compare results with a baseline: regression gates, Markdown, JUnit", runCompare},
		{"fakeserver", "serve the fault-injecting fake UserService on local ports", runFakeServer},
		{"version", "print version, commit, Go and grpc-go versions", runVersion},
	}
}

func main() {
	// SIGINT and SIGTERM alike: the first stops the command gracefully,
	// the second aborts (exit 130); see handleInterrupts.
	ctx, stop := handleInterrupts(context.Background(), os.Stderr, newFileGuard(), os.Exit)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, isTTY: isTerminal(os.Stdout)})
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		usage(e.stdout)
		return exitOK
	case "--version", "-v":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return exitCode(e, c.run(ctx, e, args[1:]))
		}
	}
	fmt.Fprintf(e.stderr, "grpcbench: unknown command %q%s\n\n", name, suggestCommand(name))
	usage(e.stderr)
	return exitUsage
}

func exitCode(e *env, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	code := exitFailure
	var xe *exitError
	if errors.As(err, &xe) {
		code = xe.code
	}
	fmt.Fprintf(e.stderr, "grpcbench: %v\n", err)
	return code
}

func usage(w io.Writer) {
	fmt.Fprint(w, `grpcbench load-tests gRPC client stacks (pool, load balancing, retry, circuit
breaker) against a fault-injecting fake server, and reports which
configuration holds up best.

Usage:
  grpcbench <command> [flags]

Commands:
`)
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "grpcbench <command> --help" for a command's flags.
Exit codes: 0 success, 1 a gate failed, 2 bad input or usage (an output that
cannot be written included, refused before any load is sent), 3 the run could
not be carried out (an output that failed at the end, or an interrupt: the
results measured are kept), 4 compare was inconclusive (no regression, but the
new run's load generator was CPU-starved; --inconclusive=pass makes it 0),
130 aborted by a second interrupt.
`)
}

func suggestCommand(name string) string {
	for _, c := range commands() {
		if strings.HasPrefix(c.name, name) || strings.HasPrefix(name, c.name) {
			return fmt.Sprintf(" (did you mean %q?)", c.name)
		}
	}
	return ""
}

// newFlags returns a flag set that reports errors instead of exiting.
// --help prints the usage, the flags and examples to stdout, like the
// top-level help.
func newFlags(e *env, name, argsUsage, summary string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: grpcbench %s %s\n\n%s\n\nFlags:\n%s", name, argsUsage, summary, fs.FlagUsages())
		if ex := examples[name]; ex != "" {
			fmt.Fprintf(e.stdout, "\nExamples:\n%s", ex)
		}
	}
	return fs
}

// examples are shown by each command's --help.
var examples = map[string]string{
	"run": `  grpcbench run scenarios/examples/quickstart.yaml -o results.json --report out/report
  grpcbench run my.yaml --set client.pool.size=8 --set load.rate=2000
  grpcbench run --target 127.0.0.1:50051 --call pkg.Svc/Method --data '{"id": 1}' --rate 1000 --duration 10s
  grpcbench run --target a:443,b:443 --protoset api.protoset --call pkg.Svc/Get --workers 32 --print-scenario > mine.yaml
`,
	"validate": `  grpcbench validate my.yaml
  grpcbench validate my.yaml --set client.retry.max_attempts=4
`,
	"init": `  grpcbench init my-scenario
  grpcbench init checkout --call shop.v1.Checkout/GetCart --target 127.0.0.1:8443
`,
	"report": `  grpcbench report results.json -o out/report
  grpcbench report base.json new.json -o out/compare
`,
	"compare": `  grpcbench compare base.json new.json --gate p99=+10% --gate error_rate=+0.01 --junit compare.xml
`,
	"merge": `  grpcbench merge shard-0.json shard-1.json shard-2.json -o results.json
`,
	"fakeserver": `  grpcbench fakeserver --listen 127.0.0.1:50051 --backends 3 --faults faults.yaml --seed 42
  grpcbench fakeserver --tls-self-signed --tls-ca-out ca.pem --require-token-env API_TOKEN
`,
}

// parseFlags parses args; errors are usage errors, --help is not an error.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageErrorf("%s: %w", fs.Name(), err)
	}
	return nil
}
