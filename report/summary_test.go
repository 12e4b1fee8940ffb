package report_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

// column returns the index of the named column, failing the test when it is
// absent.
func column(t *testing.T, s *report.Summary, name string) int {
	t.Helper()
	i := slices.IndexFunc(s.Columns, func(c report.Column) bool { return c.Name == name })
	if i < 0 {
		t.Fatalf("no column %q", name)
	}
	return i
}

// The pick_first cells sent every call to backend 0 and the least_request
// ones failed 12 % of theirs: both are flagged and never marked best,
// however good their numbers look.
func TestSummarizeFlagsCellsThatDidOtherWork(t *testing.T) {
	s := report.Summarize(poolVsLB(2, "least_request"))
	p99 := column(t, s, "p99")
	if len(s.Rows) != 12 {
		t.Fatalf("%d rows", len(s.Rows))
	}
	best := 0
	for _, r := range s.Rows {
		id := r.Cell.ID
		var want []string
		switch {
		case strings.Contains(id, "pick_first"):
			want = []string{"all calls to backend 0"}
		case strings.Contains(id, "least_request"):
			want = []string{"12% errors"}
		}
		if !slices.Equal(r.Flags, want) {
			t.Errorf("%s: flags %q, want %q", id, r.Flags, want)
		}
		if len(r.Flags) > 0 && slices.Contains(r.Best, true) {
			t.Errorf("%s is flagged and marked best in %v", id, r.Best)
		}
		if r.Best[p99] {
			best++
			if !strings.Contains(id, "round_robin") {
				t.Errorf("p99 best is %s", id)
			}
		}
		// pick_first has the lowest p99 of all: exactly what must not win.
		if strings.Contains(id, "pick_first") && r.Values[p99] > 0.005 {
			t.Errorf("%s: p99 %v, the test wants it lowest", id, r.Values[p99])
		}
	}
	if best != 1 {
		t.Errorf("%d cells marked best on p99, want 1", best)
	}
	// Fast failures make the latency of all calls differ from that of OK
	// calls: the ok columns are shown.
	ok99 := column(t, s, "ok p99")
	for _, r := range s.Rows {
		if strings.Contains(r.Cell.ID, "least_request") && !(r.Values[ok99] > r.Values[p99]) {
			t.Errorf("%s: ok p99 %v not above p99 %v with fast failures", r.Cell.ID, r.Values[ok99], r.Values[p99])
		}
	}
}

func TestSummarizeColumnsAndBest(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id string, lat time.Duration, calls int, failed string) *results.Cell {
		rec := results.NewRecorder([]string{"p.S/M"}, start)
		sh := rec.Shard()
		for i := 0; i < calls; i++ {
			sh.Call(0, codes.OK, lat, lat, time.Duration(i)*time.Millisecond)
		}
		c := rec.Cell()
		c.ID, c.Duration, c.Error = id, time.Second, failed
		return c
	}
	run := &results.Run{Name: "best", Cells: []*results.Cell{
		mk("slow", 9*time.Millisecond, 500, ""), mk("fast", time.Millisecond, 400, ""),
		mk("broken", 100*time.Microsecond, 900, "target unreachable"), {ID: "idle", Duration: time.Second},
	}}
	s := report.Summarize(run)
	var names []string
	for _, c := range s.Columns {
		names = append(names, c.Name)
	}
	// No failure anywhere: the ok columns would repeat p50 and p99.
	want := []string{"calls/s", "target/s", "p50", "p90", "p99", "p99.9", "max", "errors", "retries/call", "trips", "dropped"}
	if !slices.Equal(names, want) {
		t.Fatalf("columns %q, want %q", names, want)
	}
	marked := func(row int) (out []string) {
		for i, b := range s.Rows[row].Best {
			if b {
				out = append(out, s.Columns[i].Name)
			}
		}
		return out
	}
	// calls/s: higher is best; latencies: lower; errors, trips, dropped:
	// equal, so unmarked; target/s is never best.
	if got := marked(0); !slices.Equal(got, []string{"calls/s"}) {
		t.Errorf("slow cell best in %q", got)
	}
	if got := marked(1); !slices.Equal(got, []string{"p50", "p90", "p99", "p99.9", "max"}) {
		t.Errorf("fast cell best in %q", got)
	}
	if got := s.Rows[2].Flags; len(got) != 1 || got[0] != "failed: target unreachable" || len(marked(2)) != 0 {
		t.Errorf("failed cell: flags %q, best %q", got, marked(2))
	}
	if got := s.Rows[3].Flags; !slices.Equal(got, []string{"no calls"}) {
		t.Errorf("idle cell flags %q", got)
	}
	if v := s.Rows[3].Values[column(t, s, "p99")]; !math.IsNaN(v) || s.Columns[4].Format(v) != "—" {
		t.Errorf("idle cell p99 = %v", v)
	}
	if got := s.Columns[4].Format(0.0123456); got != "12.3ms" {
		t.Errorf("format %q", got)
	}
}

func TestSummarizeVerdict(t *testing.T) {
	tests := []struct {
		name string
		run  *results.Run
		want []string
	}{
		{"one repeat", poolVsLB(1, ""), []string{"Lowest p99: pool.size=4,lb.policy=least_request at", "(1 repeat)", "below the runner-up", "1 repeat: no significance.",
			"Left out, as not comparable: 2 matrix points, e.g. pool.size=1,lb.policy=pick_first: all calls to backend 0."}},
		{"two repeats", poolVsLB(2, "least_request"), []string{"(median of 2 repeats)", "2+2 repeats: no difference can be significant at α=0.05 (4+4 can).", "Left out, as not comparable: 4 matrix points"}},
		{"five repeats", poolVsLB(5, "round_robin"), []string{"Lowest p99: pool.size=", "least_request at", "(median of 5 repeats)", "(Mann–Whitney, 5+5 repeats)."}},
		{"no matrix", &results.Run{Cells: poolVsLB(1, "").Cells[1:2]}, []string{"One matrix point (pool.size=1,lb.policy=round_robin): nothing to compare."}},
		{"nothing comparable", &results.Run{Cells: []*results.Cell{{ID: "a#1", Error: "boom"}, {ID: "b#1", Error: "boom"}}},
			[]string{"No verdict: no matrix point did comparable work. Left out, as not comparable: 2 matrix points, e.g. a: failed: boom."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := report.Summarize(tt.run)
			if len(s.Verdicts) != 1 {
				t.Fatalf("verdicts %q", s.Verdicts)
			}
			for _, w := range tt.want {
				if !strings.Contains(s.Verdicts[0], w) {
					t.Errorf("verdict %q lacks %q", s.Verdicts[0], w)
				}
			}
		})
	}
}

func TestSummarizeMethods(t *testing.T) {
	run := synth{name: "m", secs: 3, perSec: 30, seed: 2, plain: true}.run(t)
	s := report.Summarize(run)
	if len(s.Methods) != 3 || len(s.MethodColumns) == 0 {
		t.Fatalf("%d method rows", len(s.Methods))
	}
	var short []string
	for _, m := range s.Methods {
		short = append(short, m.Short)
		if !strings.HasPrefix(m.Method, "grpcbench.user.v1.UserService/") || len(m.Values) != len(s.MethodColumns) {
			t.Errorf("method row %+v", m)
		}
	}
	if !slices.Equal(short, []string{"GetUser", "ListUsers", "SyncUsers"}) {
		t.Errorf("short names %q", short)
	}
	// One method: no per-method rows.
	if s := report.Summarize(poolVsLB(1, "")); len(s.Methods) != 0 {
		t.Errorf("%d method rows for a one-method run", len(s.Methods))
	}
}

// A closed model's latency leaves out the stall that kept its workers from
// sending (coordinated omission): beside open-model cells its low
// percentiles are flagged, never marked best. A run of closed cells only
// is compared as usual.
func TestSummarizeFlagsClosedBesideOpen(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id, model string, lat time.Duration) *results.Cell {
		rec := results.NewRecorder([]string{"p.S/M"}, start)
		sh := rec.Shard()
		for i := range 200 {
			sh.Call(0, codes.OK, lat+time.Duration(i)*time.Microsecond, lat, time.Duration(i)*time.Millisecond)
		}
		c := rec.Cell()
		c.ID, c.Duration, c.Load.Model = id, time.Second, model
		return c
	}
	mixed := report.Summarize(&results.Run{Cells: []*results.Cell{
		mk("open#1", results.ModelOpen, 150*time.Millisecond), mk("closed#1", results.ModelClosed, time.Millisecond)}})
	if got := mixed.Rows[1].Flags; len(got) != 1 || !strings.HasPrefix(got[0], "closed model") {
		t.Errorf("closed cell beside an open one: flags %q", got)
	}
	if len(mixed.Rows[0].Flags) != 0 || slices.Contains(mixed.Rows[1].Best, true) {
		t.Errorf("open flags %q, closed best %v", mixed.Rows[0].Flags, mixed.Rows[1].Best)
	}
	closed := report.Summarize(&results.Run{Cells: []*results.Cell{
		mk("a#1", results.ModelClosed, 150*time.Millisecond), mk("b#1", results.ModelClosed, time.Millisecond)}})
	if len(closed.Rows[0].Flags)+len(closed.Rows[1].Flags) != 0 || !closed.Rows[1].Best[column(t, closed, "p99")] {
		t.Errorf("closed cells only: flags %q %q, best %v", closed.Rows[0].Flags, closed.Rows[1].Flags, closed.Rows[1].Best)
	}
}

// In the matrix view a flagged matrix point (pick_first beside balancing
// policies: fastest, because it measured one backend) is not joined to the
// line it would look best on: it is drawn apart, and its x label says
// "not ranked".
func TestMatrixDrawsFlaggedPointsApart(t *testing.T) {
	full := poolVsLB(1, "")
	run := &results.Run{Name: "slow-backend", Dimensions: []string{"client.lb.policy"}}
	for _, c := range full.Cells {
		if c.Params[0].Value == "1" {
			c.Params = c.Params[1:]
			run.Cells = append(run.Cells, c)
		}
	}
	ticks, joined, apart, err := report.MatrixMarks([]*results.Run{run})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pick_first\n(not ranked)", "round_robin", "least_request"}; !slices.Equal(ticks, want) {
		t.Errorf("x labels %q, want %q", ticks, want)
	}
	// pick_first is x = 0: two marks apart (p99, p50), none on a line.
	if !slices.Equal(apart, []float64{0, 0}) || slices.Contains(joined, 0) || len(joined) != 4 {
		t.Errorf("joined at x %v, apart at x %v", joined, apart)
	}
}
