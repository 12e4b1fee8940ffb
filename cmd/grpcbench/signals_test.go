package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

// readPartial reads a results file an interrupted run wrote and checks it
// is valid, partial, and holds the one interrupted cell.
func readPartial(t *testing.T, path string) *results.Cell {
	t.Helper()
	run, err := results.ReadFile(path)
	if err != nil {
		t.Fatalf("results of the interrupted run: %v", err)
	}
	if !run.Partial || len(run.Cells) != 1 || !run.Cells[0].Partial || run.Cells[0].Error != "interrupted" {
		t.Fatalf("partial %v, %d cells, first %+v", run.Partial, len(run.Cells), run.Cells[0])
	}
	return run.Cells[0]
}

// reportWhole fails unless dir holds no report (no index.html) or a whole
// one; it reports which. Either way no temporary is left.
func reportWhole(t *testing.T, dir string) (written bool) {
	t.Helper()
	noTemporaries(t, dir)
	html, err := os.ReadFile(filepath.Join(dir, report.IndexFile))
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(bytes.TrimSpace(html), []byte("</html>")) {
		t.Fatalf("index.html is half-written (%d bytes)", len(html))
	}
	return true
}

// TestRunInterrupted: SIGINT and SIGTERM alike stop the run (during the
// load or during warm-up), write valid results marked partial, print the
// summary and exit 3, leaving no temporary file.
func TestRunInterrupted(t *testing.T) {
	tests := []struct {
		name   string
		sig    syscall.Signal
		warmup bool
	}{
		{"SIGINT during the load", syscall.SIGINT, false},
		{"SIGTERM during the load", syscall.SIGTERM, false},
		{"SIGINT during warm-up", syscall.SIGINT, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "results.json")
			args := []string{"run", quickstart, "-o", out, "--set", "load.warmup=0s", "--set", "load.duration=1m", "--metrics-addr", "127.0.0.1:0"}
			if tt.warmup {
				args = []string{"run", quickstart, "-o", out, "--set", "load.warmup=5s", "--set", "load.duration=2s"}
			}
			p := start(t, args...)
			if tt.warmup {
				p.loadFlowing(t)
			} else {
				p.recording(t)
			}
			p.signal(t, tt.sig)
			if code := p.exit(t, 30*time.Second); code != exitFailure {
				t.Fatalf("exit %d, want 3\nstderr:\n%s", code, p.stderr)
			}
			for _, want := range []string{"stopping and keeping what was measured", `interrupted: the results are partial`} {
				if !strings.Contains(p.stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, p.stderr)
				}
			}
			if s := p.stdout.String(); !strings.Contains(s, "calls/s") || !strings.Contains(s, "pool.size=1,lb.policy=round_robin#1") || !strings.Contains(s, "results: "+out) {
				t.Errorf("summary not printed:\n%s", s)
			}
			c := readPartial(t, out)
			if tt.warmup {
				// Nothing is recorded before the warm-up ends.
				if c.Duration != 0 || (c.All != nil && c.All.Calls != 0) || c.Load.Completed != 0 {
					t.Errorf("interrupted in warm-up, yet recorded %v, %+v", c.Duration, c.All)
				}
			} else if c.Duration <= 0 || c.Load.Sent < c.Load.Completed {
				t.Errorf("recorded phase %v, sent %d, completed %d", c.Duration, c.Load.Sent, c.Load.Completed)
			}
			noTemporaries(t, dir)
		})
	}
}

// TestSecondInterruptAborts: a second SIGINT ends the process at once
// with exit 130. Results the first interrupt had written stay valid; a
// report being rendered is abandoned without a temporary directory or a
// half-written index.html.
func TestSecondInterruptAborts(t *testing.T) {
	for _, afterResults := range []bool{true, false} {
		t.Run(fmt.Sprintf("after the results are written=%v", afterResults), func(t *testing.T) {
			dir := t.TempDir()
			out, rep := filepath.Join(dir, "results.json"), filepath.Join(dir, "report")
			p := start(t, "run", quickstart, "-o", out, "--report", rep, "--set", "load.warmup=0s", "--set", "load.duration=1m")
			p.loadFlowing(t)
			p.signal(t, syscall.SIGINT)
			if afterResults {
				p.waitFor(t, "the results line", 30*time.Second, func() bool { return strings.Contains(p.stdout.String(), "results: "+out) })
			} else {
				p.waitFor(t, "the first interrupt's message", 30*time.Second, func() bool { return strings.Contains(p.stderr.String(), "stopping") })
			}
			p.signal(t, syscall.SIGINT)
			if code := p.exit(t, 30*time.Second); code != exitAborted {
				t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
			}
			if !strings.Contains(p.stderr.String(), "interrupt again: aborting") {
				t.Errorf("stderr:\n%s", p.stderr)
			}
			_, err := os.Stat(out)
			switch {
			case afterResults || err == nil:
				readPartial(t, out)
			case !errors.Is(err, os.ErrNotExist):
				t.Fatal(err)
			default:
				t.Log("aborted before the results were written: no results file")
			}
			if _, err := os.Stat(rep); err == nil {
				if reportWhole(t, rep) {
					t.Log("the report had been committed before the abort")
				}
			}
			noTemporaries(t, dir)
		})
	}
}

// heavyResults writes a results file whose report takes a while to render:
// 24 cells over two dimensions with two minutes of series each.
func heavyResults(t *testing.T, dir string) string {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := &results.Run{Name: "heavy", Dimensions: []string{"client.pool.size", "client.lb.policy"}, Started: start, Finished: start.Add(time.Hour)}
	for i := range 24 {
		rec := results.NewRecorder([]string{"GetUser", "ListUsers"}, start)
		sh := rec.Shard()
		for k := range 6000 {
			lat := time.Duration(200+(k*7919+i*104729)%20000) * time.Microsecond
			code := codes.OK
			if k%97 == 0 {
				code = codes.Unavailable
			}
			sh.Call(k%2, code, lat, lat/2, time.Duration(k)*20*time.Millisecond)
		}
		c := rec.Cell()
		size, policy := fmt.Sprint(1<<(i%6)), []string{"round_robin", "pick_first", "least_request", "random"}[i/6]
		c.ID, c.Index, c.Duration = "pool.size="+size+",lb.policy="+policy+"#0", i, 2*time.Minute
		c.Params = []results.Param{{Path: "client.pool.size", Value: size}, {Path: "client.lb.policy", Value: policy}}
		c.Load = results.Load{Model: results.ModelClosed, Completed: 6000, AchievedRate: 50, Workers: 8}
		run.Cells = append(run.Cells, c)
	}
	p := filepath.Join(dir, "heavy.json")
	if err := results.WriteFile(p, run); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInterruptDuringReport: an interrupt while a report renders abandons
// it (exit 3): the report directory gets no index.html, half-written or
// whole, and no temporary; the results file written before stays valid.
// Should the report be committed before the signal lands, the command
// exits 0 with the whole report: the test logs which happened.
func TestInterruptDuringReport(t *testing.T) {
	t.Run("run --report", func(t *testing.T) {
		dir := t.TempDir()
		out, rep := filepath.Join(dir, "results.json"), filepath.Join(dir, "report")
		p := start(t, "run", quickstart, "-o", out, "--report", rep, "--set", "load.warmup=0s", "--set", "load.duration=500ms")
		p.waitFor(t, "the results line", time.Minute, func() bool { return strings.Contains(p.stdout.String(), "results: "+out) })
		p.signal(t, syscall.SIGINT)
		code := p.exit(t, 30*time.Second)
		checkInterruptedReport(t, p, code, rep)
		run, err := results.ReadFile(out)
		if err != nil || run.Partial || len(run.Cells) != 4 {
			t.Fatalf("results: %v (partial %v)", err, run != nil && run.Partial)
		}
		noTemporaries(t, dir)
	})
	t.Run("report", func(t *testing.T) {
		dir := t.TempDir()
		in, rep := heavyResults(t, dir), filepath.Join(dir, "report")
		p := start(t, "report", in, "-o", rep)
		p.waitFor(t, "the report's temporary directory", 30*time.Second, func() bool {
			m, _ := filepath.Glob(filepath.Join(rep, ".report-tmp-*"))
			return len(m) > 0
		})
		p.signal(t, syscall.SIGINT)
		checkInterruptedReport(t, p, p.exit(t, 30*time.Second), rep)
		noTemporaries(t, dir)
	})
}

func checkInterruptedReport(t *testing.T, p *proc, code int, rep string) {
	t.Helper()
	written := reportWhole(t, rep)
	switch {
	case code == exitFailure && !written:
		if !strings.Contains(p.stderr.String(), rep+": not written: interrupted") {
			t.Errorf("stderr:\n%s", p.stderr)
		}
	case code == exitOK && written:
		t.Log("the report was committed before the interrupt landed")
	default:
		t.Fatalf("exit %d with report written=%v\nstderr:\n%s", code, written, p.stderr)
	}
}

// TestHandleInterrupts drives the interrupt handler in this process: the
// first signal cancels the context; the second waits for a commit in
// progress, removes tracked temporaries and exits 130.
func TestHandleInterrupts(t *testing.T) {
	g := newFileGuard()
	exited := make(chan int, 1)
	var stderr syncBuffer
	ctx, stop := handleInterrupts(context.Background(), &stderr, g, func(code int) { exited <- code })
	defer stop()
	if guardFrom(ctx) != g {
		t.Fatal("context does not carry the guard")
	}
	tmp, remove, err := g.mkdirTemp(t.TempDir(), ".report-tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("first signal did not cancel the context")
	}
	// A commit in progress holds the abort back until it ends.
	committing, release := make(chan struct{}), make(chan struct{})
	commitDone := make(chan error, 1)
	go func() {
		commitDone <- g.commit(func() error {
			close(committing)
			<-release
			return nil
		})
	}()
	<-committing
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the second signal to be handled", func() bool { return strings.Contains(stderr.String(), "again: aborting") })
	select {
	case code := <-exited:
		t.Fatalf("exited %d while a commit was in progress", code)
	default:
	}
	close(release)
	if err := <-commitDone; err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != exitAborted {
			t.Fatalf("exit %d, want 130", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after the commit ended")
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary directory not removed: %v", err)
	}
	// After the abort, no temporary directory can be made.
	if _, _, err := g.mkdirTemp(t.TempDir(), "x-*"); !errors.Is(err, errAborted) {
		t.Fatalf("mkdirTemp after the abort: %v", err)
	}
}
