package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// writeRun writes a results file with one cell per entry of medians (cell
// "pool.size=<key>"), repeats times each; every GetUser call of a repeat
// takes the median plus 1 % per repeat index.
func writeRun(t *testing.T, name string, repeats int, medians map[string]time.Duration) string {
	t.Helper()
	run := &results.Run{Name: "compare-test", Dimensions: []string{"client.pool.size"}}
	for _, size := range []string{"1", "4"} {
		med, ok := medians[size]
		if !ok {
			continue
		}
		for r := range repeats {
			h := results.NewHistogram()
			d := med + med*time.Duration(r)/100
			for range 50 {
				h.Record(d)
			}
			ms := &results.MethodStats{Calls: 50, Codes: map[string]int64{"OK": 50}, Latency: h}
			run.Cells = append(run.Cells, &results.Cell{
				ID: fmt.Sprintf("pool.size=%s#%d", size, r), Repeat: r, Duration: time.Second,
				Params:  []results.Param{{Path: "client.pool.size", Value: size}},
				Load:    results.Load{Model: results.ModelClosed, Completed: 50, AchievedRate: 50},
				Methods: map[string]*results.MethodStats{"grpcbench.user.v1.UserService/GetUser": ms}, All: ms,
			})
		}
	}
	p := filepath.Join(t.TempDir(), name)
	if err := results.WriteFile(p, run); err != nil {
		t.Fatal(err)
	}
	return p
}

// compareCase is one run of grpcbench compare: its exit code, what its
// stdout must contain and what its stderr must contain.
type compareCase struct {
	name     string
	args     []string
	code     int
	inStdout []string
	inStderr string
}

// runCompareCases runs each case as a subtest.
func runCompareCases(t *testing.T, tests []compareCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCompareCLI(tt.args...)
			ok := code == tt.code && strings.Contains(errs, tt.inStderr)
			for _, w := range tt.inStdout {
				ok = ok && strings.Contains(out, w)
			}
			if !ok {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stdout to contain %q and stderr %q", code, tt.code, out, errs, tt.inStdout, tt.inStderr)
			}
		})
	}
}

func runCompareCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb syncBuffer
	e := &env{stdout: &out, stderr: &errb}
	code = exitCode(e, runCompare(context.Background(), e, args))
	return code, out.String(), errb.String()
}

func TestCompareCommand(t *testing.T) {
	base := writeRun(t, "base.json", 5, map[string]time.Duration{"1": 10 * time.Millisecond, "4": 5 * time.Millisecond})
	same := writeRun(t, "same.json", 5, map[string]time.Duration{"1": 10 * time.Millisecond, "4": 5 * time.Millisecond})
	slow := writeRun(t, "slow.json", 5, map[string]time.Duration{"1": 13 * time.Millisecond, "4": 5 * time.Millisecond})
	fewer := writeRun(t, "fewer.json", 5, map[string]time.Duration{"1": 10 * time.Millisecond})
	two := writeRun(t, "two.json", 2, map[string]time.Duration{"1": 13 * time.Millisecond, "4": 5 * time.Millisecond})
	garbage := writeFile(t, "garbage.json", "{not json")
	dir := t.TempDir()
	tests := []compareCase{
		{"same", []string{base, same}, exitOK, []string{"pool.size=1  p99=+10%", "n=5+5", "ok: 6 checks"}, ""},
		{"regression", []string{base, slow}, exitGate, []string{"pool.size=1  p99=+10%", "+29.9%", "REGRESSION", "FAIL: 6 checks, 2 regressions"}, "compare: FAIL: 6 checks, 2 regressions"},
		{"gate flag", []string{base, slow, "--gate", "p99=+50%"}, exitOK, []string{"p99=+50%", "ok: 2 checks"}, ""},
		{"two gates", []string{base, slow, "--gate", "p99=+50%", "--gate", "max@GetUser=+1ms"}, exitGate, []string{"max@GetUser=+1ms", "+3.06ms"}, "1 regression"},
		{"alpha", []string{base, slow, "--gate", "p99=+10%", "--alpha", "0.01"}, exitGate, []string{"p=0.008", "REGRESSION\n"}, ""},
		// Too few repeats for any difference to be significant: warn, exit 0
		// unless --strict.
		{"alpha out of reach", []string{base, slow, "--gate", "p99=+10%", "--alpha", "0.001"}, exitOK,
			[]string{"regression, low confidence", "significant from 7+7", "--strict makes them fail", "ok: 2 checks, 1 regression not failing"}, ""},
		{"low confidence", []string{base, two, "--gate", "p99=+10%"}, exitOK,
			[]string{"n=5+2", "regression, low confidence", "warning: 2 checks with too few repeats to test (as few as 5+2"}, ""},
		{"low confidence strict", []string{base, two, "--gate", "p99=+10%", "--strict"}, exitGate,
			[]string{"REGRESSION, low confidence", "fail (strict)"}, "compare: FAIL: 2 checks, 1 regression"},
		{"unknown gate method", []string{base, same, "--gate", "p99@PutUser=+10%"}, exitUsage, nil,
			`--gate: gate "p99@PutUser=+10%": unknown method "PutUser" (methods: grpcbench.user.v1.UserService/GetUser)`},
		{"missing cell", []string{base, fewer, "--gate", "p99=+10%"}, exitGate, []string{"absent", "MISSING"}, "1 missing"},
		{"allow missing", []string{base, fewer, "--gate", "p99=+10%", "--allow-missing"}, exitOK, []string{"missing"}, ""},
		{"no args", nil, exitUsage, nil, "want two results files"},
		{"three args", []string{base, same, slow}, exitUsage, nil, "got 3 arguments"},
		{"bad gate", []string{base, same, "--gate", "p98.x=+10%"}, exitUsage, nil, `--gate: gate "p98.x=+10%": unknown metric`},
		{"wrong sign", []string{base, same, "--gate", "rps=+10%"}, exitUsage, nil, "write rps=-10%"},
		{"bad alpha", []string{base, same, "--alpha", "1.5"}, exitUsage, nil, "--alpha must be between 0 and 1"},
		{"unknown flag", []string{base, same, "--gates", "p99=+1%"}, exitUsage, nil, "unknown flag: --gates"},
		{"missing file", []string{base, filepath.Join(dir, "nope.json")}, exitUsage, nil, "nope.json"},
		{"garbage file", []string{garbage, same}, exitUsage, nil, "compare: base " + garbage},
		{"unwritable junit", []string{base, same, "--junit", filepath.Join(garbage, "j.xml")}, exitUsage, nil, "--junit " + garbage + "/j.xml: cannot be written"},
		{"junit in a new directory", []string{base, same, "--junit", filepath.Join(dir, "new", "dir", "j.xml")}, exitOK, nil, ""},
		{"help", []string{"--help"}, exitOK, []string{"--allow-missing", "Examples:"}, ""},
	}
	runCompareCases(t, tests)
}

func TestCompareCommandWritesReports(t *testing.T) {
	base := writeRun(t, "base.json", 5, map[string]time.Duration{"1": 10 * time.Millisecond, "4": 5 * time.Millisecond})
	slow := writeRun(t, "slow.json", 5, map[string]time.Duration{"1": 13 * time.Millisecond, "4": 5 * time.Millisecond})
	dir := t.TempDir()
	junit, md := filepath.Join(dir, "compare.xml"), filepath.Join(dir, "compare.md")
	code, _, errs := runCompareCLI(base, slow, "--gate", "p99=+10%", "--junit", junit, "--markdown", md)
	if code != exitGate {
		t.Fatalf("exit %d: %s", code, errs)
	}
	x, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(x, &suites); err != nil {
		t.Fatalf("JUnit: %v\n%s", err, x)
	}
	if suites.Tests != 2 || suites.Failures != 1 || len(suites.Suites) != 2 ||
		suites.Suites[0].Cases[0].Failure == nil || !strings.Contains(suites.Suites[0].Cases[0].Failure.Message, "+29.9%") {
		t.Fatalf("JUnit %+v\n%s", suites, x)
	}
	m, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(m), "### ❌ grpcbench compare: FAIL") || !strings.Contains(string(m), "**REGRESSION**") ||
		!strings.Contains(string(m), "vs new `"+slow+"`") {
		t.Fatalf("markdown:\n%s", m)
	}
}

func TestCompareCommandWritesHTMLReportWithVerdicts(t *testing.T) {
	base := writeRun(t, "base.json", 3, map[string]time.Duration{"1": 10 * time.Millisecond, "4": 5 * time.Millisecond})
	slow := writeRun(t, "slow.json", 3, map[string]time.Duration{"1": 13 * time.Millisecond, "4": 5 * time.Millisecond})
	dir := filepath.Join(t.TempDir(), "report")
	code, out, errs := runCompareCLI(base, slow, "--gate", "p99=+10%", "--report", dir, "--strict")
	if code != exitGate || !strings.Contains(out, "report: "+filepath.Join(dir, "index.html")) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	html, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"10% regression", "REGRESSION", "base", "new"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
