package results_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/proto/userpb"
	"github.com/grpcbench/grpcbench/results"
)

// Real calls over TCP to the fake server, one worker and shard per backend:
// what the recorder counts per backend (from the peer) and per status code
// equals what the server's own counters saw.
func TestRecorderAgainstFakeServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rate := 0.3
	cl, err := fakeserver.Start(ctx, fakeserver.Config{Backends: 2, Seed: 1, Faults: []fakeserver.Fault{
		{Backend: fakeserver.IntList{1}, Method: fakeserver.MethodList{"GetUser"}, Error: &fakeserver.ErrorRule{Code: codes.Unavailable, Rate: &rate}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Stop()

	const perWorker = 300
	start := time.Now()
	rec := results.NewRecorder([]string{"grpcbench.user.v1.UserService/GetUser"}, start)
	var wg sync.WaitGroup
	for _, addr := range cl.Addrs() {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		client := userpb.NewUserServiceClient(cc)
		s := rec.Shard()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				var p peer.Peer
				begin := time.Since(start)
				_, err := client.GetUser(ctx, &userpb.GetUserRequest{UserId: strconv.Itoa(i)}, grpc.Peer(&p))
				end := time.Since(start)
				s.Call(0, status.Code(err), end-begin, end-begin, end)
				s.Attempt(0, end-begin)
				s.CallAttempts(1)
				if p.Addr != nil {
					s.Peer(p.Addr.String())
				}
			}
		}()
	}
	wg.Wait()
	cell := rec.Cell()
	st := cl.Stats()

	if cell.All.Calls != 2*perWorker || cell.All.Latency.Count() != 2*perWorker {
		t.Fatalf("recorded %d calls", cell.All.Calls)
	}
	if len(cell.Backends) != 2 {
		t.Fatalf("backends = %+v", cell.Backends)
	}
	for _, b := range st.Backends {
		var got *results.Backend
		for i := range cell.Backends {
			if cell.Backends[i].Addr == b.Addr {
				got = &cell.Backends[i]
			}
		}
		if got == nil || got.ClientCalls != b.Calls["GetUser"] {
			t.Errorf("backend %s: client saw %+v, server %d calls", b.Addr, got, b.Calls["GetUser"])
		}
	}
	var serverUnavailable int64
	for _, b := range st.Backends {
		serverUnavailable += b.Codes["UNAVAILABLE"]
	}
	codesGot := cell.Methods["grpcbench.user.v1.UserService/GetUser"].Codes
	if codesGot["UNAVAILABLE"] != serverUnavailable || codesGot["UNAVAILABLE"] == 0 || cell.All.Errors != serverUnavailable {
		t.Errorf("UNAVAILABLE: client %d (errors %d), server %d", codesGot["UNAVAILABLE"], cell.All.Errors, serverUnavailable)
	}
	var seriesCalls int64
	for _, s := range cell.Series {
		seriesCalls += s.Calls
	}
	if seriesCalls != 2*perWorker {
		t.Errorf("series holds %d calls", seriesCalls)
	}
}
