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
			if rows := strings.Count(body[1], "<tr"); rows != tt.cells {
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

// The page marks the best cells and shows the flags of the others, with
// the verdict on top.
func TestBestMarkedAndFlags(t *testing.T) {
	dir := t.TempDir()
	if err := report.Write(context.Background(), dir, []*results.Run{poolVsLB(2, "")}, report.Options{}); err != nil {
		t.Fatal(err)
	}
	html := readReport(t, dir)
	head := regexp.MustCompile(`<th [^>]*data-name="([^"]+)"`).FindAllStringSubmatch(html, -1)
	p99 := slices.IndexFunc(head, func(m []string) bool { return m[1] == "p99" })
	if p99 < 0 {
		t.Fatal("no p99 column")
	}
	rows := strings.Split(tbodyRE.FindStringSubmatch(html)[1], "<tr")[1:]
	if len(rows) != 12 {
		t.Fatalf("%d rows", len(rows))
	}
	bestRows := 0
	for _, r := range rows {
		cells := strings.Split(r, "<td")[1:]
		pick := strings.Contains(cells[0], "pick_first")
		flag := strings.Contains(cells[0], `<span class="flag">all calls to backend 0</span>`)
		if pick != flag || pick != strings.HasPrefix(r, ` class="flagged"`) {
			t.Errorf("row flags wrong (pick_first %v, flag %v):\n%s", pick, flag, r)
		}
		if strings.Contains(cells[p99], `class="best"`) {
			bestRows++
			if pick {
				t.Errorf("pick_first marked best on p99:\n%s", r)
			}
		}
		if pick && strings.Contains(r, `class="best"`) {
			t.Errorf("a flagged row has a best mark:\n%s", r)
		}
	}
	if bestRows != 1 {
		t.Errorf("%d rows marked best on p99, want 1", bestRows)
	}
	if !strings.Contains(html, `<p class="verdict">Lowest p99: pool.size=`) {
		t.Error("no verdict line")
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
