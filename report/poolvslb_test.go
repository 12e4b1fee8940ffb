package report_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/results"
)

// poolVsLB builds a run shaped like scenarios/examples/pool-vs-lb.yaml: three
// backends, backend 1 slow (20 ms median); pool sizes 1 and 4 × pick_first,
// round_robin, least_request; repeats repeats. pick_first sends every call
// to backend 0 and so looks fastest; least_request avoids the slow backend
// most of the time; round_robin sends it a third of the calls. With
// errorsFor set, that policy also fails 12 % of its calls, fast.
func poolVsLB(repeats int, errorsFor string) *results.Run {
	const getUser = "grpcbench.user.v1.UserService/GetUser"
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	run := &results.Run{
		Name:       "pool-vs-lb",
		Started:    start,
		Dimensions: []string{"client.pool.size", "client.lb.policy"},
		Scenario:   map[string]any{"name": "pool-vs-lb", "client": map[string]any{"retry": nil, "breaker": nil}},
	}
	addrs := []string{"127.0.0.1:40001", "127.0.0.1:40002", "127.0.0.1:40003"}
	idx := 0
	for _, size := range []string{"1", "4"} {
		for _, policy := range []string{"pick_first", "round_robin", "least_request"} {
			for rep := 1; rep <= repeats; rep++ {
				rng := rand.New(rand.NewPCG(uint64(idx), uint64(rep)))
				rec := results.NewRecorder([]string{getUser}, start)
				sh := rec.Shard()
				perBackend := make([]int64, 3)
				for i := range 600 {
					b := 0
					switch policy {
					case "round_robin":
						b = i % 3
					case "least_request":
						b = []int{0, 2, 0, 2, 0, 2, 0, 2, 0, 1}[i%10]
					}
					perBackend[b]++
					lat := time.Duration(float64(800*time.Microsecond) * math.Exp(0.3*rng.NormFloat64()))
					if b == 1 {
						lat = time.Duration(float64(20*time.Millisecond) * math.Exp(0.8*rng.NormFloat64()))
					}
					lat += time.Duration(rep) * 50 * time.Microsecond // repeat-to-repeat drift
					code := codes.OK
					if policy == errorsFor && i%25 < 3 {
						code, lat = codes.Unavailable, 200*time.Microsecond
					}
					at := time.Duration(i) * 5 * time.Second / 600
					sh.Call(0, code, lat, lat*9/10, at+lat)
					sh.Peer(addrs[b])
				}
				c := rec.Cell()
				c.ID = fmt.Sprintf("pool.size=%s,lb.policy=%s#%d", size, policy, rep)
				c.Index, c.Repeat = idx, rep-1
				c.Params = []results.Param{{Path: "client.pool.size", Value: size}, {Path: "client.lb.policy", Value: policy}}
				c.Duration = 5 * time.Second
				c.Load = results.Load{Model: results.ModelOpen, TargetRate: 120, AchievedRate: c.Rate(), Scheduled: 600, Sent: 600, Completed: c.Load.Completed}
				// The embedded server lists every backend, in index order.
				c.Backends = nil
				for b, a := range addrs {
					c.Backends = append(c.Backends, results.Backend{Addr: a, ClientCalls: perBackend[b], ServerCalls: perBackend[b]})
				}
				run.Cells = append(run.Cells, c)
			}
			idx++
		}
	}
	return run
}
