package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpcbench/grpcbench/results"
)

func TestBadScenariosExit2(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/testdata/bad/*.yaml")
	if err != nil || len(files) < 20 {
		t.Fatalf("%d bad scenarios, %v", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, _ := os.ReadFile(f)
			want := strings.ReplaceAll(strings.TrimPrefix(strings.SplitN(string(data), "\n", 3)[1], "# want: "), "FILE", f)
			for _, cmd := range []string{"validate", "run"} {
				code, _, errs := runCLI(context.Background(), cmd, f, "-o", filepath.Join(t.TempDir(), "r.json"))
				if cmd == "validate" {
					code, _, errs = runCLI(context.Background(), cmd, f)
				}
				if code != exitUsage || !strings.Contains(errs, want) {
					t.Fatalf("%s: exit %d, stderr:\n%s\nwant exit 2 and %q", cmd, code, errs, want)
				}
			}
		})
	}
}

// The control for the explicit-value catalogue (scenarios/testdata/bad/
// explicit-*.yaml): every field those files give a meaningless value,
// given a meaningful one instead, runs and exits 0.
func TestExplicitValuesControlRuns(t *testing.T) {
	const control = `name: control
repeat: 1
server: {backends: 1, store_size: 10}
load: {model: open, arrivals: uniform, rate: 50, duration: 1s, max_calls: 40, max_inflight: 8}
mix:
  - {call: GetUser, weight: 1}
  - {call: SyncUsers, messages: 1, weight: 1}
client:
  timeout: 1s
  lb: {policy: round_robin}
  pool: {size: 1, pick: round_robin}
  retry: {max_attempts: 1}
`
	dir := t.TempDir()
	f := filepath.Join(dir, "control.yaml")
	if err := os.WriteFile(f, []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(context.Background(), "run", f, "-o", filepath.Join(dir, "r.json"))
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
}

const tinyScenario = `name: tiny
server: {backends: 2}
load: {rate: 200, duration: 1s}
mix: [{call: GetUser}, {call: SyncUsers, messages: 3}]
matrix:
  client.pool.size: [1, 2]
`

func TestRunWritesResultsAndSummary(t *testing.T) {
	dir := t.TempDir()
	sc := writeFile(t, "tiny.yaml", tinyScenario)
	out := filepath.Join(dir, "sub", "results.json")
	code, stdout, stderr := runCLI(context.Background(), "run", sc, "-o", out, "--set", "load.rate=100")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	run, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cells) != 2 || run.Partial || run.Cells[0].Load.TargetRate != 100 {
		t.Fatalf("cells %d partial %v target %v", len(run.Cells), run.Partial, run.Cells[0].Load.TargetRate)
	}
	for _, want := range []string{"pool.size=1#1", "pool.size=2#1", "calls/s", "p99", "results: " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	// Not a terminal: one plain progress line per cell.
	if n := strings.Count(stderr, "\ncell ") + strings.Count(stderr[:min(len(stderr), 5)], "cell "); n != 2 {
		t.Errorf("want 2 progress lines, got:\n%s", stderr)
	}
}

func TestValidateAndInit(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "mine")
	code, out, errs := runCLI(context.Background(), "init", name)
	if code != exitOK || !strings.Contains(out, "mine.yaml") {
		t.Fatalf("init: exit %d %s %s", code, out, errs)
	}
	if code, _, errs := runCLI(context.Background(), "init", name); code != exitUsage || !strings.Contains(errs, "exists") {
		t.Fatalf("init over an existing file: exit %d %s", code, errs)
	}
	code, out, errs = runCLI(context.Background(), "validate", name+".yaml")
	if code != exitOK || !strings.Contains(out, "ok — 4 cells") {
		t.Fatalf("validate: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, _ := runCLI(context.Background(), "validate"); code != exitUsage {
		t.Fatalf("validate without a file: exit %d", code)
	}
	if code, _, errs := runCLI(context.Background(), "run", "/nonexistent.yaml"); code != exitUsage || !strings.Contains(errs, "nonexistent.yaml") {
		t.Fatalf("missing file: exit %d %s", code, errs)
	}
}

func TestRunThresholdsGate(t *testing.T) {
	tests := []struct {
		name       string
		thresholds string
		code       int
		want       string
	}{
		{"pass", `{p99: "< 5s", error_rate: "< 50%", rps: "> 50"}`, exitOK, "all 6 checks passed"},
		{"fail names the value", `{p99: "< 1us"}`, exitGate, "FAIL"},
		{"per cell and method", "\n  - {cells: \"pool.size=2\", method: GetUser, max: \"< 1us\"}", exitGate, "pool.size=2#1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := writeFile(t, "th.yaml", tinyScenario+"thresholds: "+tt.thresholds+"\n")
			code, stdout, stderr := runCLI(context.Background(), "run", sc, "-o", filepath.Join(t.TempDir(), "r.json"), "--set", "load.duration=500ms")
			if code != tt.code || !strings.Contains(stdout, tt.want) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant %q", code, tt.code, stdout, stderr, tt.want)
			}
			if tt.code == exitGate && !strings.Contains(stderr, "thresholds failed") {
				t.Fatalf("stderr: %s", stderr)
			}
		})
	}
}

func TestMergeShards(t *testing.T) {
	dir := t.TempDir()
	sc := writeFile(t, "shard.yaml", "name: shard\nload: {rate: 100, duration: 500ms}\nmix: [{call: GetUser}]\n")
	a, b, m := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"), filepath.Join(dir, "m.json")
	for _, f := range []string{a, b} {
		if code, _, errs := runCLI(context.Background(), "run", "-q", sc, "-o", f); code != exitOK {
			t.Fatalf("run: exit %d %s", code, errs)
		}
	}
	code, out, errs := runCLI(context.Background(), "merge", a, b, "-o", m)
	if code != exitOK || !strings.Contains(out, "merged 2 files, 1 cells") {
		t.Fatalf("merge: exit %d\n%s\n%s", code, out, errs)
	}
	ra, _ := results.ReadFile(a)
	rb, _ := results.ReadFile(b)
	rm, err := results.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	want := ra.Cells[0].All.Latency.Count() + rb.Cells[0].All.Latency.Count()
	if got := rm.Cells[0].All.Latency.Count(); got != want {
		t.Fatalf("merged latency count %d, want %d (histograms added)", got, want)
	}
	if code, _, _ := runCLI(context.Background(), "merge", a, "-o", m); code != exitUsage {
		t.Fatalf("one file: exit %d, want 2", code)
	}
	if code, _, errs := runCLI(context.Background(), "merge", a, "/nonexistent.json", "-o", m); code != exitUsage || !strings.Contains(errs, "nonexistent.json") {
		t.Fatalf("missing file: exit %d %s", code, errs)
	}
}
