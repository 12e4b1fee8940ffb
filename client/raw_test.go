package client_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/methods"
)

// The generic path: pre-encoded requests (Payload) and counted or decoded
// replies (Reply) against grpc-go's interop TestService, a server nobody
// here wrote.

// interop is a client over the interop TestService and its method set.
type interop struct {
	t   *testing.T
	c   *client.Client
	set *methods.Set
}

func newInterop(t *testing.T) *interop {
	t.Helper()
	set, err := methods.FromFiles("interop", testserver.InteropFile())
	if err != nil {
		t.Fatal(err)
	}
	cc := testserver.Dial(t, testserver.Interop(t, testserver.InteropOptions{}))
	return &interop{t: t, c: client.New(cc), set: set}
}

// method looks a TestService method up by its short name.
func (x *interop) method(name string) *methods.Method {
	x.t.Helper()
	m, err := x.set.Lookup(name)
	if err != nil {
		x.t.Fatal(err)
	}
	return m
}

// payload encodes m once, as a caller of the generic path does.
func payload(t *testing.T, m proto.Message) *client.Payload {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return &client.Payload{B: b}
}

// TestUnaryCountedAndDecoded: a unary reply counted (no decoding) and decoded has the same size, and the decoded one holds the body asked for.
func TestUnaryCountedAndDecoded(t *testing.T) {
	x := newInterop(t)
	ctx := context.Background()
	m := x.method("UnaryCall")
	req := payload(t, &testpb.SimpleRequest{ResponseSize: 300})
	counted := &client.Reply{}
	if err := x.c.Unary(ctx, m, req, counted); err != nil {
		t.Fatal(err)
	}
	decoded := &client.Reply{Msg: dynamicpb.NewMessage(m.Output())}
	if err := x.c.Unary(ctx, m, req, decoded); err != nil {
		t.Fatal(err)
	}
	var want testpb.SimpleResponse
	b, _ := proto.Marshal(decoded.Msg)
	if err := proto.Unmarshal(b, &want); err != nil || len(want.GetPayload().GetBody()) != 300 {
		t.Fatalf("decoded reply %v (%v), want a 300-byte body", &want, err)
	}
	if counted.Size != decoded.Size || counted.Size < 300 {
		t.Errorf("sizes counted %d, decoded %d; want equal and ≥ 300", counted.Size, decoded.Size)
	}
}

// TestClientStreamReusesOneBuffer: a client stream whose next reuses one Payload sends each message as it was when sent.
func TestClientStreamReusesOneBuffer(t *testing.T) {
	x := newInterop(t)
	ctx := context.Background()
	m := x.method("StreamingInputCall")
	p := &client.Payload{}
	var wantSum int32
	resp := &client.Reply{Msg: dynamicpb.NewMessage(m.Output())}
	sent, err := x.c.ClientStream(ctx, m, 20, func(i int) any {
		size := 100 + 10*i
		wantSum += int32(size)
		b, err := proto.Marshal(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, size)}})
		if err != nil {
			t.Error(err)
		}
		p.B = append(p.B[:0], b...)
		return p
	}, resp)
	if err != nil || sent != 20 {
		t.Fatalf("ClientStream = %d, %v", sent, err)
	}
	var got testpb.StreamingInputCallResponse
	b, _ := proto.Marshal(resp.Msg)
	_ = proto.Unmarshal(b, &got)
	if got.AggregatedPayloadSize != wantSum {
		t.Errorf("server summed %d bytes, want %d: a reused buffer was sent after it changed", got.AggregatedPayloadSize, wantSum)
	}
}

// TestServerStreamAndBidiPayloads: server streaming calls onMsg per reply with its size; bidi is lock step, and a second reply to one request is an error.
func TestServerStreamAndBidiPayloads(t *testing.T) {
	x := newInterop(t)
	ctx := context.Background()
	out := x.method("StreamingOutputCall")
	req := payload(t, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 10}, {Size: 20}, {Size: 30}}})
	r := &client.Reply{}
	var sizes []int
	n, err := x.c.ServerStream(ctx, out, req, r, func(int) error { sizes = append(sizes, r.Size); return nil })
	if err != nil || n != 3 || sizes[0] >= sizes[2] {
		t.Fatalf("ServerStream = %d, %v, sizes %v", n, err, sizes)
	}
	bidi := x.method("FullDuplexCall")
	one := payload(t, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 50}}})
	n, err = x.c.Bidi(ctx, bidi, 5, func(int) any { return one }, r, nil)
	if err != nil || n != 5 {
		t.Fatalf("Bidi = %d, %v", n, err)
	}
	two := payload(t, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 1}, {Size: 1}}})
	if _, err = x.c.Bidi(ctx, bidi, 2, func(int) any { return two }, r, nil); err == nil {
		t.Error("two replies per request in lock step: no error")
	}
}

// TestWrongKind: a helper used with a method of another kind says so.
func TestWrongKind(t *testing.T) {
	x := newInterop(t)
	ctx := context.Background()
	if err := x.c.Unary(ctx, x.method("FullDuplexCall"), &client.Payload{}, &client.Reply{}); err == nil || !strings.Contains(err.Error(), "is bidi, not unary") {
		t.Errorf("err = %v", err)
	}
	// Protobuf decoding is lenient (a field of another wire type is
	// kept as unknown), so a malformed reply needs truncated bytes: see
	// TestMalformedReply.
}

// garbageCodec sends every reply as bytes that are not a protobuf message.
type garbageCodec struct{}

func (garbageCodec) Marshal(any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer([]byte{0x0a, 0xff, 0x01})}, nil // field 1, length 255, 1 byte
}
func (garbageCodec) Unmarshal(mem.BufferSlice, any) error { return nil }
func (garbageCodec) Name() string                         { return "proto" }

// TestMalformedReply: a reply that does not decode is an error when
// decoding, and only counted when not.
func TestMalformedReply(t *testing.T) {
	s := grpc.NewServer(grpc.ForceServerCodecV2(garbageCodec{}), grpc.UnknownServiceHandler(func(_ any, st grpc.ServerStream) error {
		var in struct{}
		if err := st.RecvMsg(&in); err != nil {
			return err
		}
		return st.SendMsg(&in)
	}))
	cc := testserver.Dial(t, testserver.Serve(t, s))
	set, err := methods.FromFiles("interop", testserver.InteropFile())
	if err != nil {
		t.Fatal(err)
	}
	m, err := set.Lookup("UnaryCall")
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(cc)
	counted := &client.Reply{}
	if err := c.Unary(context.Background(), m, &client.Payload{}, counted); err != nil || counted.Size != 3 {
		t.Errorf("counting only: err %v, size %d; want nil, 3", err, counted.Size)
	}
	err = c.Unary(context.Background(), m, &client.Payload{}, &client.Reply{Msg: dynamicpb.NewMessage(m.Output())})
	if err == nil || !strings.Contains(err.Error(), "does not decode as grpc.testing.SimpleResponse") {
		t.Errorf("decoding: err = %v", err)
	}
}
