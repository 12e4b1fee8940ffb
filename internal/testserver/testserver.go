package testserver

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcbench/grpcbench/fakeserver"
)

// Fake starts a fake server cluster with cfg (and opts) and stops it when
// t ends.
func Fake(t testing.TB, cfg fakeserver.Config, opts ...fakeserver.Option) *fakeserver.Cluster {
	t.Helper()
	cl, err := fakeserver.Start(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("fakeserver.Start: %v", err)
	}
	t.Cleanup(cl.Stop)
	return cl
}

// Dial returns a plaintext client connection to target (extra options
// appended) and closes it when t ends.
func Dial(t testing.TB, target string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(target, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", target, err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// FakeConn starts a cluster with cfg and returns it with a plaintext
// connection to its first backend (extra dial options appended), both
// closed when t ends.
func FakeConn(t testing.TB, cfg fakeserver.Config, opts ...grpc.DialOption) (*fakeserver.Cluster, *grpc.ClientConn) {
	t.Helper()
	cl := Fake(t, cfg)
	return cl, Dial(t, cl.Addrs()[0], opts...)
}

// Calls returns the calls of method (a short name, "GetUser") that the
// cluster's backends received, summed over every backend.
func Calls(cl *fakeserver.Cluster, method string) int64 {
	var n int64
	for _, c := range CallsByBackend(cl, method) {
		n += c
	}
	return n
}

// CallsByBackend returns the calls of method each backend received, in
// backend order.
func CallsByBackend(cl *fakeserver.Cluster, method string) []int64 {
	st := cl.Stats()
	out := make([]int64, len(st.Backends))
	for i, b := range st.Backends {
		out[i] = b.Calls[method]
	}
	return out
}

// Serve serves s on a new listener on 127.0.0.1 and returns its address. s
// is stopped (and Serve's goroutine waited for) when t ends.
func Serve(t testing.TB, s *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s, lis)
	return lis.Addr().String()
}

// ServeBufconn serves s over an in-memory bufconn listener and returns a
// plaintext connection to it (extra dial options appended). Both are closed
// when t ends. Unit tests only: integration tests use TCP (Serve, Fake).
func ServeBufconn(t testing.TB, s *grpc.Server, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	serve(t, s, lis)
	dialer := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
	return Dial(t, "passthrough:///bufconn", append([]grpc.DialOption{dialer}, opts...)...)
}

// serve runs s.Serve(lis) until t ends.
func serve(t testing.TB, s *grpc.Server, lis net.Listener) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
}

// ClosedAddr returns a 127.0.0.1 address where nothing listens: a port that
// was free a moment ago. Use it for "nothing there" targets, and for
// programs that must be told their port on the command line.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// InteropOptions choose what Interop serves besides the TestService.
type InteropOptions struct {
	// Reflection registers server reflection (v1 and v1alpha).
	Reflection bool
	// ReflectionV1Alpha registers only the v1alpha reflection service.
	ReflectionV1Alpha bool
}

// Interop starts grpc-go's interop TestService (a real server nobody here
// wrote) on 127.0.0.1 and returns its address; it stops when t ends.
func Interop(t testing.TB, o InteropOptions) string {
	t.Helper()
	s := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(s, interop.NewTestServer())
	switch {
	case o.ReflectionV1Alpha:
		registerV1Alpha(s)
	case o.Reflection:
		reflection.Register(s)
	}
	return Serve(t, s)
}

// InteropFile is the descriptor of grpc-go's interop TestService.
func InteropFile() protoreflect.FileDescriptor { return testgrpc.File_grpc_testing_test_proto }

// WriteProtoset writes the files and everything they import as a
// FileDescriptorSet (what protoc --descriptor_set_out --include_imports
// writes) to dir/name and returns its path. With deps false the imports are
// left out, as protoc does without --include_imports.
func WriteProtoset(t testing.TB, dir, name string, deps bool, files ...protoreflect.FileDescriptor) string {
	t.Helper()
	var set descriptorpb.FileDescriptorSet
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		if deps {
			for i := range fd.Imports().Len() {
				add(fd.Imports().Get(i).FileDescriptor)
			}
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	for _, fd := range files {
		add(fd)
	}
	b, err := proto.Marshal(&set)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
