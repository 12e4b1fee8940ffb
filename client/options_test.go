package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/internal/yamlx"
)

func TestCallOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    client.CallOptions
		want []string // "path: substring" of every expected error
	}{
		{"zero", client.CallOptions{}, nil},
		{"all set", client.CallOptions{Timeout: time.Second, Compression: "gzip", WaitForReady: true,
			MaxRecvMsgSize: 1 << 20, MaxSendMsgSize: 1 << 20, Metadata: map[string]string{"X-Tenant": "a", "k-bin": "\xff"}}, nil},
		{"negative timeout", client.CallOptions{Timeout: -1}, []string{"timeout: must not be negative"}},
		{"unknown compressor", client.CallOptions{Compression: "snappy"}, []string{"compression: unknown compressor"}},
		{"negative sizes", client.CallOptions{MaxRecvMsgSize: -1, MaxSendMsgSize: -2},
			[]string{"max_recv_msg_size: must not be negative", "max_send_msg_size: must not be negative"}},
		{"reserved key", client.CallOptions{Metadata: map[string]string{"grpc-timeout": "1S"}}, []string{"metadata.grpc-timeout: keys starting with \"grpc-\""}},
		{"bad key", client.CallOptions{Metadata: map[string]string{"a b": "1"}}, []string{"metadata.a b: key may hold only"}},
		{"empty key", client.CallOptions{Metadata: map[string]string{"": "1"}}, []string{"metadata: key must not be empty"}},
		{"binary value in text key", client.CallOptions{Metadata: map[string]string{"k": "\x00"}}, []string{"metadata.k: value must be printable ASCII"}},
		{"duplicate after lower-casing", client.CallOptions{Metadata: map[string]string{"K": "1", "k": "2"}}, []string{"metadata.k: duplicates key \"K\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.FieldErrors(t, tt.o.Validate(), tt.want...) })
	}
}

func TestCallOptionsFromYAML(t *testing.T) {
	src := `timeout: 250ms
compression: gzip
wait_for_ready: true
max_recv_msg_size: 1024
max_send_msg_size: 2048
metadata:
  x-tenant: bench
`
	node, err := yamlx.Parse("opts.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var o client.CallOptions
	if _, err := yamlx.Decode("opts.yaml", node, &o); err != nil {
		t.Fatal(err)
	}
	want := client.CallOptions{Timeout: 250 * time.Millisecond, Compression: "gzip", WaitForReady: true,
		MaxRecvMsgSize: 1024, MaxSendMsgSize: 2048, Metadata: map[string]string{"x-tenant": "bench"}}
	if o.Timeout != want.Timeout || o.Compression != want.Compression || o.WaitForReady != want.WaitForReady ||
		o.MaxRecvMsgSize != want.MaxRecvMsgSize || o.MaxSendMsgSize != want.MaxSendMsgSize || o.Metadata["x-tenant"] != "bench" {
		t.Fatalf("decoded %+v, want %+v", o, want)
	}

	bad := "timeout: 1s\ncompression: lz4\n"
	node, err = yamlx.Parse("bad.yaml", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	var b client.CallOptions
	pos, err := yamlx.Decode("bad.yaml", node, &b)
	if err != nil {
		t.Fatal(err)
	}
	located := pos.Locate("bad.yaml", b.Validate())
	var le *yamlx.Error
	if !errors.As(located, &le) || le.Line != 2 || le.Path != "compression" {
		t.Fatalf("located error = %v, want bad.yaml:2: compression", located)
	}
}
