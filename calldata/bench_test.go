package calldata_test

import (
	"testing"

	"github.com/grpcbench/grpcbench/calldata"
)

// BenchmarkTemplatedRequest is the per-call cost of a request with two
// template variables: the constant part is copied, two fields appended.
func BenchmarkTemplatedRequest(b *testing.B) {
	m := interop(b, "grpc.testing.TestService/UnaryCall")
	r, err := calldata.Compile(m, map[string]any{
		"response_size":   64,
		"payload":         map[string]any{"body": "user-{{randomString 12}}"},
		"response_status": map[string]any{"message": "tenant-{{randomInt 1 50}}"},
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	e := r.NewEncoder()
	v := vars(1)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		v.Call++
		if buf, err = e.Append(buf[:0], 0, v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTemplatedMetadata is the per-call cost of two templated metadata
// values (one string each).
func BenchmarkTemplatedMetadata(b *testing.B) {
	md, err := calldata.CompileMetadata(map[string]string{"x-key": "{{randomString 8}}", "x-tenant": "t-{{randomInt 1 50}}", "x-fixed": "v"})
	if err != nil {
		b.Fatal(err)
	}
	v := vars(1)
	var scratch []byte
	pairs := make([]string, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		pairs = md.AppendPairs(pairs[:0], v, &scratch)
	}
}

// BenchmarkConstantRequest copies pre-encoded bytes.
func BenchmarkConstantRequest(b *testing.B) {
	m := interop(b, "grpc.testing.TestService/UnaryCall")
	r, err := calldata.Compile(m, map[string]any{"response_size": 64, "payload": map[string]any{"body": "AAAAAAAA"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	e := r.NewEncoder()
	v := vars(1)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.Append(buf[:0], 0, v)
	}
}
