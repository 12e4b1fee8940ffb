package methods

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

// FuzzLookup: any name resolves or fails with an error, never panics, and a
// resolved method's name is one of the set's.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"GetUser", "/grpcbench.user.v1.UserService/GetUser", "a.b.C.D", "/", "//", ".", "UserService/", "x/y/z"} {
		f.Add(s)
	}
	set := Builtin()
	f.Fuzz(func(t *testing.T, name string) {
		m, err := set.Lookup(name)
		if err == nil && !strings.HasPrefix(m.Name(), userpb.UserService_ServiceDesc.ServiceName+"/") {
			t.Fatalf("Lookup(%q) = %s", name, m.Name())
		}
	})
}

// FuzzProtoset: any bytes are a protoset or an error, never a panic.
func FuzzProtoset(f *testing.F) {
	good, _ := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(userpb.File_user_proto)}})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte("syntax = \"proto3\";"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fds, err := parseProtoset("f.protoset", data)
		if err != nil {
			return
		}
		files, err := newFiles(fds)
		if err != nil {
			return
		}
		_, _ = newSet("fuzz", files, nil)
	})
}
