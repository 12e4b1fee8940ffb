package report_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

var (
	imgRE   = regexp.MustCompile(`<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)" height="(\d+)" alt="[^"]*" data-file="([^"]+)">`)
	tbodyRE = regexp.MustCompile(`(?s)<table class="sortable summary">.*?<tbody>(.*?)</tbody>`)
)

// readReport returns index.html of dir.
func readReport(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWrite(t *testing.T) {
	all := []string{report.SpectrumFile, report.MatrixFile, report.TimelineFile, report.RetriesFile, report.BackendsFile, report.CodesFile}
	plainCharts := []string{report.SpectrumFile, report.MatrixFile, report.TimelineFile, report.CodesFile}
	pool := dim{"client.pool.size", []string{"1", "2", "4"}}
	lb := dim{"client.lb.policy", []string{"pick_first", "round_robin"}}
	backoff := dim{"client.retry.policy", []string{"exponential", "fixed"}}
	tests := []struct {
		name   string
		runs   []synth
		opts   report.Options
		cells  int
		charts []string
	}{
		{"no matrix", []synth{{name: "single", secs: 5, perSec: 40, seed: 1}}, report.Options{}, 1, all},
		{"one dimension with repeats", []synth{{name: "d1", dims: []dim{pool}, repeats: 2, secs: 5, perSec: 40, seed: 2}}, report.Options{}, 6, all},
		{"two dimensions", []synth{{name: "d2", dims: []dim{pool, lb}, secs: 5, perSec: 40, seed: 3}}, report.Options{}, 6, all},
		{"three dimensions", []synth{{name: "d3", dims: []dim{pool, lb, backoff}, secs: 5, perSec: 40, seed: 4}}, report.Options{Width: 900}, 12, all},
		{"no retry layer or backends", []synth{{name: "plain", dims: []dim{pool}, secs: 5, perSec: 40, seed: 5, plain: true}}, report.Options{}, 3, plainCharts},
		{"baseline vs new", []synth{{name: "cmp", dims: []dim{pool}, secs: 5, perSec: 40, seed: 6}, {name: "cmp", dims: []dim{pool}, secs: 5, perSec: 40, seed: 7}}, report.Options{MaxLines: 2, MaxPanels: 2}, 6, all},
		{"long series downsampled", []synth{{name: "long", secs: 900, perSec: 2, seed: 8}}, report.Options{MaxPoints: 50}, 1, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // CPU-bound rendering: use both cores
			var runs []*results.Run
			for _, s := range tt.runs {
				runs = append(runs, s.run(t))
			}
			dir := filepath.Join(t.TempDir(), "out")
			if err := report.Write(context.Background(), dir, runs, tt.opts); err != nil {
				t.Fatal(err)
			}
			html := readReport(t, dir)
			width := tt.opts.Width
			if width == 0 {
				width = report.DefaultWidth
			}
			imgs := imgRE.FindAllStringSubmatch(html, -1)
			var files []string
			for _, m := range imgs {
				files = append(files, m[4])
				embedded, err := png.DecodeConfig(base64Reader(t, m[1]))
				if err != nil {
					t.Fatalf("%s: embedded image: %v", m[4], err)
				}
				raw, err := os.ReadFile(filepath.Join(dir, m[4]))
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(bytes.NewReader(raw))
				if err != nil {
					t.Fatalf("%s: %v", m[4], err)
				}
				w, h := img.Bounds().Dx(), img.Bounds().Dy()
				if w != width || strconv.Itoa(w) != m[2] || strconv.Itoa(h) != m[3] || embedded.Width != w || embedded.Height != h {
					t.Errorf("%s: %dx%d, embedded %dx%d, HTML says %sx%s, want width %d", m[4], w, h, embedded.Width, embedded.Height, m[2], m[3], width)
				}
				if h < 150 {
					t.Errorf("%s: height %d is implausibly small", m[4], h)
				}
			}
			if !slices.Equal(files, tt.charts) {
				t.Errorf("charts %v, want %v", files, tt.charts)
			}
			onDisk, _ := filepath.Glob(filepath.Join(dir, "*.png"))
			if len(onDisk) != len(tt.charts) {
				t.Errorf("%d PNG files on disk, want one per chart (%d)", len(onDisk), len(tt.charts))
			}
			if n := strings.Count(html, "<img "); n != len(tt.charts) {
				t.Errorf("%d <img> tags, want %d", n, len(tt.charts))
			}
			body := tbodyRE.FindStringSubmatch(html)
			if body == nil {
				t.Fatal("no summary table")
			}
			if rows := strings.Count(body[1], "<tr>"); rows != tt.cells {
				t.Errorf("summary table has %d rows, want one per cell (%d)", rows, tt.cells)
			}
			if strings.Contains(html, `src="http`) || strings.Contains(html, `href="http`) {
				t.Error("the page references the network")
			}
		})
	}
}

func base64Reader(t *testing.T, s string) *bytes.Reader {
	t.Helper()
	b, err := decodeBase64(s)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// TestEscaping puts markup in every text that comes from results or
// options and checks that it is rendered as text.
func TestEscaping(t *testing.T) {
	evil := "<script>alert(1)</script>"
	run := synth{name: evil, dims: []dim{{"client." + evil, []string{evil, "x"}}}, secs: 3, perSec: 20, seed: 9}.run(t)
	run.Cells[0].Error = evil
	run.Provenance.Hostname = evil
	run.Provenance.CPU = `"><img src=x onerror=alert(1)>`
	dir := t.TempDir()
	opts := report.Options{Title: evil, RunLabels: []string{evil}, Verdicts: []report.Verdict{{Cell: evil, Name: evil, Value: evil, Limit: evil}}}
	if err := report.Write(context.Background(), dir, []*results.Run{run}, opts); err != nil {
		t.Fatal(err)
	}
	html := readReport(t, dir)
	if n := strings.Count(html, "<script"); n != 1 {
		t.Errorf("%d <script elements, want only the page's own", n)
	}
	if strings.Contains(html, "alert(1)</script>") || strings.Contains(html, "<img src=x") {
		t.Error("markup from results reached the page unescaped")
	}
	if n := strings.Count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 8 {
		t.Errorf("escaped name appears %d times, want it in title, runs, table, verdicts, provenance and scenario", n)
	}
}

func TestBestMarked(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id string, lat time.Duration, calls int) *results.Cell {
		rec := results.NewRecorder([]string{"GetUser"}, start)
		sh := rec.Shard()
		for i := 0; i < calls; i++ {
			sh.Call(0, 0, lat, lat, time.Duration(i)*time.Millisecond)
		}
		c := rec.Cell()
		c.ID, c.Duration = id, time.Second
		return c
	}
	run := &results.Run{Schema: results.Schema, Name: "best", Cells: []*results.Cell{mk("slow", 9*time.Millisecond, 500), mk("fast", time.Millisecond, 400)}}
	dir := t.TempDir()
	if err := report.Write(context.Background(), dir, []*results.Run{run}, report.Options{}); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(tbodyRE.FindStringSubmatch(readReport(t, dir))[1], "<tr>")[1:]
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	cells := func(row string) []string { return strings.Split(row, "<td")[2:] }
	slow, fast := cells(rows[0]), cells(rows[1])
	// Column 0 is calls/s (higher is best), 1..5 latency (lower is best),
	// 6 errors: equal everywhere, so not marked.
	if !strings.Contains(slow[0], `class="best"`) || strings.Contains(fast[0], `class="best"`) {
		t.Errorf("calls/s: want the slow cell (500 calls/s) marked:\n%s\n%s", slow[0], fast[0])
	}
	for i := 1; i <= 5; i++ {
		if !strings.Contains(fast[i], `class="best"`) || strings.Contains(slow[i], `class="best"`) {
			t.Errorf("latency column %d: want the fast cell marked:\n%s\n%s", i, slow[i], fast[i])
		}
	}
	if strings.Contains(slow[6]+fast[6], `class="best"`) {
		t.Error("error rate is equal in both cells and must not be marked")
	}
}

func TestWriteErrors(t *testing.T) {
	good := synth{name: "ok", secs: 2, perSec: 10, seed: 1}.run(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		runs []*results.Run
		opts report.Options
		want string
	}{
		{"no runs", context.Background(), nil, report.Options{}, "no runs"},
		{"nil run", context.Background(), []*results.Run{good, nil}, report.Options{}, "run 1 is nil"},
		{"bad options", context.Background(), []*results.Run{good}, report.Options{Width: 10}, "width: must be between"},
		{"cancelled", cancelled, []*results.Run{good}, report.Options{}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			err := report.Write(tt.ctx, dir, tt.runs, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write: %v, want an error containing %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, report.IndexFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("index.html written despite the error (stat: %v)", err)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		opts report.Options
		want []string
	}{
		{report.Options{}, nil},
		{report.Options{Width: 400, MaxLines: 1, MaxPanels: 100, MaxPoints: 3}, nil},
		{report.Options{Width: 399}, []string{"width: must be between 400 and 4000"}},
		{report.Options{Width: 4001, MaxLines: -1}, []string{"width:", "max_lines: must be between 1 and 100"}},
		{report.Options{MaxPanels: 101, MaxPoints: 2}, []string{"max_panels:", "max_points: must be at least 3"}},
	}
	for _, tt := range tests {
		err := tt.opts.Validate()
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%+v: %v", tt.opts, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%+v: no error, want %q", tt.opts, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q does not contain %q", tt.opts, err, w)
			}
		}
	}
}
