package methods

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// ErrNoReflection is returned (wrapped) by FromReflection when the server
// serves neither version of gRPC server reflection.
var ErrNoReflection = errors.New("the server does not serve reflection: give server.proto or server.protoset")

// The two versions of the reflection service. v1alpha's messages are the
// same on the wire as v1's, so one set of Go types speaks both.
var reflectionMethods = []string{
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
}

var reflectionStream = &grpc.StreamDesc{StreamName: "ServerReflectionInfo", ServerStreams: true, ClientStreams: true}

// FromReflection asks a server for its services over gRPC server reflection
// (grpc.reflection.v1, falling back to v1alpha when v1 is unimplemented) and
// returns them with every file they need. The reflection service itself is
// left out.
func FromReflection(ctx context.Context, cc grpc.ClientConnInterface, opts ...grpc.CallOption) (*Set, error) {
	var lastErr error
	for _, method := range reflectionMethods {
		set, err := reflect(ctx, cc, method, opts)
		if err == nil {
			return set, nil
		}
		if status.Code(err) != codes.Unimplemented {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("%w (%v)", ErrNoReflection, lastErr)
}

// reflect runs one reflection conversation over method.
func reflect(ctx context.Context, cc grpc.ClientConnInterface, method string, opts []grpc.CallOption) (*Set, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := cc.NewStream(ctx, reflectionStream, method, opts...)
	if err != nil {
		return nil, err
	}
	c := &conversation{st: st, fdps: map[string]*descriptorpb.FileDescriptorProto{}}
	resp, err := c.ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"}})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	names = userServices(names)
	for _, n := range names {
		if err := c.fetch(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: n}}); err != nil {
			return nil, fmt.Errorf("reflection: service %s: %w", n, err)
		}
	}
	if err := c.closeDeps(); err != nil {
		return nil, err
	}
	_ = st.CloseSend()
	list := make([]*descriptorpb.FileDescriptorProto, 0, len(c.fdps))
	for _, f := range c.fdps {
		list = append(list, f)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].GetName() < list[j].GetName() })
	files, err := newFiles(list)
	if err != nil {
		return nil, fmt.Errorf("reflection: %w", err)
	}
	return newSet("server reflection", files, names)
}

// conversation is one reflection stream and the files it brought.
type conversation struct {
	st   grpc.ClientStream
	fdps map[string]*descriptorpb.FileDescriptorProto
}

// ask sends one request and reads its response; an error response becomes
// a status error.
func (c *conversation) ask(req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
	if err := c.st.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	resp := new(rpb.ServerReflectionResponse)
	if err := c.st.RecvMsg(resp); err != nil {
		return nil, err
	}
	if e := resp.GetErrorResponse(); e != nil {
		return nil, status.Error(codes.Code(e.GetErrorCode()), e.GetErrorMessage())
	}
	return resp, nil
}

// fetch asks for files and keeps those the response holds.
func (c *conversation) fetch(req *rpb.ServerReflectionRequest) error {
	r, err := c.ask(req)
	if err != nil {
		return err
	}
	for _, b := range r.GetFileDescriptorResponse().GetFileDescriptorProto() {
		fdp := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(b, fdp); err != nil {
			return fmt.Errorf("reflection: a file descriptor does not decode: %w", err)
		}
		c.fdps[fdp.GetName()] = fdp
	}
	return nil
}

// closeDeps asks for the imports a server did not send with a file, until
// the set is closed (bounded by the files seen).
func (c *conversation) closeDeps() error {
	for range 1000 {
		missing := missingDeps(c.fdps)
		if len(missing) == 0 {
			return nil
		}
		for _, name := range missing {
			if err := c.fetch(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: name}}); err != nil {
				return fmt.Errorf("reflection: file %s: %w", name, err)
			}
			if _, ok := c.fdps[name]; !ok {
				return fmt.Errorf("reflection: the server did not send %s", name)
			}
		}
	}
	return errors.New("reflection: the server's imports do not close")
}

// userServices drops the reflection service itself, which every server
// with reflection lists.
func userServices(names []string) []string {
	var out []string
	for _, n := range names {
		switch n {
		case "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection":
			continue
		}
		out = append(out, n)
	}
	return out
}

// missingDeps lists imports of the files in fdps that are not in it.
func missingDeps(fdps map[string]*descriptorpb.FileDescriptorProto) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range fdps {
		for _, d := range f.GetDependency() {
			if _, ok := fdps[d]; !ok && !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	sort.Strings(out)
	return out
}
