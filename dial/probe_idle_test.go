package dial_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/dial"
	"github.com/grpcbench/grpcbench/fakeserver"
)

// A probe must come back as soon as it knows: READY (reachable) or
// TRANSIENT_FAILURE (unreachable, with the reason). A connection that
// becomes READY and is dropped before the probe looks again leaves the
// channel IDLE, where it stays until something asks it to connect: the
// probe (dialer.go, the loop in probe) then waits out its whole timeout
// and reports a server it has just reached as unreachable ("no connection
// within …"). The fault matrix met it as a 10 s stall of a cell's set-up
// when a kill fault dropped the probe's fresh connection.
//
// Killing every connection of the fake server every 3 ms makes the race
// likely: about one probe in fifty lands in IDLE.
func TestProbeDoesNotWaitInIdle(t *testing.T) {
	cl, err := fakeserver.Start(context.Background(), fakeserver.Config{Faults: []fakeserver.Fault{
		{Kill: &fakeserver.Kill{At: time.Millisecond, Every: 3 * time.Millisecond}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Stop()
	d, err := dial.Config{}.NewDialer(dial.Target{Target: cl.Addrs()[0]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const probes, timeout = 300, time.Second
	for i := range probes {
		start := time.Now()
		err := d.Probe(context.Background(), timeout)
		if err != nil && strings.Contains(err.Error(), "no connection within") {
			t.Fatalf("probe %d waited %v and failed: %v (the channel was left IDLE)", i, time.Since(start).Round(time.Millisecond), err)
		}
	}
}
