package hlog_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/hlog"
	"github.com/grpcbench/grpcbench/results"
)

// ReadLog reads every interval of an .hlog file with hdrhistogram-go's
// reader, by tag ("" for untagged).
func readLog(t *testing.T, path string) map[string][]*hdrhistogram.Histogram {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := hdrhistogram.NewHistogramLogReader(f)
	out := map[string][]*hdrhistogram.Histogram{}
	for range 100_000 {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			return out
		}
		out[h.Tag()] = append(out[h.Tag()], h)
	}
	t.Fatal("too many intervals")
	return nil
}

func TestWriterLogReadsBack(t *testing.T) {
	methods := []string{"GetUser", "ListUsers", "SyncUsers"}
	start := time.Date(2026, 5, 1, 10, 0, 0, 250e6, time.UTC)
	rec := results.NewRecorder(methods, start)
	path := filepath.Join(t.TempDir(), "cell.hlog")
	w, err := hlog.Create(path, methods, start, "[cell base#1, shard 0/1]")
	if err != nil {
		t.Fatal(err)
	}
	rec.OnInterval(w.Interval)
	a, b := rec.Shard(), rec.Shard()
	// Seconds 0–5 with calls, except second 3; the cell lasts 8 s, so
	// seconds 6 and 7 are empty too. ListUsers is never called.
	for sec := range 6 {
		if sec == 3 {
			continue
		}
		for i := range 50 * (sec + 1) {
			s, m := a, 0
			if i%3 == 0 {
				s, m = b, 2
			}
			s.Call(m, codes.OK, time.Duration(100+i)*time.Microsecond, time.Millisecond, time.Duration(sec)*time.Second+time.Duration(i)*time.Millisecond)
		}
	}
	c := rec.Cell()
	if err := w.Close(8 * time.Second); err != nil {
		t.Fatal(err)
	}
	logs := readLog(t, path)
	all := logs[""]
	if len(all) != 8 {
		t.Fatalf("%d untagged intervals, want 8 (one per second of the cell)", len(all))
	}
	var total int64
	for i, h := range all {
		wantStart := start.UnixMilli() + int64(i)*1000
		if h.StartTimeMs() != wantStart || h.EndTimeMs() != wantStart+1000 {
			t.Errorf("interval %d: %d–%d ms, want %d–%d", i, h.StartTimeMs(), h.EndTimeMs(), wantStart, wantStart+1000)
		}
		if (i == 3 || i >= 6) != (h.TotalCount() == 0) {
			t.Errorf("second %d has %d values", i, h.TotalCount())
		}
		total += h.TotalCount()
	}
	if total != c.All.Calls {
		t.Errorf("untagged intervals hold %d values, the cell %d calls", total, c.All.Calls)
	}
	for _, m := range []string{"GetUser", "SyncUsers"} {
		var n int64
		for _, h := range logs[m] {
			n += h.TotalCount()
			if h.Max() > 400 || h.Min() < 99 {
				t.Errorf("%s: values %d–%d µs, want 100–399", m, h.Min(), h.Max())
			}
		}
		if n != c.Methods[m].Calls || len(logs[m]) != 5 {
			t.Errorf("tag %s: %d values in %d intervals, cell %d calls in 5 seconds", m, n, len(logs[m]), c.Methods[m].Calls)
		}
	}
	if len(logs["ListUsers"]) != 0 {
		t.Error("a method without calls has intervals")
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{"#[Histogram log format version 1.3]", "#[StartTime: ", "#[cell base#1, shard 0/1]", "Tag=SyncUsers,"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("log lacks %q:\n%.500s", want, data)
		}
	}
}

func TestCreateFails(t *testing.T) {
	if _, err := hlog.Create(filepath.Join(t.TempDir(), "no", "such", "dir.hlog"), nil, time.Now(), ""); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}
