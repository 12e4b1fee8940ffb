package methods

import (
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Kind is a method's call pattern.
type Kind uint8

// The four gRPC call patterns.
const (
	Unary Kind = iota
	ServerStream
	ClientStream
	Bidi
)

var kindNames = [...]string{"unary", "server_stream", "client_stream", "bidi"}

// String returns the kind's snake_case name, e.g. "server_stream".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(?)"
}

// IsStream reports whether the method streams in either direction.
func (k Kind) IsStream() bool { return k != Unary }

// Method is one gRPC method: name, kind and message types. It is immutable
// and safe to share between goroutines.
type Method struct {
	desc protoreflect.MethodDescriptor
	name string // "pkg.Service/Method"
	full string // "/pkg.Service/Method"
	kind Kind
	sd   grpc.StreamDesc
}

// newMethod returns the Method of a method descriptor.
func newMethod(md protoreflect.MethodDescriptor) *Method {
	svc := string(md.Parent().FullName())
	m := &Method{
		desc: md,
		name: svc + "/" + string(md.Name()),
		full: "/" + svc + "/" + string(md.Name()),
	}
	switch cs, ss := md.IsStreamingClient(), md.IsStreamingServer(); {
	case cs && ss:
		m.kind = Bidi
	case cs:
		m.kind = ClientStream
	case ss:
		m.kind = ServerStream
	}
	m.sd = grpc.StreamDesc{StreamName: string(md.Name()), ClientStreams: md.IsStreamingClient(), ServerStreams: md.IsStreamingServer()}
	return m
}

// Name is the method's name as results and reports key it:
// "grpcbench.user.v1.UserService/GetUser".
func (m *Method) Name() string { return m.name }

// FullMethod is the name gRPC sends on the wire and Invoke / NewStream take:
// "/grpcbench.user.v1.UserService/GetUser".
func (m *Method) FullMethod() string { return m.full }

// Short is the method's own name without its service, e.g. "GetUser".
func (m *Method) Short() string { return string(m.desc.Name()) }

// Service is the full name of the method's service.
func (m *Method) Service() string { return string(m.desc.Parent().FullName()) }

// Kind is the call pattern.
func (m *Method) Kind() Kind { return m.kind }

// Input is the request message type.
func (m *Method) Input() protoreflect.MessageDescriptor { return m.desc.Input() }

// Output is the response message type.
func (m *Method) Output() protoreflect.MessageDescriptor { return m.desc.Output() }

// Descriptor is the method's descriptor.
func (m *Method) Descriptor() protoreflect.MethodDescriptor { return m.desc }

// StreamDesc describes the method for grpc.ClientConnInterface.NewStream.
// It is shared: do not modify it.
func (m *Method) StreamDesc() *grpc.StreamDesc { return &m.sd }

// ShortNames maps each method name to the shortest form that is unique
// among names: the bare method name ("GetUser") when no other method has it,
// else "Service/Method" when that is unique, else the full name. Reports use
// it to keep labels readable.
func ShortNames(names []string) map[string]string {
	out := make(map[string]string, len(names))
	count := func(f func(string) string, s string) int {
		n := 0
		for _, o := range names {
			if f(o) == s {
				n++
			}
		}
		return n
	}
	bare := func(n string) string { return n[strings.LastIndexByte(n, '/')+1:] }
	svcMethod := func(n string) string {
		svc, meth, ok := strings.Cut(n, "/")
		if !ok {
			return n
		}
		return svc[strings.LastIndexByte(svc, '.')+1:] + "/" + meth
	}
	for _, n := range names {
		switch {
		case count(bare, bare(n)) == 1:
			out[n] = bare(n)
		case count(svcMethod, svcMethod(n)) == 1:
			out[n] = svcMethod(n)
		default:
			out[n] = n
		}
	}
	return out
}
