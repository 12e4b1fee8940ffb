package report_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

var envRE = regexp.MustCompile(`(?s)<table class="environment">.*?<tbody>(.*?)</tbody>`)

// The environment panel shows each cell's generator health, marks the
// saturated cell with its reason and says what was not measured; a run
// without health figures has no panel.
func TestEnvironmentPanel(t *testing.T) {
	run := synth{name: "env", dims: []dim{{"client.pool.size", []string{"1", "2"}}}, secs: 3, perSec: 40, seed: 9, plain: true}.run(t)
	dir := filepath.Join(t.TempDir(), "plain")
	if err := report.Write(context.Background(), dir, []*results.Run{run}, report.Options{}); err != nil {
		t.Fatal(err)
	}
	if page := readReport(t, dir); strings.Contains(page, `id="environment"`) {
		t.Fatal("environment panel without health figures")
	}

	lag := results.NewHistogram()
	for range 100 {
		lag.Record(3 * time.Millisecond)
	}
	run.Cells[0].Health = &results.Health{Samples: 3, GOMAXPROCS: 2, Cores: 2, CPUs: 2, CPU: &results.Share{Mean: 0.26, Max: 0.3},
		RunDelay: &results.Share{Mean: 0.87, Max: 0.91}, OtherCPU: &results.Share{Mean: 0.8, Max: 0.85}, Steal: &results.Share{},
		RunQueue: &results.Gauge{Mean: 9.5, Max: 12}, GCCount: 20, GCPauses: 40 * time.Millisecond, Lag: lag,
		Unavailable: []string{"pressure: open /proc/pressure/cpu: no such file or directory"}}
	run.Cells[1].Health = &results.Health{Samples: 3, Cores: 2, CPU: &results.Share{Mean: 0.2, Max: 0.25}, RunDelay: &results.Share{Mean: 0.05, Max: 0.1},
		Pressure: &results.Share{Mean: 0.02, Max: 0.04}}
	dir = filepath.Join(t.TempDir(), "health")
	if err := report.Write(context.Background(), dir, []*results.Run{run}, report.Options{}); err != nil {
		t.Fatal(err)
	}
	page := readReport(t, dir)
	m := envRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `<a href="#environment">Environment</a>`) {
		t.Fatalf("no environment panel:\n%s", page)
	}
	rows := strings.Split(strings.TrimSpace(m[1]), "\n")
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2:\n%s", len(rows), m[1])
	}
	for _, want := range []string{"26 / 30 % of 2", "87 / 91 %", "9.5 / 12", "20 (40ms)", "3ms", `<span class="fail">saturated</span>: its threads waited for a CPU 87 % of their runnable time`,
		`title="pressure: open /proc/pressure/cpu: no such file or directory"`, "partly measured"} {
		if !strings.Contains(rows[0], want) {
			t.Errorf("first row lacks %q:\n%s", want, rows[0])
		}
	}
	for _, want := range []string{"5 / 10 %", "2 / 4 %", "<td class=\"text\">ok</td>"} {
		if !strings.Contains(rows[1], want) {
			t.Errorf("second row lacks %q:\n%s", want, rows[1])
		}
	}
}
