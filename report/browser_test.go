package report_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
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

// The browser test drives Chromium through its own command line: --dump-dom
// prints the page's DOM after the load event (after the page's scripts
// ran), --screenshot writes a PNG, and --enable-logging=stderr prints every
// console message as a "CONSOLE" line. No DevTools client is needed.

// chromiumFlags make a headless run that works in a container and touches
// nothing outside its own fresh profile.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
	"--enable-logging=stderr", "--v=0"}

// chromium returns the browser to test with; a missing browser fails the
// test (it is part of the tool chain, not optional).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: apt-get install chromium (scripts/install-tools.sh installs it)")
	return ""
}

// runChromium runs the browser on url with extra flags and a new profile,
// and returns its stdout and the console messages it logged.
func runChromium(t *testing.T, bin, url string, extra ...string) (stdout string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append(slices.Clone(chromiumFlags), "--user-data-dir="+t.TempDir())
	args = append(append(args, extra...), url)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, errb.String())
	}
	for _, l := range strings.Split(errb.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") {
			console = append(console, l)
		}
	}
	return out.String(), console
}

var (
	bodyAttrRE = regexp.MustCompile(`<body data-images="(\d+)" data-images-loaded="(\d+)" data-errors="(\d+)"`)
	headRE     = regexp.MustCompile(`<th [^>]*data-name="([^"]+)"[^>]*>`)
	dataVRE    = regexp.MustCompile(`data-v="([^"]*)"`)
)

// TestBrowser opens a pool-vs-lb report in headless Chromium (sorted by p99
// through the page's #sort= link) and checks what a reader sees: the
// pick_first cells carry their flag and no best mark, the verdict is on
// top, the table sorts, every image loads, nothing is logged to the
// console, names from results are text, and the screenshot is not blank.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	evil := "<script>alert(1)</script>"
	dir := t.TempDir()
	opts := report.Options{RunLabels: []string{"pool-vs-lb " + evil},
		Verdicts: []report.Verdict{{Cell: evil, Name: "p99", Value: "12ms", Limit: "< 150ms", Pass: true}}}
	if err := report.Write(context.Background(), dir, []*results.Run{poolVsLB(2, "")}, opts); err != nil {
		t.Fatal(err)
	}
	index, err := filepath.Abs(filepath.Join(dir, report.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "*.png"))

	dom, console := runChromium(t, bin, "file://"+index+"#sort=p99", "--dump-dom")
	if len(console) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
	}
	m := bodyAttrRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page's load script did not run:\n%.2000s", dom)
	}
	if m[1] != strconv.Itoa(len(pngs)) || m[2] != m[1] || m[3] != "0" || len(pngs) == 0 {
		t.Errorf("page self-check: %s of %s images loaded (want %d), %s errors", m[2], m[1], len(pngs), m[3])
	}
	checkFlagsAndBest(t, dom)
	if !strings.Contains(dom, `<p class="verdict">Lowest p99: pool.size=`) {
		t.Error("no verdict line at the top")
	}
	if n := strings.Count(dom, "<script"); n != 1 || !strings.Contains(dom, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("%d <script> elements, or the escaped name is not shown as text", n)
	}

	shot := filepath.Join(t.TempDir(), "page.png")
	if _, console := runChromium(t, bin, "file://"+index, "--window-size=1280,2400", "--screenshot="+shot); len(console) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
	}
	raw, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	// GRPCBENCH_SCREENSHOT=path keeps the screenshot (e.g. as a CI artifact).
	if keep := os.Getenv("GRPCBENCH_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := nonBlank(img); err != nil {
		t.Errorf("screenshot: %v", err)
	}
}

// checkFlagsAndBest reads the summary table of the dumped DOM: every
// pick_first row shows "all calls to backend 0" and no best mark, other
// rows have no flag, one row is best on p99, and the rows are sorted by
// p99 (the #sort=p99 link clicked its header).
func checkFlagsAndBest(t *testing.T, dom string) {
	t.Helper()
	table := dom[strings.Index(dom, `<table class="sortable summary">`):]
	table = table[:strings.Index(table, "</table>")]
	var heads []string
	for _, h := range headRE.FindAllStringSubmatch(table, -1) {
		heads = append(heads, h[1])
	}
	p99 := slices.Index(heads, "p99")
	if p99 < 0 || !regexp.MustCompile(`data-name="p99"[^>]*aria-sort="ascending"|aria-sort="ascending"[^>]*data-name="p99"`).MatchString(table) {
		t.Fatalf("p99 header missing or not sorted ascending: %q", heads)
	}
	body := table[strings.Index(table, "<tbody>"):]
	rows := strings.Split(body, "<tr")[1:]
	if len(rows) != 12 {
		t.Fatalf("%d rows, want 12", len(rows))
	}
	var sorted []float64
	bestOnP99 := 0
	for _, r := range rows {
		cells := strings.Split(r, "<td")[1:]
		pick := strings.Contains(cells[0], "policy=pick_first")
		flagged := strings.Contains(cells[0], `<span class="flag">all calls to backend 0</span>`)
		if pick != flagged {
			t.Errorf("pick_first %v but flag shown %v:\n%s", pick, flagged, cells[0])
		}
		if pick && strings.Contains(r, `class="best"`) {
			t.Errorf("a pick_first row has a best mark:\n%s", r)
		}
		if strings.Contains(cells[p99], `class="best"`) {
			bestOnP99++
		}
		v, err := strconv.ParseFloat(dataVRE.FindStringSubmatch(cells[p99])[1], 64)
		if err != nil {
			t.Fatalf("p99 cell %q: %v", cells[p99], err)
		}
		sorted = append(sorted, v)
	}
	if bestOnP99 != 1 {
		t.Errorf("%d rows best on p99, want 1", bestOnP99)
	}
	if !slices.IsSorted(sorted) {
		t.Errorf("p99 column not sorted ascending after #sort=p99: %v", sorted)
	}
}

// nonBlank checks that an image has content: a good share of pixels that
// are not the background colour, and many distinct colours.
func nonBlank(img image.Image) error {
	b := img.Bounds()
	if b.Dx() < 100 || b.Dy() < 100 {
		return fmt.Errorf("too small: %v", b)
	}
	bg := img.At(b.Min.X, b.Min.Y)
	br, bgG, bb, _ := bg.RGBA()
	colors := map[uint32]bool{}
	differ, total := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if r != br || g != bgG || bl != bb {
				differ++
			}
			colors[(r>>11)<<10|(g>>11)<<5|bl>>11] = true
		}
	}
	if differ*100 < total*2 {
		return fmt.Errorf("blank: only %d of %d sampled pixels differ from the background", differ, total)
	}
	if len(colors) < 16 {
		return errors.New("blank: fewer than 16 distinct colours")
	}
	return nil
}
