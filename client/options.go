package client

import (
	"errors"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // registers the "gzip" compressor for CallOptions.Compression

	"github.com/grpcbench/grpcbench/field"
)

// compressionGzip is the only compressor CallOptions.Compression accepts
// besides "" (no compression). The package registers it on import.
const compressionGzip = "gzip"

// CallOptions are the per-call options applied to every call a Client makes.
// The zero value means: no deadline, no extra metadata, no compression,
// fail fast, grpc-go's default message size limits.
//
// A scenario carries it as YAML:
//
//	timeout: 2s
//	compression: gzip
//	wait_for_ready: true
//	max_recv_msg_size: 4194304
//	max_send_msg_size: 4194304
//	metadata: {x-tenant: bench}
type CallOptions struct {
	// Timeout is the deadline of each call, counted from the call's start.
	// For the stream helpers it bounds the whole stream. 0 means no deadline
	// beyond the caller's context.
	Timeout time.Duration `yaml:"timeout"`
	// Metadata is sent as request headers with every call. Keys are
	// lower-cased; keys ending in "-bin" carry binary values. Keys starting
	// with "grpc-" are reserved and rejected.
	Metadata map[string]string `yaml:"metadata"`
	// Compression names the request compressor: "" (none) or "gzip".
	Compression string `yaml:"compression"`
	// WaitForReady makes calls wait for a READY connection instead of
	// failing fast with UNAVAILABLE while the channel is in
	// TRANSIENT_FAILURE.
	WaitForReady bool `yaml:"wait_for_ready"`
	// MaxRecvMsgSize is the largest response message accepted, in bytes.
	// 0 keeps grpc-go's default (4 MiB) or the dial option's value.
	MaxRecvMsgSize int `yaml:"max_recv_msg_size"`
	// MaxSendMsgSize is the largest request message sent, in bytes. 0 keeps
	// grpc-go's default (unlimited) or the dial option's value.
	MaxSendMsgSize int `yaml:"max_send_msg_size"`
	// Extra are further gRPC call options passed to every call, e.g.
	// per-RPC credentials built from secret metadata. Not in YAML.
	Extra []grpc.CallOption `yaml:"-"`
}

// Validate reports every invalid field, as field.Error values joined
// with errors.Join, with paths relative to CallOptions (e.g. "timeout").
func (o CallOptions) Validate() error {
	var errs []error
	if o.Timeout < 0 {
		errs = append(errs, field.Errorf("timeout", "must not be negative, got %v", o.Timeout))
	}
	switch o.Compression {
	case "", compressionGzip:
	default:
		errs = append(errs, field.Errorf("compression", "unknown compressor %q (want \"gzip\" or empty)", o.Compression))
	}
	if o.MaxRecvMsgSize < 0 {
		errs = append(errs, field.Errorf("max_recv_msg_size", "must not be negative, got %d", o.MaxRecvMsgSize))
	}
	if o.MaxSendMsgSize < 0 {
		errs = append(errs, field.Errorf("max_send_msg_size", "must not be negative, got %d", o.MaxSendMsgSize))
	}
	seen := make(map[string]string, len(o.Metadata))
	for _, k := range sortedKeys(o.Metadata) {
		path := field.Join("metadata", k)
		if err := checkMetadataKey(k); err != "" {
			errs = append(errs, field.Errorf(path, "%s", err))
			continue
		}
		lk := strings.ToLower(k)
		if prev, dup := seen[lk]; dup {
			errs = append(errs, field.Errorf(path, "duplicates key %q once lower-cased", prev))
			continue
		}
		seen[lk] = k
		if !strings.HasSuffix(lk, "-bin") {
			if err := checkMetadataValue(o.Metadata[k]); err != "" {
				errs = append(errs, field.Errorf(path, "%s", err))
			}
		}
	}
	return errors.Join(errs...)
}

// checkMetadataKey returns why k is not a valid gRPC header name, or "".
func checkMetadataKey(k string) string {
	if k == "" {
		return "key must not be empty"
	}
	lk := strings.ToLower(k)
	if strings.HasPrefix(lk, "grpc-") {
		return "keys starting with \"grpc-\" are reserved for gRPC"
	}
	for i := 0; i < len(lk); i++ {
		c := lk[i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' {
			continue
		}
		return "key may hold only letters, digits, '-', '_' and '.'"
	}
	return ""
}

// checkMetadataValue returns why v is not a valid ASCII header value, or "".
func checkMetadataValue(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "value must be printable ASCII (use a key ending in \"-bin\" for binary values)"
		}
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// compiled is CallOptions converted once for the hot path.
type compiled struct {
	timeout time.Duration
	// mdPairs holds the metadata as key, value pairs (keys lower-cased,
	// sorted) for metadata.AppendToOutgoingContext; nil when none.
	mdPairs []string
	// opts always starts with grpc.StaticMethod(), as generated stubs do,
	// and the client's codec.
	opts []grpc.CallOption
}

// compile converts validated options into their hot-path form.
func (o CallOptions) compile() compiled {
	c := compiled{timeout: o.Timeout}
	c.opts = append(c.opts, grpc.StaticMethod(), grpc.ForceCodecV2(theCodec))
	if o.Compression != "" {
		c.opts = append(c.opts, grpc.UseCompressor(o.Compression))
	}
	if o.WaitForReady {
		c.opts = append(c.opts, grpc.WaitForReady(true))
	}
	if o.MaxRecvMsgSize > 0 {
		c.opts = append(c.opts, grpc.MaxCallRecvMsgSize(o.MaxRecvMsgSize))
	}
	if o.MaxSendMsgSize > 0 {
		c.opts = append(c.opts, grpc.MaxCallSendMsgSize(o.MaxSendMsgSize))
	}
	c.opts = append(c.opts, o.Extra...)
	if len(o.Metadata) > 0 {
		for _, k := range sortedKeys(o.Metadata) {
			c.mdPairs = append(c.mdPairs, strings.ToLower(k), o.Metadata[k])
		}
	}
	return c
}
