package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/scenarios"
)

// process is a started grpcbench process.
type process struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

func startProcess(t testing.TB, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	p := &process{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process to exit (bounded) and returns its exit code.
func (p *process) wait(t testing.TB, limit time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(limit):
		t.Fatalf("%v did not exit within %v; stderr:\n%s", p.cmd.Args, limit, p.stderr.String())
		return -1
	}
}

// Three shard processes against one shared fake server, started together
// with --start-at, merge into one run that is the sum of its shards and
// matches what the server received, second by second.
func TestShardProcessesMergeExactly(t *testing.T) {
	binary(t) // before the start time is chosen
	cl := testserver.Fake(t, fakeserver.Config{Backends: 1, Seed: 1})
	addr := cl.Addrs()[0]
	const rate, seconds = 300, 3
	dir := t.TempDir()
	sc := filepath.Join(dir, "shared.yaml")
	body := fmt.Sprintf("name: shared\nseed: 5\nserver: {target: %q}\nload: {rate: %d, max_inflight: 30, duration: %ds}\nmix: [{call: GetUser, weight: 3}, {call: CreateUser}]\n", addr, rate, seconds)
	if err := os.WriteFile(sc, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte("name: shared\nload: {rate: 30, duration: 300ms}\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	files, otherFile := runShardProcesses(t, dir, sc, other)

	merged := filepath.Join(dir, "merged.json")
	code, out, errs := runCLI(context.Background(), "merge", files[2], files[0], files[1], "-o", merged)
	if code != exitOK || !strings.Contains(out, "merged 3 files (3 of 3 shards), 1 cells") {
		t.Fatalf("merge: exit %d\n%s\n%s", code, out, errs)
	}
	m, err := results.ReadFile(merged)
	if err != nil {
		t.Fatal(err)
	}
	var shards []*results.Run
	for i, f := range files {
		r, err := results.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if r.Shard == nil || *r.Shard != (results.ShardInfo{Index: i, Count: 3}) || r.ScenarioHash != m.ScenarioHash || r.ScenarioHash == "" {
			t.Fatalf("%s: shard %v hash %q (merged %q)", f, r.Shard, r.ScenarioHash, m.ScenarioHash)
		}
		shards = append(shards, r)
	}
	checkMergedSums(t, m.Cells[0], shards)
	checkMergedServer(t, m.Cells[0], addr, cl.Stats().Backends[0])
	checkMergedSeries(t, m.Cells[0], shards, rate, seconds)

	checkMergeRefusals(t, dir, files, otherFile)
}

// runShardProcesses runs shards 0–2 of sc together, shard 2 taking its
// index from the environment, and shard 1/3 of the other scenario; it
// returns the shards' results files and the other one.
func runShardProcesses(t *testing.T, dir, sc, other string) ([]string, string) {
	t.Helper()
	// One start time for all: --start-in would count from each process's
	// own start, which a loaded machine can delay by hundreds of
	// milliseconds (TestMetricsLiveDuringRun runs --start-in).
	start := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	files := make([]string, 3)
	var procs []*process
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		args := []string{"run", sc, "-q", "-o", files[i], "--start-at", start}
		var env []string
		if i == 2 {
			// As in a Kubernetes Indexed Job: the index from the environment.
			args = append(args, "--shards", "3")
			env = []string{"JOB_COMPLETION_INDEX=2"}
		} else {
			args = append(args, "--shard", fmt.Sprintf("%d/3", i))
		}
		procs = append(procs, startProcess(t, env, args...))
	}
	otherFile := filepath.Join(dir, "other-scenario.json")
	otherProc := startProcess(t, nil, "run", other, "-q", "-o", otherFile, "--shard", "1/3")
	for i, p := range append(procs, otherProc) {
		if code := p.wait(t, 60*time.Second); code != exitOK {
			t.Fatalf("process %d: exit %d\n%s", i, code, p.stderr.String())
		}
	}
	if !strings.Contains(procs[0].stderr.String(), "shard 0/3: starting at ") {
		t.Errorf("no start line: %s", procs[0].stderr.String())
	}
	return files, otherFile
}

// checkMergeRefusals: merges of the wrong inputs name the file and exit 2,
// before writing anything; --allow-missing merges what is there.
func checkMergeRefusals(t *testing.T, dir string, files []string, otherFile string) {
	t.Helper()
	ctx := context.Background()
	bad := filepath.Join(dir, "bad.json")
	for _, tt := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"another scenario", []string{files[0], otherFile, files[2]}, []string{"other-scenario.json", "another scenario"}},
		{"a shard missing", []string{files[0], files[1]}, []string{"shards 2 of 3 are missing"}},
		{"a shard twice", []string{files[0], files[1], files[1]}, []string{"shard-1.json", "again"}},
	} {
		code, _, errs := runCLI(ctx, append(append([]string{"merge"}, tt.args...), "-o", bad)...)
		for _, w := range tt.wants {
			if code != exitUsage || !strings.Contains(errs, w) {
				t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", tt.name, code, errs, w)
			}
		}
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a refused merge wrote %s", bad)
	}
	code, out, errs := runCLI(ctx, "merge", "--allow-missing", files[0], files[2], "-o", bad)
	if code != exitOK || !strings.Contains(out, "(2 of 3 shards)") {
		t.Fatalf("--allow-missing: exit %d %s %s", code, out, errs)
	}
	if r, err := results.ReadFile(bad); err != nil || !r.Partial || len(r.Shards) != 2 {
		t.Fatalf("merge of 2 of 3 shards: %v, partial %v shards %v", err, r.Partial, r.Shards)
	}
}

// checkMergedSums: merged counters are the sums of the shards' counters.
func checkMergedSums(t *testing.T, c *results.Cell, shards []*results.Run) {
	t.Helper()
	var want results.Load
	var calls, latCount int64
	for _, r := range shards {
		sc := r.Cells[0]
		want.Scheduled += sc.Load.Scheduled
		want.Sent += sc.Load.Sent
		want.Completed += sc.Load.Completed
		want.Dropped += sc.Load.Dropped
		want.TargetRate += sc.Load.TargetRate
		want.AchievedRate += sc.Load.AchievedRate
		calls += sc.All.Calls
		latCount += sc.All.Latency.Count()
	}
	l := c.Load
	if l.Scheduled != want.Scheduled || l.Sent != want.Sent || l.Completed != want.Completed || l.Dropped != want.Dropped ||
		c.All.Calls != calls || c.All.Latency.Count() != latCount {
		t.Errorf("merged load %+v calls %d latency count %d; shards sum to %+v calls %d latency count %d",
			l, c.All.Calls, c.All.Latency.Count(), want, calls, latCount)
	}
	if math.Abs(l.TargetRate-300) > 1e-9 || math.Abs(l.AchievedRate-want.AchievedRate) > 1e-9 {
		t.Errorf("merged target %v achieved %v; want 300 and the shards' sum %v", l.TargetRate, l.AchievedRate, want.AchievedRate)
	}
	if math.Abs(float64(l.Scheduled)-900) > 3 || l.Dropped != 0 || l.Completed != l.Scheduled {
		t.Errorf("scheduled %d completed %d dropped %d; want 900 ± 3, all completed", l.Scheduled, l.Completed, l.Dropped)
	}
}

// checkMergedServer: the server received what the merged clients sent.
func checkMergedServer(t *testing.T, c *results.Cell, addr string, b fakeserver.BackendStats) {
	t.Helper()
	if len(c.Backends) != 1 || c.Backends[0].Addr != addr {
		t.Fatalf("merged backends %+v, want one: %s", c.Backends, addr)
	}
	if got := c.Backends[0].ClientCalls; got != b.TotalCalls() || got != c.All.Calls {
		t.Errorf("backend %s: merged client calls %d, server calls %d, merged completed %d", addr, got, b.TotalCalls(), c.All.Calls)
	}
}

// checkMergedSeries: the shards' seconds line up, so each merged second
// holds the total rate's calls.
func checkMergedSeries(t *testing.T, c *results.Cell, shards []*results.Run, rate, seconds int) {
	t.Helper()
	for _, r := range shards {
		if d := r.Cells[0].Start.Sub(c.Start); d < 0 || d > 200*time.Millisecond {
			t.Errorf("shard %s started %v after the first: the common start was not honoured", r.Shard, d)
		}
	}
	if len(c.Series) != seconds {
		t.Fatalf("merged series has %d seconds, want %d", len(c.Series), seconds)
	}
	var sum int64
	for _, s := range c.Series {
		sum += s.Calls
		if math.Abs(float64(s.Calls)-float64(rate)) > 0.1*float64(rate) {
			t.Errorf("merged second %d: %d calls, want %d ± 10%%", s.T, s.Calls, rate)
		}
	}
	if sum != c.All.Calls {
		t.Errorf("merged series adds up to %d calls, the cell has %d", sum, c.All.Calls)
	}
}

func TestScaleFlagsRefused(t *testing.T) {
	sc := writeFile(t, "s.yaml", "load: {model: closed, workers: 2, duration: 200ms}\n")
	out := filepath.Join(t.TempDir(), "r.json")
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"bad shard", "", []string{"--shard", "3/3"}, "--shard: shard \"3/3\": index"},
		{"workers cannot be split", "", []string{"--shard", "0/3"}, "load.workers: 2 cannot be split over 3 shards"},
		{"shards without an index", "", []string{"--shards", "2"}, "--shards 2 needs --shard I/N or $JOB_COMPLETION_INDEX"},
		{"index out of range", "5", []string{"--shards", "2"}, "$JOB_COMPLETION_INDEX=5 with --shards 2"},
		{"index not a number", "x", []string{"--shards", "2"}, `$JOB_COMPLETION_INDEX="x" is not a shard index`},
		{"shard and shards disagree", "", []string{"--shard", "0/2", "--shards", "3"}, "disagree"},
		{"start in the past", "", []string{"--start-at", "2001-01-01T00:00:00Z"}, "in the past"},
		{"start not RFC 3339", "", []string{"--start-at", "tomorrow"}, "want RFC 3339"},
		{"both starts", "", []string{"--start-at", "2099-01-01T00:00:00Z", "--start-in", "1s"}, "not both"},
		{"negative gap", "", []string{"--cell-gap", "-1s"}, "--cell-gap"},
		{"metrics address", "", []string{"--metrics-addr", "nonsense"}, "--metrics-addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(jobIndexEnv, tt.env)
			code, _, errs := runCLI(context.Background(), append([]string{"run", sc, "-q", "-o", out}, tt.args...)...)
			if code != exitUsage || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, errs, tt.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatal("results written for a refused run")
			}
		})
	}
}

func TestHlogName(t *testing.T) {
	if got := hlogName(3, "pool.size=4,lb.policy=round_robin#2", scenarios.Shard{Index: 1, Count: 4}); got != "003-pool.size=4_lb.policy=round_robin_2.shard-1-of-4.hlog" {
		t.Errorf("got %q", got)
	}
	if got := hlogName(0, "base#1", scenarios.Shard{}); got != "000-base_1.hlog" {
		t.Errorf("got %q", got)
	}
}
