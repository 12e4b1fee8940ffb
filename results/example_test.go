package results_test

import (
	"bytes"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/results"
)

// A worker records each finished call into its own shard; the recorder
// merges the shards into a cell when the workers have stopped.
func ExampleRecorder() {
	methods := []string{"grpcbench.user.v1.UserService/GetUser"}
	rec := results.NewRecorder(methods, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	shard := rec.Shard() // one per worker
	for i := range 100 {
		code := codes.OK
		if i%10 == 0 {
			code = codes.Unavailable // fast failures
		}
		latency := time.Duration(1+i%10) * time.Millisecond
		shard.Call(0, code, latency, latency, time.Duration(i)*10*time.Millisecond)
	}
	cell := rec.Cell()
	get := cell.Methods["grpcbench.user.v1.UserService/GetUser"]
	fmt.Println("calls:", get.Calls, "errors:", get.Errors, get.Codes)
	fmt.Println("p50 all calls:", get.Latency.Quantile(0.5), "p50 OK calls:", get.OK.Quantile(0.5))
	fmt.Println("seconds in the series:", len(cell.Series))
	fmt.Println(results.ShortMethodNames(methods)[methods[0]])
	// Quantiles are the highest value equivalent to the recorded one at 3
	// significant digits, hence 5.003ms for 5ms.
	// Output:
	// calls: 100 errors: 10 map[OK:90 UNAVAILABLE:10]
	// p50 all calls: 5.003ms p50 OK calls: 6.003ms
	// seconds in the series: 1
	// GetUser
}

// Two load generators ran the same cell: merging adds their histograms and
// counters exactly.
func ExampleMerge() {
	shardRun := func(latency time.Duration) *results.Run {
		rec := results.NewRecorder([]string{"grpc.testing.TestService/UnaryCall"}, time.Unix(0, 0))
		s := rec.Shard()
		for range 50 {
			s.Call(0, codes.OK, latency, latency, 0)
		}
		c := rec.Cell()
		c.ID, c.Duration = "pool.size=4#1", time.Second
		return &results.Run{Name: "sharded", Cells: []*results.Cell{c}}
	}
	run, err := results.Merge(shardRun(time.Millisecond), shardRun(3*time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	all := run.Cells[0].Aggregate()
	fmt.Println(len(run.Cells), "cell,", all.Calls, "calls, max", all.Latency.Max())
	// Output:
	// 1 cell, 100 calls, max 3.001ms
}

// Encode writes the versioned JSON format; Decode checks it and rebuilds
// the histograms from their HdrHistogram encoding.
func ExampleDecode() {
	rec := results.NewRecorder([]string{"p.S/M"}, time.Unix(0, 0))
	rec.Shard().Call(0, codes.OK, 1500*time.Microsecond, time.Millisecond, 0)
	c := rec.Cell()
	c.ID = "only#1"
	var buf bytes.Buffer
	if err := results.Encode(&buf, &results.Run{Name: "tiny", Cells: []*results.Cell{c}}); err != nil {
		fmt.Println(err)
		return
	}
	run, err := results.Decode(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(run.Schema, run.Cell("only#1").Methods["p.S/M"].OK.Max())
	// Output:
	// grpcbench/results/v1 1.5ms
}
