package scenarios

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"

	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/proto/userpb"
	"github.com/grpcbench/grpcbench/results"
)

// grpc-go's interop TestService, a server nobody here wrote, described by a
// protoset: every pattern's calls succeed, and the bytes received are
// exactly what the data asked the server to send.
func TestAnyServiceInteropProtoset(t *testing.T) {
	addr := testserver.Interop(t, testserver.InteropOptions{})
	dir := t.TempDir()
	protoset := testserver.WriteProtoset(t, dir, "interop.protoset", true, testserver.InteropFile())
	run := runYAML(t, context.Background(), fmt.Sprintf(`
server: {target: %q, protoset: [%s]}
load: {model: closed, workers: 4, max_calls: 400, duration: 10s}
mix:
  - {call: grpc.testing.TestService/UnaryCall, data: {response_size: 100}}
  - {call: grpc.testing.TestService/StreamingOutputCall, data: {response_parameters: [{size: 10}, {size: 20}, {size: 30}]}}
  - {call: grpc.testing.TestService/StreamingInputCall, messages: 4, data: {payload: {body: AAAA}}}
  - {call: grpc.testing.TestService.FullDuplexCall, messages: 5, data: {response_parameters: [{size: 40}]}}
`, addr, protoset))
	c := run.Cells[0]
	const svc = "grpc.testing.TestService/"
	calls := map[string]int64{}
	for _, m := range []string{"UnaryCall", "StreamingOutputCall", "StreamingInputCall", "FullDuplexCall"} {
		ms := c.Methods[svc+m]
		if ms == nil || ms.Calls == 0 || ms.Errors != 0 {
			t.Fatalf("%s: %+v (codes %v)", m, ms, ms.Codes)
		}
		calls[m] = ms.Calls
	}
	if c.All.Calls != 400 {
		t.Errorf("%d calls, want max_calls 400", c.All.Calls)
	}
	// What each call must have received, from the generated messages.
	body := func(n int) *testpb.Payload { return &testpb.Payload{Body: make([]byte, n)} }
	perCall := map[string]int64{
		"UnaryCall": int64(proto.Size(&testpb.SimpleResponse{Payload: body(100)})),
		"StreamingOutputCall": int64(proto.Size(&testpb.StreamingOutputCallResponse{Payload: body(10)}) +
			proto.Size(&testpb.StreamingOutputCallResponse{Payload: body(20)}) + proto.Size(&testpb.StreamingOutputCallResponse{Payload: body(30)})),
		"StreamingInputCall": int64(proto.Size(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: 4 * 3})),
		"FullDuplexCall":     5 * int64(proto.Size(&testpb.StreamingOutputCallResponse{Payload: body(40)})),
	}
	var want int64
	for m, n := range calls {
		want += n * perCall[m]
	}
	if c.BytesReceived != want {
		t.Errorf("bytes received %d, want %d (calls %v)", c.BytesReceived, want, calls)
	}
	if n := c.Methods[svc+"FullDuplexCall"].MessageRTT.Count(); n != 5*calls["FullDuplexCall"] {
		t.Errorf("%d bidi round trips, want 5 per call (%d calls)", n, calls["FullDuplexCall"])
	}
	if n := c.Methods[svc+"StreamingOutputCall"].TTFM.Count(); n != calls["StreamingOutputCall"] {
		t.Errorf("%d times to first message, want one per call (%d)", n, calls["StreamingOutputCall"])
	}
}

// The same four-pattern scenario against the embedded fake server with
// its methods found three ways — server reflection, a protoset, and .proto
// files (user.proto imports google/protobuf/timestamp.proto) — makes the
// same calls with the same codes.
func TestAnyServiceEmbeddedThreeSources(t *testing.T) {
	dir := t.TempDir()
	protoset := testserver.WriteProtoset(t, dir, "user.protoset", true, userpb.File_user_proto)
	userProto, err := filepath.Abs("../proto/userpb/user.proto")
	if err != nil {
		t.Fatal(err)
	}
	const mix = `
load: {model: closed, workers: 1, max_calls: 120, duration: 20s}
mix:
  - {call: grpcbench.user.v1.UserService/GetUser, weight: 2, data: {user_id: u1, response_padding: 32}}
  - {call: grpcbench.user.v1.UserService/ListUsers, data: {page_size: 4}}
  - {call: grpcbench.user.v1.UserService/BatchCreateUsers, messages: 3, data: [{username: a}, {username: b}]}
  - {call: grpcbench.user.v1.UserService/SyncUsers, messages: 3, data: {user_id: u1}}
`
	sources := map[string]string{
		"reflection": "server: {reflection: true}",
		"protoset":   fmt.Sprintf("server: {protoset: [%s]}", protoset),
		"proto":      fmt.Sprintf("server: {proto: [%s], import_paths: [%s]}", userProto, filepath.Dir(userProto)),
	}
	got := map[string]string{}
	for name, src := range sources {
		run := runYAML(t, context.Background(), "seed: 3\n"+src+mix)
		got[name] = callsAndCodes(run.Cells[0])
		t.Logf("%s: %s", name, got[name])
	}
	if got["reflection"] != got["protoset"] || got["protoset"] != got["proto"] {
		t.Errorf("the three sources differ:\n%v", got)
	}
	if !strings.Contains(got["proto"], "SyncUsers:") || strings.Contains(got["proto"], "errors") {
		t.Errorf("calls: %s", got["proto"])
	}
}

// callsAndCodes summarises a cell's calls per method and their codes.
func callsAndCodes(c *results.Cell) string {
	var parts []string
	for _, m := range []string{"GetUser", "ListUsers", "BatchCreateUsers", "SyncUsers"} {
		ms := c.Methods["grpcbench.user.v1.UserService/"+m]
		if ms == nil {
			parts = append(parts, m+": none")
			continue
		}
		s := fmt.Sprintf("%s: %d %v", m, ms.Calls, ms.Codes)
		if ms.Errors > 0 {
			s += fmt.Sprintf(" %d errors", ms.Errors)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// A random-string metadata key spreads 1,000 calls over a ring_hash policy
// that hashes it: every backend gets calls. With one worker the keys come
// in one seeded sequence, so on the same addresses (the ring hashes them)
// the same seed lands the same calls on the same backends, and another seed
// does not.
func TestTemplatedKeysSpreadOverRingHash(t *testing.T) {
	var addrs []string
	for range 3 {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, strconv.Quote(lis.Addr().String()))
		lis.Close()
	}
	spread := func(seed int) []int64 {
		run := runYAML(t, context.Background(), fmt.Sprintf(`
seed: %d
server: {addrs: [%s]}
load: {model: closed, workers: 1, max_calls: 1000, duration: 60s}
mix: [{call: GetUser, metadata: {x-key: "k-{{randomString 8}}"}}]
client: {lb: {policy: ring_hash, hash_header: x-key}}
`, seed, strings.Join(addrs, ", ")))
		var out []int64
		for _, b := range run.Cells[0].Backends {
			out = append(out, b.ServerCalls)
		}
		return out
	}
	a, b, c := spread(9), spread(9), spread(10)
	t.Logf("seed 9: %v, again: %v, seed 10: %v", a, b, c)
	var sum int64
	for _, n := range a {
		if n == 0 {
			t.Errorf("a backend got no calls: %v", a)
		}
		sum += n
	}
	if sum != 1000 {
		t.Errorf("%d calls reached the servers, want 1000", sum)
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("the same seed spread differently: %v vs %v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Errorf("another seed spread the same: %v", c)
	}
}
