package scenarios

import (
	"context"
	"testing"
)

// Each second of the backend series is a second of the recorded phase,
// counted from its start, whatever the warm-up: 200 calls/s give ~200
// attempts in second 0 and in second 1. (Sampled on the progress ticks, a
// half-second warm-up once lost the first half second and shifted every
// other by half a second: series [{T:1, 299}].)
func TestBackendSeriesSecondsStartWithTheRecordedPhase(t *testing.T) {
	run := runYAML(t, context.Background(), "server: {backends: 1}\nload: {model: open, rate: 200, duration: 2s, warmup: 500ms}\nmix: [{call: GetUser}]\n")
	c := run.Cells[0]
	var got []int64
	for _, s := range c.BackendSeries {
		var n int64
		for _, v := range s.Calls {
			n += v
		}
		got = append(got, n)
		if s.T != len(got)-1 || n < 180 || n > 220 {
			t.Errorf("second %d: %d attempts, want ~200 (series %+v)", s.T, n, c.BackendSeries)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d seconds in the series (%v), want 2", len(got), got)
	}
}
