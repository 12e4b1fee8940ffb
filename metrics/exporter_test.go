package metrics_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/metrics"
	"github.com/grpcbench/grpcbench/results"
)

// scrape fetches url with the given Accept header and returns the body.
func scrape(t *testing.T, url, accept string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %v %s", err, resp.Status)
	}
	return string(b)
}

// parse reads the Prometheus text format with Prometheus' own parser.
func parse(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	return fams
}

// value returns the value of family name's series whose labels include
// want, summed over series that match.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var v float64
	for _, m := range f.Metric {
		ok := true
		for k, w := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == w {
					found = true
				}
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Histogram != nil:
			v += float64(m.Histogram.GetSampleCount())
		}
	}
	return v
}

func TestExporterFollowsTheRecorder(t *testing.T) {
	e := metrics.New("demo", "1/3")
	srv, err := metrics.Listen("127.0.0.1:0", e)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())

	methods := []string{"GetUser", "ListUsers"}
	rec := results.NewRecorder(methods, time.Now())
	var inflight atomic.Int64
	cell := e.AddCell("pool.size=2#1", methods, func() metrics.Stack {
		return metrics.Stack{InFlight: inflight.Load(), Retries: 7, Breaker: "open", Trips: 2, Rejections: 5,
			Conns: map[string]int{"READY": 2, "CONNECTING": 1}, TargetRate: 300, Scheduled: 10, Dropped: 1}
	})
	rec.OnInterval(cell.Interval)
	sh := rec.Shard()
	labels := map[string]string{"cell": "pool.size=2#1", "scenario": "demo", "shard": "1/3"}
	prev := 0.0
	for sec := range 8 {
		inflight.Store(int64(sec))
		for i := range 100 {
			code := codes.OK
			if i%10 == 0 {
				code = codes.Unavailable
			}
			lat := time.Duration(1+i%50) * time.Millisecond
			sh.Call(i%2, code, lat, lat, time.Duration(sec)*time.Second+time.Duration(i)*time.Millisecond)
		}
		fams := parse(t, scrape(t, srv.URL(), ""))
		calls := value(fams, "grpcbench_calls_total", labels)
		if calls < prev {
			t.Fatalf("second %d: calls_total went down from %v to %v", sec, prev, calls)
		}
		prev = calls
		if got := value(fams, "grpcbench_inflight", labels); got != float64(sec) {
			t.Fatalf("inflight %v, want %d (read at scrape time)", got, sec)
		}
	}
	if prev == 0 || prev >= 800 {
		t.Fatalf("during the run calls_total = %v: want the complete seconds only", prev)
	}
	c := rec.Cell()
	cell.Done()

	fams := parse(t, scrape(t, srv.URL(), ""))
	checkFinal(t, fams, c, methods, labels)
	om := scrape(t, srv.URL(), "application/openmetrics-text; version=1.0.0")
	if !strings.HasSuffix(om, "# EOF\n") || !strings.Contains(om, "# TYPE grpcbench_calls counter") {
		t.Errorf("OpenMetrics exposition:\n%.600s", om)
	}
}

// checkFinal compares a finished cell's metrics with its results.
func checkFinal(t *testing.T, fams map[string]*dto.MetricFamily, c *results.Cell, methods []string, labels map[string]string) {
	t.Helper()
	for _, name := range methods {
		l := map[string]string{"cell": "pool.size=2#1", "method": name}
		ms := c.Methods[name]
		if got := value(fams, "grpcbench_calls_total", l); got != float64(ms.Calls) {
			t.Errorf("%s calls_total %v, results %d", name, got, ms.Calls)
		}
		if got := value(fams, "grpcbench_calls_total", map[string]string{"method": name, "code": "UNAVAILABLE"}); got != float64(ms.Codes["UNAVAILABLE"]) {
			t.Errorf("%s UNAVAILABLE %v, results %d", name, got, ms.Codes["UNAVAILABLE"])
		}
		if got := value(fams, "grpcbench_errors_total", l); got != float64(ms.Errors) {
			t.Errorf("%s errors_total %v, results %d", name, got, ms.Errors)
		}
		if got := value(fams, "grpcbench_call_latency_seconds", l); got != float64(ms.Calls) {
			t.Errorf("%s latency count %v, results %d", name, got, ms.Calls)
		}
	}
	// Latency 1–50 ms: nothing under 1 ms, everything by 50 ms.
	for _, m := range fams["grpcbench_call_latency_seconds"].Metric {
		h := m.Histogram
		for _, b := range h.Bucket {
			le, n := b.GetUpperBound(), b.GetCumulativeCount()
			if (le < 0.001 && n != 0) || (le >= 0.05 && n != h.GetSampleCount()) {
				t.Errorf("bucket le=%v has %d of %d", le, n, h.GetSampleCount())
			}
		}
		if s := h.GetSampleSum(); s < 0.02*float64(h.GetSampleCount()) || s > 0.03*float64(h.GetSampleCount()) {
			t.Errorf("sum %v for %d calls of 25.5 ms on average", s, h.GetSampleCount())
		}
	}
	for name, want := range map[string]float64{
		"grpcbench_retries_total": 7, "grpcbench_breaker_trips_total": 2, "grpcbench_breaker_rejections_total": 5,
		"grpcbench_scheduled_total": 10, "grpcbench_dropped_total": 1, "grpcbench_cell_running": 0,
		"grpcbench_target_rate": 0, "grpcbench_pool_connections": 3,
	} {
		if got := value(fams, name, labels); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if value(fams, "grpcbench_breaker_state", map[string]string{"state": "open"}) != 1 ||
		value(fams, "grpcbench_breaker_state", map[string]string{"state": "closed"}) != 0 {
		t.Error("breaker_state: want open=1, closed=0")
	}
	if value(fams, "process_cpu_seconds_total", nil) <= 0 {
		t.Error("no process CPU metric")
	}
}
