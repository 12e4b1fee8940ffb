// Package testserver starts the servers grpcbench's tests call — the fake
// server cluster and grpc-go's own interop TestService — on 127.0.0.1 and
// dials them, stopping everything when the test ends. It is the one copy of
// the "start a cluster and dial it" setup the package tests share, in the
// manner of grpc-go's internal/stubserver.
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
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcbench/grpcbench/fakeserver"
)

// Fake starts a fake server cluster with cfg and stops it when t ends.
func Fake(t testing.TB, cfg fakeserver.Config) *fakeserver.Cluster {
	t.Helper()
	cl, err := fakeserver.Start(context.Background(), cfg)
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

// FakeConn starts a one-backend-or-more cluster with cfg and dials its first
// backend.
func FakeConn(t testing.TB, cfg fakeserver.Config, opts ...grpc.DialOption) (*fakeserver.Cluster, *grpc.ClientConn) {
	t.Helper()
	cl := Fake(t, cfg)
	return cl, Dial(t, cl.Addrs()[0], opts...)
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
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(s, interop.NewTestServer())
	switch {
	case o.ReflectionV1Alpha:
		registerV1Alpha(s)
	case o.Reflection:
		reflection.Register(s)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return lis.Addr().String()
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
