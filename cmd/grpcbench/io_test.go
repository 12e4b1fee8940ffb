package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// TestOutputsRefusedBeforeLoad: every output of run, report, compare and
// merge that cannot be written is refused up front (exit 2, naming the
// flag, the absolute path and the OS error) before any load is sent or
// any input read. The runs ask for 10 minutes of load: a check made only
// at the end would hit the test's one-minute bound.
func TestOutputsRefusedBeforeLoad(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, "regular", "x")      // a regular file
	ro := mountTmpfs(t, 1<<20, true)          // a read-only file system, read-only for root too
	existingDir := filepath.Join(dir, "adir") // an existing directory
	if err := os.Mkdir(existingDir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := writeReportResults(t, dir, "in.json", "pool")
	in2 := writeReportResults(t, dir, "in2.json", "pool")
	places := []struct {
		name    string
		path    string
		wantErr string // the OS error, with the path it names
		files   bool   // applies to file outputs
		dirs    bool   // applies to directory outputs
	}{
		{"under a regular file", filepath.Join(file, "sub", "out"), "mkdir " + file + ": not a directory", true, true},
		{"missing parent on a read-only file system", filepath.Join(ro, "a", "b", "out"), "mkdir " + filepath.Join(ro, "a") + ": read-only file system", true, true},
		{"read-only directory", filepath.Join(ro, "out"), "open " + filepath.Join(ro, ".grpcbench-probe-"), true, false},
		{"read-only report directory", ro, "open " + filepath.Join(ro, ".grpcbench-probe-"), false, true},
		{"file output is a directory", existingDir, "open " + existingDir + ": is a directory", true, false},
		{"report directory is a file", file, "mkdir " + file + ": not a directory", false, true},
	}
	load := []string{"run", quickstart, "--set", "load.warmup=0s", "--set", "load.duration=10m"}
	commands := []struct {
		name string
		dir  bool
		flag string
		args func(out string) []string
	}{
		{"run -o", false, "-o", func(out string) []string { return append(load, "-o", out) }},
		{"run --report", true, "--report", func(out string) []string {
			return append(load, "-o", filepath.Join(t.TempDir(), "r.json"), "--report", out)
		}},
		{"report -o", true, "-o", func(out string) []string { return []string{"report", in, "-o", out} }},
		{"compare --junit", false, "--junit", func(out string) []string { return []string{"compare", in, in2, "--junit", out} }},
		{"compare --markdown", false, "--markdown", func(out string) []string { return []string{"compare", in, in2, "--markdown", out} }},
		{"compare --report", true, "--report", func(out string) []string { return []string{"compare", in, in2, "--report", out} }},
		{"merge -o", false, "-o", func(out string) []string { return []string{"merge", in, in2, "-o", out} }},
	}
	for _, c := range commands {
		for _, pl := range places {
			if c.dir && !pl.dirs || !c.dir && !pl.files {
				continue
			}
			t.Run(c.name+"/"+pl.name, func(t *testing.T) {
				code, stdout, stderr := runBinary(t, c.args(pl.path)...)
				want := c.flag + " " + pl.path + ": cannot be written: " + pl.wantErr
				if code != exitUsage || !strings.Contains(stderr, want) {
					t.Fatalf("exit %d, want 2 and stderr containing %q\nstderr:\n%s", code, want, stderr)
				}
				if stdout != "" || strings.Contains(stderr, "cell ") {
					t.Fatalf("work was done before the refusal:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
				}
			})
		}
	}
	noTemporaries(t, dir)
	if names := dirNames(t, ro); len(names) != 0 {
		t.Fatalf("read-only mount holds %v", names)
	}
}

// TestWriteFailsAtEnd: when an output fails as it is written (a full disk:
// a filled tmpfs, ENOSPC; a file-size limit, EFBIG), the command exits 3
// naming the path and the OS error, leaves no temporary file, and run
// still prints its summary table so the numbers are not lost.
func TestWriteFailsAtEnd(t *testing.T) {
	full := fullTmpfs(t)
	dir := t.TempDir()
	in := writeReportResults(t, dir, "in.json", "pool")
	in2 := writeReportResults(t, dir, "in2.json", "pool")
	short := []string{"run", quickstart, "--set", "load.warmup=0s", "--set", "load.duration=300ms"}
	tests := []struct {
		name    string
		args    []string
		want    []string // in stderr
		summary bool     // run's table on stdout
	}{
		{"run -o on a full disk", append(short, "-o", filepath.Join(full, "r.json")),
			[]string{"results not written: results: write " + filepath.Join(full, "r.json") + ": ", "no space left on device"}, true},
		{"run --report on a full disk", append(short, "-o", filepath.Join(dir, "ok.json"), "--report", filepath.Join(full, "rep")),
			[]string{"report: ", filepath.Join(full, "rep"), "no space left on device"}, true},
		{"report -o on a full disk", []string{"report", in, "-o", filepath.Join(full, "rep2")},
			[]string{filepath.Join(full, "rep2"), "no space left on device"}, false},
		{"compare --junit on a full disk", []string{"compare", in, in2, "--junit", filepath.Join(full, "j.xml")},
			[]string{"--junit: write " + filepath.Join(full, ".j.xml.tmp-"), "no space left on device"}, false},
		{"compare --markdown on a full disk", []string{"compare", in, in2, "--markdown", filepath.Join(full, "c.md")},
			[]string{filepath.Join(full, ".c.md.tmp-"), "no space left on device"}, false},
		{"merge -o on a full disk", []string{"merge", in, in2, "-o", filepath.Join(full, "m.json")},
			[]string{"results: write " + filepath.Join(full, "m.json"), "no space left on device"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, tt.args...)
			if code != exitFailure {
				t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.summary && (!strings.Contains(stdout, "calls/s") || !strings.Contains(stdout, "pool.size=4,lb.policy=least_request#1")) {
				t.Errorf("summary table not printed:\n%s", stdout)
			}
			noTemporaries(t, full)
			noTemporaries(t, dir)
		})
	}
	// Only the filler and the report directories (empty) remain.
	for _, name := range dirNames(t, full) {
		if name == "filler" {
			continue
		}
		if names := dirNames(t, filepath.Join(full, name)); len(names) != 0 {
			t.Errorf("%s holds %v", name, names)
		}
	}
	if _, err := results.ReadFile(filepath.Join(dir, "ok.json")); err != nil {
		t.Errorf("the results written before the report failed: %v", err)
	}
}

// TestWriteFailsAtEndFileSizeLimit runs with RLIMIT_FSIZE below the
// results file's size (set by the shell's ulimit and kept through exec):
// the write fails with EFBIG (Go ignores SIGXFSZ), the run exits 3 naming
// the path, keeps no temporary and prints the summary.
func TestWriteFailsAtEndFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	p := startCmd(t, "sh", "-c", `ulimit -f 8 && exec "$0" "$@"`, binary(t),
		"run", quickstart, "--set", "load.warmup=0s", "--set", "load.duration=300ms", "-o", out)
	if code := p.exit(t, time.Minute); code != exitFailure {
		t.Fatalf("exit %d, want 3\nstderr:\n%s", code, p.stderr)
	}
	for _, w := range []string{"results: write " + out, "file too large"} {
		if !strings.Contains(p.stderr.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, p.stderr)
		}
	}
	if !strings.Contains(p.stdout.String(), "calls/s") {
		t.Errorf("summary table not printed:\n%s", p.stdout)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Fatalf("%s holds %v", dir, names)
	}
}
