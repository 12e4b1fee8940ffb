package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/results"
)

const liveScenario = `name: live
seed: 9
server:
  backends: 2
  faults:
    - {method: GetUser, error: {code: UNAVAILABLE, rate: 0.2}}
load: {rate: 200, max_inflight: 32, duration: 3s}
mix: [{call: GetUser, weight: 3}, {call: ListUsers, messages: 3}]
client:
  retry: {max_attempts: 2, codes: [UNAVAILABLE]}
  breaker: {failure_threshold: 5, open_for: 300ms}
matrix: {client.pool.size: [1, 2]}
`

// A run with --metrics-addr is scraped while it runs, with Prometheus' own
// text parser (and, through a real Prometheus server, its query API): the
// counters never go down and end equal to the results file's totals. The
// same run writes one .hlog per cell, read back with hdrhistogram-go.
func TestMetricsLiveDuringRun(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("the Prometheus server is not installed: run scripts/install-tools.sh (Debian package prometheus)")
	}
	dir := t.TempDir()
	sc := filepath.Join(dir, "live.yaml")
	if err := os.WriteFile(sc, []byte(liveScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	out, hlogDir := filepath.Join(dir, "results.json"), filepath.Join(dir, "hlog")
	p := startProcess(t, nil, "run", sc, "-q", "-o", out, "--start-in", "1s",
		"--metrics-addr", "127.0.0.1:0", "--metrics-linger", "2m", "--hlog", hlogDir)
	target := waitMetricsURL(t, p)
	prom := startPrometheus(t, promBin, target)

	// Scrape until the results are written; then once more: final values.
	last := map[string]float64{}
	scrapes := 0
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, statErr := os.Stat(out)
		cur := scrapeValues(t, target)
		for k, v := range cur {
			if v < last[k] {
				t.Fatalf("counter %s went down from %v to %v", k, last[k], v)
			}
		}
		last = cur
		scrapes++
		if statErr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no results after 90 s; stderr:\n%s", p.stderr.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	run, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if scrapes < 5 {
		t.Errorf("only %d scrapes during the run", scrapes)
	}
	checkFinalMetrics(t, run, last)
	checkPrometheus(t, prom, run)
	checkHlogs(t, hlogDir, run)

	// SIGINT ends the linger; the run itself succeeded.
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderr.String())
	}
}

// waitMetricsURL returns the host:port the process serves metrics on.
func waitMetricsURL(t *testing.T, p *process) string {
	t.Helper()
	re := regexp.MustCompile(`metrics: http://([0-9.:]+)/metrics`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no metrics address printed; stderr:\n%s", p.stderr.String())
	return ""
}

// scrapeValues scrapes target and returns every counter and histogram count
// by series ("name{label=value,...}"), parsed by Prometheus' text parser.
func scrapeValues(t *testing.T, target string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + target + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		if !strings.HasPrefix(name, "grpcbench_") {
			continue
		}
		for _, m := range f.Metric {
			k := seriesKey(name, m)
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[k] = m.Counter.GetValue()
			case dto.MetricType_HISTOGRAM:
				out[k+"_count"] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

// seriesKey names a series by its name and grpcbench's labels.
func seriesKey(name string, m *dto.Metric) string {
	var ls []string
	for _, l := range m.Label {
		if l.GetName() == "scenario" || l.GetName() == "shard" {
			continue
		}
		ls = append(ls, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

// checkFinalMetrics compares the last scrape with the results file.
func checkFinalMetrics(t *testing.T, run *results.Run, got map[string]float64) {
	t.Helper()
	if len(run.Cells) != 2 {
		t.Fatalf("%d cells", len(run.Cells))
	}
	want := map[string]float64{}
	for _, c := range run.Cells {
		id := "cell=" + c.ID
		for name, ms := range c.Methods {
			for code, n := range ms.Codes {
				want[fmt.Sprintf("grpcbench_calls_total{%s,code=%s,method=%s}", id, code, name)] = float64(n)
			}
			want[fmt.Sprintf("grpcbench_errors_total{%s,method=%s}", id, name)] = float64(ms.Errors)
			want[fmt.Sprintf("grpcbench_call_latency_seconds{%s,method=%s}_count", id, name)] = float64(ms.Calls)
		}
		want["grpcbench_retries_total{"+id+"}"] = float64(c.Retry.Attempts - c.Retry.Calls)
		want["grpcbench_breaker_trips_total{"+id+"}"] = float64(c.Breaker.Trips)
		want["grpcbench_breaker_rejections_total{"+id+"}"] = float64(c.Breaker.Rejections)
		want["grpcbench_scheduled_total{"+id+"}"] = float64(c.Load.Scheduled)
		want["grpcbench_dropped_total{"+id+"}"] = float64(c.Load.Dropped)
		if c.Methods["grpcbench.user.v1.UserService/GetUser"].Codes["UNAVAILABLE"] == 0 || c.Retry.Retried == 0 {
			t.Errorf("cell %s: the fault produced no errors or retries: %+v", c.ID, c.Retry)
		}
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s = %v (present %v), results say %v", k, g, ok, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && strings.HasPrefix(k, "grpcbench_calls_total") {
			t.Errorf("%s = %v is not in the results", k, got[k])
		}
	}
}

// startPrometheus runs a Prometheus server scraping target every second and
// returns its base URL.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	addr := testserver.ClosedAddr(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	conf := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: grpcbench\n    static_configs: [{targets: [%q]}]\n", target)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testserver.StartProcess(t, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30 s:\n%s", p.Output())
		}
	}
}

// promQuery returns the single value of an instant PromQL query, or false.
func promQuery(t *testing.T, base, q string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %s", q, err, body)
	}
	if len(r.Data.Result) != 1 {
		return 0, false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// checkPrometheus waits until the Prometheus server has scraped the final
// values and compares them with the results.
func checkPrometheus(t *testing.T, base string, run *results.Run) {
	t.Helper()
	var calls, errs float64
	for _, c := range run.Cells {
		calls += float64(c.All.Calls)
		errs += float64(c.All.Errors)
	}
	var got, gotErrs float64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		got, _ = promQuery(t, base, `sum(grpcbench_calls_total{scenario="live",shard="0/1"})`)
		gotErrs, _ = promQuery(t, base, `sum(grpcbench_errors_total)`)
		if got == calls && gotErrs == errs {
			if n, ok := promQuery(t, base, `count(count by (cell) (grpcbench_cell_running == 0))`); !ok || n != 2 {
				t.Errorf("prometheus sees %v finished cells, want 2", n)
			}
			return
		}
	}
	t.Errorf("through prometheus: %v calls, %v errors; results: %v, %v", got, gotErrs, calls, errs)
}

// checkHlogs reads each cell's .hlog back with hdrhistogram-go's reader.
func checkHlogs(t *testing.T, dir string, run *results.Run) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.hlog"))
	if len(files) != len(run.Cells) {
		t.Fatalf("hlog files %v for %d cells", files, len(run.Cells))
	}
	sort.Strings(files)
	for i, c := range run.Cells {
		f, err := os.Open(files[i])
		if err != nil {
			t.Fatal(err)
		}
		r := hdrhistogram.NewHistogramLogReader(f)
		var untagged, total int64
		perTag := map[string]int64{}
		for range 10_000 {
			h, err := r.NextIntervalHistogram()
			if err != nil {
				t.Fatal(err)
			}
			if h == nil {
				break
			}
			if h.Tag() == "" {
				if want := c.Start.UnixMilli() + untagged*1000; h.StartTimeMs() != want {
					t.Errorf("%s: interval %d starts at %d ms, want %d", files[i], untagged, h.StartTimeMs(), want)
				}
				untagged++
				total += h.TotalCount()
			} else {
				perTag[h.Tag()] += h.TotalCount()
			}
		}
		f.Close()
		if want := int64(c.Duration / time.Second); untagged != want || total != c.All.Calls {
			t.Errorf("%s: %d intervals with %d values; cell %s: %d s, %d calls", files[i], untagged, total, c.ID, want, c.All.Calls)
		}
		for m, ms := range c.Methods {
			if perTag[m] != ms.Calls {
				t.Errorf("%s: tag %s has %d values, the cell %d calls", files[i], m, perTag[m], ms.Calls)
			}
		}
	}
}
