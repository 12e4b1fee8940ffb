package dial

import (
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/lb"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in       string
		list     bool
		target   string // "" when rejected
		addr     string
		errorHas string
	}{
		{in: "127.0.0.1:50051", target: "dns:///127.0.0.1:50051", addr: "127.0.0.1:50051"},
		{in: "10.0.0.5:443", target: "dns:///10.0.0.5:443", addr: "10.0.0.5:443"},
		{in: "localhost:50051", target: "dns:///localhost:50051", addr: "localhost:50051"},
		{in: "api.example.com:443", list: true, target: "dns:///api.example.com:443", addr: "api.example.com:443"},
		{in: "api.example.com", target: "dns:///api.example.com", addr: "api.example.com"},
		{in: "[::1]:8080", list: true, target: "dns:///[::1]:8080", addr: "[::1]:8080"},
		{in: "[::1]", target: "dns:///[::1]", addr: "[::1]"},
		{in: "dns:///localhost:50051", target: "dns:///localhost:50051", addr: "localhost:50051"},
		{in: "dns://8.8.8.8:53/svc.internal:443", target: "dns://8.8.8.8:53/svc.internal:443", addr: "svc.internal:443"},
		{in: "dns:svc:443", target: "dns:svc:443", addr: "svc:443"},
		{in: "passthrough:///127.0.0.1:9", list: true, target: "passthrough:///127.0.0.1:9", addr: "127.0.0.1:9"},
		{in: "unix:///tmp/grpc.sock", list: true, target: "unix:///tmp/grpc.sock", addr: "unix:///tmp/grpc.sock"},
		{in: "unix:/tmp/grpc.sock", target: "unix:/tmp/grpc.sock", addr: "unix:///tmp/grpc.sock"},
		{in: "unix:run/grpc.sock", list: true, target: "unix:run/grpc.sock", addr: "unix:run/grpc.sock"},
		{in: "unix-abstract:bench", list: true, target: "unix-abstract:bench", addr: "unix:@bench"},
		{in: "unix:@bench", list: true, target: "unix:@bench", addr: "unix:@bench"},

		{in: "", errorHas: "must not be empty"},
		{in: "api.example.com", list: true, errorHas: "is not host:port"},
		{in: "dns:///localhost:50051", list: true, errorHas: "for a name re-resolved by DNS use target:"},
		{in: "xds:///svc", errorHas: `unknown scheme "xds"`},
		{in: "http://host:80", errorHas: `unknown scheme "http"`},
		{in: "foo:bar", errorHas: `unknown scheme "foo"`},
		{in: "host:0", errorHas: "port must be a number from 1 to 65535"},
		{in: "host:99999", errorHas: "port must be a number from 1 to 65535"},
		{in: "::1", errorHas: "IPv6 addresses go in brackets"},
		{in: "[10.0.0.1]", errorHas: "only an IPv6 address goes in brackets"},
		{in: "ho st:80", errorHas: "space or control character"},
		{in: "a/b:80", errorHas: "a host is a DNS name or an IP address"},
		{in: "unix://host/tmp/x.sock", errorHas: "takes no authority"},
		{in: "unix:", errorHas: "missing socket path"},
		{in: "unix-abstract:", errorHas: "missing socket path"},
		{in: "unix:@", list: true, errorHas: "missing abstract socket name"}, // found by FuzzParseTarget
		{in: "unix:///tmp/x.sock?x=1", errorHas: "no query"},
		{in: "passthrough://auth/h:1", errorHas: "takes no authority"},
		{in: "passthrough:///host", errorHas: "is not host:port"},
		{in: "dns:///", errorHas: "missing host"},
	}
	for _, tt := range tests {
		e, err := parseTarget(tt.in, tt.list)
		if tt.target == "" {
			if err == nil || !strings.Contains(err.Error(), tt.errorHas) {
				t.Errorf("parseTarget(%q, list=%v) = %+v, %v; want an error containing %q", tt.in, tt.list, e, err, tt.errorHas)
			}
			continue
		}
		if err != nil || e.target != tt.target || e.addr != tt.addr {
			t.Errorf("parseTarget(%q, list=%v) = %+v, %v; want target %q addr %q", tt.in, tt.list, e, err, tt.target, tt.addr)
		}
	}
}

func TestSplitNetwork(t *testing.T) {
	for in, want := range map[string][2]string{
		"127.0.0.1:1":      {"tcp", "127.0.0.1:1"},
		"unix:///tmp/a":    {"unix", "/tmp/a"},
		"unix:rel/a":       {"unix", "rel/a"},
		"unix:@abstract":   {"unix", "@abstract"},
		"localhost:50051":  {"tcp", "localhost:50051"},
		"unix://relative/": {"unix", "//relative/"},
	} {
		if n, a := splitNetwork(in); n != want[0] || a != want[1] {
			t.Errorf("splitNetwork(%q) = %q, %q; want %q, %q", in, n, a, want[0], want[1])
		}
	}
}

// FuzzParseTarget checks the target parser's invariants: it never panics;
// a target it accepts is one grpc-go accepts too; a list entry it accepts
// normalises to an address lb's resolver accepts and that parses again to
// itself.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"127.0.0.1:1", "localhost:50051", "dns:///h:1", "dns://1.1.1.1:53/h", "unix:///tmp/s",
		"unix:r", "unix-abstract:x", "passthrough:///h:1", "[::1]:1", "xds:///x", "a:b:c", "unix:%zz", "dns:///[", "h:+1"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	creds := grpc.WithTransportCredentials(insecure.NewCredentials())
	f.Fuzz(func(t *testing.T, s string, list bool) {
		e, err := parseTarget(s, list)
		if err != nil {
			if e != (endpoint{}) {
				t.Fatalf("parseTarget(%q) returned %+v with error %v", s, e, err)
			}
			return
		}
		if list {
			if err := lb.NewStaticResolver().SetAddrs([]string{e.addr}); err != nil {
				t.Fatalf("list entry %q normalised to %q, which lb rejects: %v", s, e.addr, err)
			}
			again, err := parseTarget(addrAsTarget(e.addr), true)
			if err != nil || again.addr != e.addr {
				t.Fatalf("address %q of %q parses again to %+v, %v", e.addr, s, again, err)
			}
			return
		}
		cc, err := grpc.NewClient(e.target, creds)
		if err != nil {
			t.Fatalf("parseTarget accepts %q (target %q) but grpc-go refuses it: %v", s, e.target, err)
		}
		_ = cc.Close()
	})
}

// addrAsTarget writes a resolver address back as a list entry.
func addrAsTarget(a string) string {
	if name, ok := strings.CutPrefix(a, "unix:@"); ok {
		return "unix-abstract:" + name
	}
	return a
}
