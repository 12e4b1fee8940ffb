package report_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/results"
)

// dim is one synthetic matrix dimension.
type dim struct {
	path   string
	values []string
}

// synth describes a synthetic run.
type synth struct {
	name    string
	dims    []dim
	repeats int
	secs    int // recorded seconds per cell
	perSec  int // calls per second per cell
	seed    uint64
	// plain leaves out retries, breaker, backends and faults.
	plain bool
}

var methods = []string{"grpcbench.user.v1.UserService/GetUser", "grpcbench.user.v1.UserService/ListUsers", "grpcbench.user.v1.UserService/SyncUsers"}

// run builds the run by recording synthetic calls with a results.Recorder,
// the way the runner does: latency depends on the cell, a fault window in
// the middle third slows calls down and fails some of them.
func (s synth) run(tb testing.TB) *results.Run {
	tb.Helper()
	rng := rand.New(rand.NewPCG(s.seed, 7))
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	points := [][]results.Param{nil}
	var dims []string
	for _, d := range s.dims {
		dims = append(dims, d.path)
		var next [][]results.Param
		for _, p := range points {
			for _, v := range d.values {
				next = append(next, append(append([]results.Param(nil), p...), results.Param{Path: d.path, Value: v}))
			}
		}
		points = next
	}
	repeats := max(s.repeats, 1)
	run := &results.Run{
		Name:       s.name,
		Started:    start,
		Provenance: results.Provenance{Tool: "grpcbench", Version: "(devel)", GoVersion: "go1.26.0", GRPCVersion: "1.85.0", GOMAXPROCS: 2, NumCPU: 2, OS: "linux", Arch: "amd64", Args: []string{"run", s.name + ".yaml"}},
		Scenario: map[string]any{
			"name": s.name, "seed": 42,
			"load":   map[string]any{"model": "open", "rate": s.perSec, "duration": fmt.Sprintf("%ds", s.secs)},
			"client": map[string]any{"retry": map[string]any{"max_attempts": 3, "codes": []any{"UNAVAILABLE"}}, "breaker": nil},
		},
		Dimensions: dims,
	}
	if s.plain {
		run.Scenario.(map[string]any)["client"] = map[string]any{"retry": nil, "breaker": nil}
	}
	faultFrom, faultTo := time.Duration(s.secs)*time.Second/3, time.Duration(s.secs)*time.Second/2
	addrs := []string{"127.0.0.1:40001", "127.0.0.1:40002", "127.0.0.1:40003"}
	for idx, params := range points {
		for rep := 0; rep < repeats; rep++ {
			rec := results.NewRecorder(methods, start)
			shards := []*results.Shard{rec.Shard(), rec.Shard()}
			median := time.Duration(1+idx%5) * 800 * time.Microsecond
			skew := 0.2 + 0.1*float64(idx%4) // load imbalance across backends
			for sec := 0; sec < s.secs; sec++ {
				for k := 0; k < s.perSec; k++ {
					sh := shards[k%len(shards)]
					at := time.Duration(sec)*time.Second + time.Duration(k)*time.Second/time.Duration(s.perSec)
					lat := time.Duration(float64(median) * math.Exp(0.6*rng.NormFloat64()))
					code := codes.OK
					attempts := 1
					if !s.plain && at >= faultFrom && at < faultTo {
						lat *= 8
						if rng.Float64() < 0.15 {
							attempts = 3
							code = codes.Unavailable
						} else if rng.Float64() < 0.3 {
							attempts = 2
						}
					}
					if rng.Float64() < 0.002 {
						lat *= 40 // rare stalls make a tail
					}
					m := k % len(methods)
					sh.Call(m, code, lat, lat*7/10, at+lat)
					sh.Attempt(m, lat/time.Duration(attempts))
					if !s.plain {
						sh.CallAttempts(attempts)
						for a := 0; a < attempts; a++ {
							b := 0
							if x := rng.Float64(); x > 1-skew {
								b = 1
							} else if x > 0.5 {
								b = 2
							}
							sh.Peer(addrs[b])
						}
					}
					sh.Bytes(100, 200)
				}
			}
			c := rec.Cell()
			c.ID = cellID(params, rep)
			c.Index, c.Repeat, c.Params = idx, rep, params
			c.Duration = time.Duration(s.secs) * time.Second
			c.Load.Model = results.ModelOpen
			c.Load.TargetRate = float64(s.perSec)
			c.Load.AchievedRate = c.Rate()
			c.Load.Scheduled = int64(s.secs * s.perSec)
			c.Load.Sent = c.Load.Completed
			c.Load.Workers = 64
			if !s.plain {
				c.Breaker = results.Breaker{Trips: int64(idx % 3), Rejections: int64(idx%3) * 10, TimeOpen: time.Duration(idx%3) * 1500 * time.Millisecond}
				for i := range c.Backends {
					c.Backends[i].ServerCalls = c.Backends[i].ClientCalls
				}
				c.Faults = []results.FaultWindow{
					{Kind: "error", Start: faultFrom, End: faultTo},
					{Kind: "down", Backends: []int{1}, Start: faultFrom, End: faultFrom + (faultTo-faultFrom)/2},
				}
			}
			run.Cells = append(run.Cells, c)
		}
	}
	run.Finished = start.Add(time.Duration(len(run.Cells)*s.secs) * time.Second)
	return run
}

func cellID(params []results.Param, rep int) string {
	var parts []string
	for _, p := range params {
		parts = append(parts, p.Path+"="+p.Value)
	}
	id := strings.Join(parts, ",")
	if id == "" {
		id = "cell"
	}
	return fmt.Sprintf("%s#%d", id, rep)
}
