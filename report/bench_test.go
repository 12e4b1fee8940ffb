package report_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

// BenchmarkReport100Cells reports on a 100-cell results file (5 pool sizes ×
// 2 LB policies × 5 backoff policies × 2 repeats, 10-minute series): read
// and decode the file, render every chart, write the page. It reports the
// size of index.html (target: under 5 s and 5 MB).
func BenchmarkReport100Cells(b *testing.B) {
	s := synth{
		name: "pool-lb-backoff",
		dims: []dim{
			{"client.pool.size", []string{"1", "2", "4", "8", "16"}},
			{"client.lb.policy", []string{"pick_first", "round_robin"}},
			{"client.retry.policy", []string{"exponential", "linear", "fixed", "immediate", "none"}},
		},
		repeats: 2, secs: 600, perSec: 5, seed: 100,
	}
	run := s.run(b)
	if len(run.Cells) != 100 {
		b.Fatalf("%d cells", len(run.Cells))
	}
	tmp := b.TempDir()
	file := filepath.Join(tmp, "results.json")
	if err := results.WriteFile(file, run); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(tmp, "report")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := results.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		if err := report.Write(context.Background(), out, []*results.Run{r}, report.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	fi, err := os.Stat(filepath.Join(out, report.IndexFile))
	if err != nil {
		b.Fatal(err)
	}
	in, err := os.Stat(file)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/1e6, "html-MB")
	b.ReportMetric(float64(in.Size())/1e6, "results-MB")
}
