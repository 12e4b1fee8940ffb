package main

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/results"
)

// summaryRun builds a deterministic pool-vs-lb-like run: pick_first sends
// every call to backend 0 (fast), round_robin spreads them over a slow
// backend, weighted_round_robin sends it less, least_request fails 32 % of
// its calls fast; with methods > 1, every cell also calls ListUsers.
func summaryRun(repeats, methods int) *results.Run {
	names := []string{"grpcbench.user.v1.UserService/GetUser", "grpcbench.user.v1.UserService/ListUsers"}[:methods]
	run := &results.Run{Name: "pool-vs-lb", Dimensions: []string{"client.lb.policy"}}
	for pi, policy := range []string{"pick_first", "round_robin", "weighted_round_robin", "least_request"} {
		for rep := 1; rep <= repeats; rep++ {
			rec := results.NewRecorder(names, time.Time{})
			sh := rec.Shard()
			backends := make([]int64, 3)
			for i := range 400 {
				b := map[string]int{"pick_first": 0, "round_robin": i % 3, "weighted_round_robin": []int{0, 2, 0, 2, 1, 0, 2}[i%7],
					"least_request": []int{0, 2, 0, 2, 1}[i%5]}[policy]
				backends[b]++
				lat := time.Duration(500+10*(i%50)+20*rep) * time.Microsecond
				if b == 1 {
					lat = time.Duration(10+i%40) * time.Millisecond
				}
				code := codes.OK
				if policy == "least_request" && i%25 < 8 {
					code, lat = codes.Unavailable, 100*time.Microsecond
				}
				sh.Call(i%methods, code, lat, lat, time.Duration(i)*10*time.Millisecond)
			}
			c := rec.Cell()
			c.ID, c.Index, c.Repeat = fmt.Sprintf("lb.policy=%s#%d", policy, rep), pi, rep-1
			c.Params = []results.Param{{Path: "client.lb.policy", Value: policy}}
			c.Duration = 4 * time.Second
			c.Load = results.Load{Model: results.ModelOpen, TargetRate: 100, AchievedRate: 100, Completed: 400, Dropped: int64(pi)}
			for b, n := range backends {
				c.Backends = append(c.Backends, results.Backend{Addr: fmt.Sprintf("127.0.0.1:4000%d", b), ClientCalls: n, ServerCalls: n})
			}
			run.Cells = append(run.Cells, c)
		}
	}
	return run
}

// TestPrintSummaryGolden pins the terminal summary: columns (target/s, ok
// latency when it differs), ★ on the best comparable cell per column, the
// flags of pick_first and of the cells with 32 % errors in the notes, the
// per-method table with short names, and the verdict.
func TestPrintSummaryGolden(t *testing.T) {
	for _, tt := range []struct {
		file             string
		repeats, methods int
	}{
		{"summary-1-repeat.txt", 1, 1},
		{"summary-methods.txt", 2, 2},
	} {
		var b bytes.Buffer
		printSummary(&b, summaryRun(tt.repeats, tt.methods))
		testutil.Golden(t, tt.file, b.Bytes())
	}
}
