package report

import (
	"math"
	"testing"
)

func series(n int, f func(i int) float64) []point {
	pts := make([]point, n)
	for i := range pts {
		pts[i] = point{float64(i), f(i)}
	}
	return pts
}

func TestLTTB(t *testing.T) {
	spike := series(1000, func(i int) float64 {
		if i == 637 {
			return 100
		}
		return 1
	})
	tests := []struct {
		name    string
		pts     []point
		n       int
		wantLen int
		keepX   []float64 // x values that must survive
	}{
		{"short input unchanged", series(5, func(i int) float64 { return float64(i) }), 10, 5, []float64{0, 1, 2, 3, 4}},
		{"n below 3 unchanged", series(50, func(int) float64 { return 1 }), 2, 50, nil},
		{"exact size unchanged", series(10, func(int) float64 { return 1 }), 10, 10, nil},
		{"spike survives", spike, 20, 20, []float64{0, 637, 999}},
		{"sine", series(3600, func(i int) float64 { return math.Sin(float64(i) / 100) }), 400, 400, []float64{0, 3599}},
		{"three points", series(100, func(i int) float64 { return float64(i % 7) }), 3, 3, []float64{0, 99}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := lttb(tt.pts, tt.n)
			if len(out) != tt.wantLen {
				t.Fatalf("len = %d, want %d", len(out), tt.wantLen)
			}
			for _, x := range tt.keepX {
				found := false
				for _, p := range out {
					found = found || p.X == x
				}
				if !found {
					t.Errorf("x=%v dropped", x)
				}
			}
			checkLTTB(t, tt.pts, out)
		})
	}
}

// checkLTTB checks the invariants of a downsampled series: every point is
// from the input, in strictly increasing x order, ends kept.
func checkLTTB(t *testing.T, in, out []point) {
	t.Helper()
	if len(in) == 0 {
		if len(out) != 0 {
			t.Fatalf("output from empty input: %v", out)
		}
		return
	}
	if out[0] != in[0] || out[len(out)-1] != in[len(in)-1] {
		t.Fatalf("ends not kept: %v … %v", out[0], out[len(out)-1])
	}
	j := 0
	for _, p := range out {
		for j < len(in) && in[j] != p {
			j++
		}
		if j == len(in) {
			t.Fatalf("point %v not from the input in order", p)
		}
		j++
	}
}

func FuzzLTTB(f *testing.F) {
	f.Add(uint16(100), uint16(10), int64(1))
	f.Add(uint16(3), uint16(3), int64(2))
	f.Add(uint16(1000), uint16(999), int64(3))
	f.Fuzz(func(t *testing.T, n, target uint16, seed int64) {
		size := int(n % 5000)
		pts := series(size, func(i int) float64 { return float64((int64(i)*seed)%97) - 48 })
		out := lttb(pts, int(target))
		switch {
		case target < 3 || size <= int(target):
			if len(out) != size {
				t.Fatalf("len %d, want input unchanged (%d)", len(out), size)
			}
		case len(out) != int(target):
			t.Fatalf("len %d, want %d", len(out), target)
		}
		checkLTTB(t, pts, out)
	})
}

func TestShortNames(t *testing.T) {
	got := shortNames([]string{"client.pool.size", "client.lb.policy", "client.retry.policy", "seed"})
	want := map[string]string{"client.pool.size": "size", "client.lb.policy": "lb.policy", "client.retry.policy": "retry.policy", "seed": "seed"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s → %q, want %q", k, got[k], v)
		}
	}
	// Identical suffixes all the way down terminate on the full path.
	if got := shortNames([]string{"a.b", "a.b"}); got["a.b"] != "a.b" {
		t.Errorf("duplicate path → %q", got["a.b"])
	}
}

func TestFeatured(t *testing.T) {
	var cells []*cellView
	for i, p99 := range []float64{5, 1, 9, 3, 7, 2} {
		cells = append(cells, &cellView{label: string(rune('a' + i)), calls: 1, p99: p99})
	}
	cells = append(cells, &cellView{label: "idle"}) // no calls: never featured
	got, note := featured(cells, 4)
	var labels string
	for _, c := range got {
		labels += c.label
	}
	// Lowest p99: b (1), f (2); highest: c (9), e (7); in report order.
	if labels != "bcef" || note == "" {
		t.Errorf("featured = %q (%q), want bcef with a note", labels, note)
	}
	if got, note := featured(cells, 10); len(got) != 6 || note != "" {
		t.Errorf("featured all = %d cells (%q), want 6 and no note", len(got), note)
	}
}
