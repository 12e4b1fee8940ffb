package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostileDir holds the hostile results files of package results, each
// listed in want.txt with a substring its error must contain (the path
// inside the file at fault).
const hostileDir = "../../results/testdata/hostile"

// maxHostileRSS bounds the peak memory of a grpcbench process refusing a
// hostile file: the binary itself takes about 30 MB; decoding what the
// hostile headers claim would take hundreds.
const maxHostileRSS = 150 << 20

// TestHostileResultsFiles gives every hostile results file (truncated,
// lying histogram headers and compression bombs, NaN, negative counts,
// wrong types, foreign or missing schema, …) to report, compare (as base
// and as new) and merge, over the real binary: each must exit 2 with the
// file and the path inside it named, never panic, and stay within
// maxHostileRSS of memory.
func TestHostileResultsFiles(t *testing.T) {
	dir := t.TempDir()
	valid := writeReportResults(t, dir, "valid.json", "hostile")
	f, err := os.Open(filepath.Join(hostileDir, "want.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type hostile struct{ path, want string }
	var files []hostile
	for sc := bufio.NewScanner(f); sc.Scan(); {
		name, want, _ := strings.Cut(sc.Text(), "\t")
		files = append(files, hostile{filepath.Join(hostileDir, name), want})
	}
	// Inputs that are not files of JSON at all.
	files = append(files, hostile{"/dev/zero", `starts with '\x00'`}, hostile{dir, "is a directory"})
	if len(files) < 40 {
		t.Fatalf("%d hostile files", len(files))
	}
	for _, h := range files {
		for _, args := range [][]string{
			{"report", h.path, "-o", filepath.Join(dir, "rep")},
			{"compare", h.path, valid},
			{"compare", valid, h.path},
			{"merge", valid, h.path, "-o", filepath.Join(dir, "m.json")},
		} {
			t.Run(filepath.Base(h.path)+"/"+args[0], func(t *testing.T) {
				p := start(t, args...)
				code := p.exit(t, time.Minute)
				stderr := p.stderr.String()
				if code != exitUsage || !strings.Contains(stderr, h.path) || !strings.Contains(stderr, h.want) {
					t.Fatalf("exit %d, want 2 and stderr naming %s and %q\nstderr:\n%s", code, h.path, h.want, stderr)
				}
				if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
					t.Fatalf("panicked:\n%s", stderr)
				}
				if rss, limit := p.maxRSS(), max(maxHostileRSS, selfMaxRSS()); rss > limit {
					t.Fatalf("peak RSS %d MiB refusing %s (limit %d MiB)", rss>>20, h.path, limit>>20)
				}
			})
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "m.json")); err == nil {
		t.Error("merge wrote a results file from a hostile input")
	}
	if _, err := os.Stat(filepath.Join(dir, "rep", "index.html")); err == nil {
		t.Error("report rendered a hostile input")
	}
}
