package main

import (
	"fmt"
	"io"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/results"
)

// warnSaturation prints a warning line for every cell whose load generator
// was the bottleneck (gates.Saturation): its numbers measure the client,
// not the service, and thresholds on it are inconclusive.
func warnSaturation(w io.Writer, run *results.Run) {
	n := 0
	for _, c := range run.Cells {
		if sat, why := gates.Saturation(c); sat {
			n++
			fmt.Fprintf(w, "warning: cell %s: the load generator was the bottleneck (%s): these results measure the client, not the service\n", c.ID, why)
		}
	}
	if n > 0 {
		fmt.Fprintf(w, "warning: %d of %d cells saturated the load generator: lower the rate, raise load.max_inflight, give grpcbench more CPU or run it on a quieter machine\n", n, len(run.Cells))
	}
}
