package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/results"
)

// writeReportResults writes a small two-cell results file named name into dir.
func writeReportResults(t *testing.T, dir, file, scenario string) string {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := &results.Run{Name: scenario, Dimensions: []string{"client.pool.size"}, Started: start, Finished: start.Add(time.Minute)}
	for i, size := range []string{"1", "4"} {
		rec := results.NewRecorder([]string{"GetUser"}, start)
		sh := rec.Shard()
		for k := 0; k < 200; k++ {
			code := codes.OK
			if k%50 == 0 {
				code = codes.Unavailable
			}
			lat := time.Duration(1+i+k%7) * time.Millisecond
			sh.Call(0, code, lat, lat/2, time.Duration(k)*10*time.Millisecond)
		}
		c := rec.Cell()
		c.ID, c.Index = "client.pool.size="+size+"#0", i
		c.Params = []results.Param{{Path: "client.pool.size", Value: size}}
		c.Duration = 2 * time.Second
		run.Cells = append(run.Cells, c)
	}
	p := filepath.Join(dir, file)
	if err := results.WriteFile(p, run); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunReport(t *testing.T) {
	dir := t.TempDir()
	base := writeReportResults(t, dir, "baseline.json", "pool")
	cand := writeReportResults(t, dir, "new.json", "pool")
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.json")
	if err := os.WriteFile(foreign, []byte(`{"schema":"other/v9"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.json")
	tests := []struct {
		name       string
		args       []string
		code       int
		stderr     string   // substring of stderr
		htmlWants  []string // substrings of index.html in -o
		stdoutWant string
	}{
		{"one file", []string{base, "-o", "OUT"}, exitOK, "", []string{"grpcbench: pool", "size=4"}, "index.html"},
		{"overlay labelled by file", []string{base, cand, "-o", "OUT"}, exitOK, "", []string{"baseline vs new", "baseline: size=1", "new: size=4"}, "index.html"},
		{"explicit labels", []string{base, cand, "-o", "OUT", "--label", "old,fresh", "--title", "A/B"}, exitOK, "", []string{"<title>A/B</title>", "fresh: size=1"}, ""},
		{"missing file", []string{missing, "-o", "OUT"}, exitUsage, "missing.json", nil, ""},
		{"not a results file", []string{base, garbage, "-o", "OUT"}, exitUsage, "garbage.json", nil, ""},
		{"foreign schema", []string{foreign, "-o", "OUT"}, exitUsage, "foreign.json", nil, ""},
		{"no files", []string{"-o", "OUT"}, exitUsage, "no results file", nil, ""},
		{"no output", []string{base}, exitUsage, "-o DIR is required", nil, ""},
		{"too many labels", []string{base, "-o", "OUT", "--label", "a,b"}, exitUsage, "2 labels for 1", nil, ""},
		{"bad width", []string{base, "-o", "OUT", "--width", "5"}, exitUsage, "width: must be between", nil, ""},
		{"unknown flag", []string{base, "-o", "OUT", "--nope"}, exitUsage, "unknown flag", nil, ""},
		{"output not a directory", []string{base, "-o", filepath.Join(blocker, "sub")}, exitUsage, "blocker/sub: cannot be written: mkdir " + blocker + ": not a directory", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "OUT", out)
			}
			var stdout, stderr bytes.Buffer
			e := &env{stdout: &stdout, stderr: &stderr}
			code := exitCode(e, runReport(context.Background(), e, args))
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if tt.stderr != "" && !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tt.stderr)
			}
			if tt.stdoutWant != "" && !strings.Contains(stdout.String(), tt.stdoutWant) {
				t.Errorf("stdout %q does not mention %q", stdout.String(), tt.stdoutWant)
			}
			if tt.htmlWants == nil {
				return
			}
			html, err := os.ReadFile(filepath.Join(out, "index.html"))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.htmlWants {
				if !bytes.Contains(html, []byte(w)) {
					t.Errorf("index.html lacks %q", w)
				}
			}
			pngs, _ := filepath.Glob(filepath.Join(out, "*.png"))
			if len(pngs) == 0 || bytes.Count(html, []byte("<img ")) != len(pngs) {
				t.Errorf("%d PNG files, %d images in the page", len(pngs), bytes.Count(html, []byte("<img ")))
			}
		})
	}
}
