package dial_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/dial"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/pool"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// These tests send calls only to fake servers on 127.0.0.1, ::1 and unix
// sockets, and count them on the server side.

const probeTimeout = 5 * time.Second

// shortDir is a fresh directory with a short path: unix socket paths are
// limited to about 100 bytes, which t.TempDir's long names can exceed.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gbd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// newStack builds the Dialer for cfg and t and a pool of size connections
// with the given balancing policy, both closed when the test ends.
func newStack(t *testing.T, cfg dial.Config, tg dial.Target, policy lb.Policy, size int) (*dial.Dialer, *pool.Pool) {
	t.Helper()
	d, err := cfg.NewDialer(tg, nil)
	if err != nil {
		t.Fatalf("NewDialer: %v", err)
	}
	return d, newPool(t, d, policy, size)
}

func newPool(t *testing.T, d *dial.Dialer, policy lb.Policy, size int) *pool.Pool {
	t.Helper()
	lbOpts, err := lb.Config{Policy: policy}.DialOptions()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := pool.New(ctx, d.Target(), pool.Config{Size: size, Warmup: true}, append(d.DialOptions(), lbOpts...)...)
	if err != nil {
		t.Fatalf("pool.New(%s): %v", d.Target(), err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// getUsers makes n GetUser calls that must all succeed.
func getUsers(t *testing.T, cc grpc.ClientConnInterface, n int) {
	t.Helper()
	c := userpb.NewUserServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range n {
		if _, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func writeCA(t *testing.T, cl *fakeserver.Cluster) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, cl.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func port(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

// TestTargetForms dials every single-target form against a fake server,
// over plaintext and over TLS (a self-signed CA the client trusts), and
// checks each call reached the server over one connection.
func TestTargetForms(t *testing.T) {
	ipv6 := true
	if l, err := net.Listen("tcp", "[::1]:0"); err != nil {
		ipv6 = false
	} else {
		_ = l.Close()
	}
	forms := []struct {
		name   string
		listen func(dir string) string          // the backend's listen address
		target func(listen, addr string) string // the client's target
	}{
		{"host:port", nil, func(_, a string) string { return a }},
		{"localhost:PORT", nil, func(_, a string) string { return "localhost:" + port(a) }},
		{"dns:///localhost:PORT", nil, func(_, a string) string { return "dns:///localhost:" + port(a) }},
		{"passthrough:///127.0.0.1:PORT", nil, func(_, a string) string { return "passthrough:///" + a }},
		{"[::1]:PORT", func(string) string { return "[::1]:0" }, func(_, a string) string { return a }},
		{"unix:///abs", func(dir string) string { return "unix://" + dir + "/s.sock" }, func(l, _ string) string { return l }},
		{"unix:relative", func(string) string { return "unix:rel.sock" }, func(l, _ string) string { return l }},
		{"unix-abstract:", func(dir string) string { return "unix-abstract:gbd-" + filepath.Base(dir) },
			func(l, _ string) string { return l }},
	}
	for _, secure := range []bool{false, true} {
		for _, f := range forms {
			name := f.name + map[bool]string{false: "/plaintext", true: "/tls"}[secure]
			t.Run(name, func(t *testing.T) {
				if f.name == "[::1]:PORT" && !ipv6 {
					t.Skip("no IPv6 loopback here")
				}
				dir := shortDir(t)
				var sc fakeserver.Config
				listen := ""
				if f.listen != nil {
					listen = f.listen(dir)
					sc.Addrs = []string{listen}
				}
				if f.name == "unix:relative" {
					t.Chdir(dir)
				}
				if secure {
					sc.TLS = &fakeserver.TLS{SelfSigned: true}
				}
				cl := testserver.Fake(t, sc)
				var cfg dial.Config
				if secure {
					cfg.TLS = &dial.TLS{CAFile: writeCA(t, cl)}
				}
				target := f.target(listen, cl.Addrs()[0])
				d, err := cfg.NewDialer(dial.Target{Target: target}, nil)
				if err != nil {
					t.Fatalf("NewDialer(%q): %v", target, err)
				}
				if err := d.Probe(context.Background(), probeTimeout); err != nil {
					t.Fatalf("Probe(%q): %v", target, err)
				}
				getUsers(t, newPool(t, d, lb.PickFirst, 1), 20)
				if got := testserver.CallsByBackend(cl, "GetUser")[0]; got != 20 {
					t.Errorf("server counted %d calls, want 20", got)
				}
				st := d.Stats()
				if st.Connections != 1 {
					t.Errorf("Stats.Connections = %d, want 1 (the probe's connection is not counted)", st.Connections)
				}
				if secure && (st.Handshakes != 1 || st.TLSVersion != "TLS 1.3" || st.CipherSuite == "") {
					t.Errorf("TLS stats %+v, want one TLS 1.3 handshake with a cipher suite", st)
				}
				if !secure && st.Handshakes != 0 {
					t.Errorf("plaintext counted %d TLS handshakes", st.Handshakes)
				}
			})
		}
	}
}

// TestListBalancing puts three backends behind one resolver: round_robin
// spreads 600 calls evenly (each backend within ±10 % of a third),
// pick_first sends them all to the first address. One list mixes TCP, a
// unix socket path and an abstract socket.
func TestListBalancing(t *testing.T) {
	for _, mixed := range []bool{false, true} {
		for _, policy := range []lb.Policy{lb.RoundRobin, lb.PickFirst} {
			t.Run(fmt.Sprintf("%s/mixed=%v", policy, mixed), func(t *testing.T) {
				var sc fakeserver.Config
				if mixed {
					dir := shortDir(t)
					sc.Addrs = []string{"127.0.0.1:0", "unix://" + dir + "/b1.sock", "unix-abstract:gbd-" + filepath.Base(dir)}
				} else {
					sc.Backends = 3
				}
				cl := testserver.Fake(t, sc)
				d, p := newStack(t, dial.Config{}, dial.Target{Targets: cl.Addrs()}, policy, 1)
				if d.Resolver() == nil || !strings.HasPrefix(d.Target(), d.Resolver().Scheme()+":") {
					t.Fatalf("a list dials %q without its resolver", d.Target())
				}
				if policy == lb.RoundRobin {
					// Calls until every backend is connected and served one.
					c := userpb.NewUserServiceClient(p)
					for deadline := time.Now().Add(10 * time.Second); ; {
						calls := testserver.CallsByBackend(cl, "GetUser")
						if calls[0] > 0 && calls[1] > 0 && calls[2] > 0 {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("not every backend got a call: %v", calls)
						}
						if _, err := c.GetUser(context.Background(), &userpb.GetUserRequest{UserId: "u1"}); err != nil {
							t.Fatal(err)
						}
					}
				}
				before := testserver.CallsByBackend(cl, "GetUser")
				getUsers(t, p, 600)
				after := testserver.CallsByBackend(cl, "GetUser")
				delta := []int64{after[0] - before[0], after[1] - before[1], after[2] - before[2]}
				switch policy {
				case lb.RoundRobin:
					for i, n := range delta {
						if n < 180 || n > 220 {
							t.Errorf("backend %d (%s) got %d of 600 calls, want 200 ± 20; all %v", i, cl.Addrs()[i], n, delta)
						}
					}
					if st := d.Stats(); st.Connections != 3 {
						t.Errorf("Stats.Connections = %d, want 3 (one per backend)", st.Connections)
					}
				case lb.PickFirst:
					if delta[0] != 600 || delta[1] != 0 || delta[2] != 0 {
						t.Errorf("pick_first spread the calls %v, want all 600 on the first address", delta)
					}
				}
			})
		}
	}
}

// tlsServer starts a backend whose certificate names only grpcbench.test,
// signed by the CA in f, requiring client certificates when mutual.
func tlsServer(t *testing.T, f files, mutual bool) *fakeserver.Cluster {
	t.Helper()
	tc := &fakeserver.TLS{CertFile: f.cert, KeyFile: f.key}
	if mutual {
		tc.ClientCAFile = f.ca
	}
	return testserver.Fake(t, fakeserver.Config{TLS: tc})
}

// TestTLS checks server verification: the right CA with a server_name (or
// an authority) succeeds; a wrong CA or a name the certificate does not
// hold fails promptly with the certificate problem, and no call reaches
// the server.
func TestTLS(t *testing.T) {
	f := writeFiles(t)
	cl := tlsServer(t, f, false)
	addr := cl.Addrs()[0]
	tests := []struct {
		name      string
		tls       *dial.TLS
		authority string
		wantErr   string // "" means the probe and calls succeed
	}{
		{"CA and server_name", &dial.TLS{CAFile: f.ca, ServerName: "grpcbench.test"}, "", ""},
		{"CA, server_name, TLS 1.3 only", &dial.TLS{CAFile: f.ca, ServerName: "grpcbench.test", MinVersion: "1.3"}, "", ""},
		{"CA and authority", &dial.TLS{CAFile: f.ca}, "grpcbench.test", ""},
		{"server_name and another authority", &dial.TLS{CAFile: f.ca, ServerName: "grpcbench.test"}, "api.other:443", ""},
		{"skip verification", &dial.TLS{InsecureSkipVerify: true}, "", ""},
		{"name not in the certificate", &dial.TLS{CAFile: f.ca}, "",
			"x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"},
		{"another name", &dial.TLS{CAFile: f.ca, ServerName: "other.test"}, "",
			"x509: certificate is valid for grpcbench.test, not other.test"},
		{"wrong CA", &dial.TLS{CAFile: f.otherCA, ServerName: "grpcbench.test"}, "",
			"x509: certificate signed by unknown authority"},
		{"plaintext to a TLS server", nil, "", "cannot reach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testserver.CallsByBackend(cl, "GetUser")[0]
			d, err := dial.Config{TLS: tt.tls}.NewDialer(dial.Target{Target: addr, Authority: tt.authority}, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = d.Probe(context.Background(), probeTimeout)
			if tt.wantErr != "" {
				if !errors.Is(err, dial.ErrUnreachable) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Probe = %v, want ErrUnreachable naming %q", err, tt.wantErr)
				}
				if got := testserver.CallsByBackend(cl, "GetUser")[0]; got != before {
					t.Errorf("a failed handshake let %d calls through", got-before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			getUsers(t, newPool(t, d, lb.PickFirst, 1), 5)
			if st := d.Stats(); st.Handshakes != 1 || st.HandshakeErrors != 0 || st.TLSVersion != "TLS 1.3" {
				t.Errorf("Stats = %+v, want one TLS 1.3 handshake", st)
			}
		})
	}
}

// TestTLSHandshakeErrorsAreCounted: a pool that cannot verify the server
// counts failed handshakes and keeps the reason.
func TestTLSHandshakeErrorsAreCounted(t *testing.T) {
	f := writeFiles(t)
	cl := tlsServer(t, f, false)
	d, err := dial.Config{TLS: &dial.TLS{CAFile: f.otherCA, ServerName: "grpcbench.test"}}.
		NewDialer(dial.Target{Target: cl.Addrs()[0]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := pool.New(ctx, d.Target(), pool.Config{Size: 2}, d.DialOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = userpb.NewUserServiceClient(p).GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("call over an unverified connection: %v, want UNAVAILABLE", err)
	}
	st := d.Stats()
	if st.HandshakeErrors < 1 || st.Handshakes != 0 ||
		!strings.Contains(st.LastHandshakeError, "x509: certificate signed by unknown authority") {
		t.Errorf("Stats = %+v, want a failed handshake naming the unknown authority", st)
	}
}

// TestMutualTLS: without a client certificate the probe names the missing
// certificate; with one, calls succeed, and a pool of 4 connections counts
// 4 connections and 4 handshakes.
func TestMutualTLS(t *testing.T) {
	f := writeFiles(t)
	cl := tlsServer(t, f, true)
	target := dial.Target{Target: cl.Addrs()[0]}

	noCert := dial.Config{TLS: &dial.TLS{CAFile: f.ca, ServerName: "grpcbench.test"}}
	d, err := noCert.NewDialer(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Probe(context.Background(), probeTimeout)
	if !errors.Is(err, dial.ErrUnreachable) || !strings.Contains(err.Error(), "the server asks for a client certificate and none is configured") {
		t.Fatalf("Probe without a client certificate = %v", err)
	}

	withCert := dial.Config{TLS: &dial.TLS{CAFile: f.ca, ServerName: "grpcbench.test", CertFile: f.clientCert, KeyFile: f.clientKey}}
	d, err = withCert.NewDialer(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Probe(context.Background(), probeTimeout); err != nil {
		t.Fatalf("Probe with a client certificate: %v", err)
	}
	accepted := cl.Stats().Backends[0].ConnectionsTotal
	p := newPool(t, d, lb.RoundRobin, 4)
	getUsers(t, p, 40)
	st := d.Stats()
	if st.Connections != 4 || st.Handshakes != 4 || st.HandshakeErrors != 0 {
		t.Errorf("pool of 4 over mTLS: Stats = %+v, want 4 connections and 4 handshakes", st)
	}
	if got := cl.Stats().Backends[0].ConnectionsTotal - accepted; got != 4 {
		t.Errorf("server accepted %d connections from the pool, want 4", got)
	}
}

// TestBearerToken: a token from an environment variable reaches the server
// as per-RPC credentials; without it the server answers UNAUTHENTICATED;
// over plaintext it is refused unless insecure_credentials is set.
func TestBearerToken(t *testing.T) {
	const token = "bench-token-3c9d27"
	t.Setenv("DIAL_TEST_API_TOKEN", token)
	t.Setenv("DIAL_TEST_BARE_TOKEN", "Bearer "+token)
	secure := testserver.Fake(t, fakeserver.Config{TLS: &fakeserver.TLS{SelfSigned: true},
		RequireToken: &fakeserver.RequireToken{Env: "DIAL_TEST_API_TOKEN"}})
	plain := testserver.Fake(t, fakeserver.Config{RequireToken: &fakeserver.RequireToken{Env: "DIAL_TEST_API_TOKEN"}})
	caFile := writeCA(t, secure)
	fromEnv := &dial.Credentials{BearerTokenEnv: "DIAL_TEST_API_TOKEN"}
	mdFromEnv, err := dial.ExpandMetadata(map[string]string{"authorization": "${env:DIAL_TEST_BARE_TOKEN}"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cl     *fakeserver.Cluster
		cfg    dial.Config
		secret map[string]string
		want   codes.Code
	}{
		{"token over TLS", secure, dial.Config{TLS: &dial.TLS{CAFile: caFile}, Credentials: fromEnv}, nil, codes.OK},
		{"no token", secure, dial.Config{TLS: &dial.TLS{CAFile: caFile}}, nil, codes.Unauthenticated},
		{"metadata from ${env:}", secure, dial.Config{TLS: &dial.TLS{CAFile: caFile}}, mdFromEnv.Secret, codes.OK},
		{"token in the clear, allowed", plain, dial.Config{Credentials: fromEnv, InsecureCredentials: true}, nil, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.cfg.NewDialer(dial.Target{Target: tt.cl.Addrs()[0]}, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			p := newPool(t, d, lb.PickFirst, 1)
			_, err = userpb.NewUserServiceClient(p).GetUser(context.Background(), &userpb.GetUserRequest{UserId: "u1"})
			if got := status.Code(err); got != tt.want {
				t.Errorf("code %v (%v), want %v", got, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Error("the error holds the token")
			}
			if tt.want == codes.OK && !contains(d.SecretValues(), token) {
				t.Errorf("SecretValues() lacks the token, so a Redactor would not know it")
			}
		})
	}
}

// TestCredentialsOverPlaintext: a token or secret metadata over plaintext
// is refused before any load (naming the field), and per-call credentials
// are refused by grpc-go without reaching the server.
func TestCredentialsOverPlaintext(t *testing.T) {
	t.Setenv("DIAL_TEST_API_TOKEN", "bench-token-3c9d27")
	plain := testserver.Fake(t, fakeserver.Config{})
	fromEnv := &dial.Credentials{BearerTokenEnv: "DIAL_TEST_API_TOKEN"}
	mdFromEnv, err := dial.ExpandMetadata(map[string]string{"authorization": "Bearer ${env:DIAL_TEST_API_TOKEN}"})
	if err != nil {
		t.Fatal(err)
	}
	// Refused before any load: the validation error names the field.
	cfg := dial.Config{Credentials: fromEnv}
	testutil.FieldErrors(t, cfg.Validate(), "credentials: a bearer token is refused over plaintext")
	if _, err := cfg.NewDialer(dial.Target{Target: plain.Addrs()[0]}, nil); err == nil {
		t.Error("NewDialer accepted a token over plaintext")
	}
	if _, err := (dial.Config{}).NewDialer(dial.Target{Target: plain.Addrs()[0]}, mdFromEnv.Secret); err == nil {
		t.Error("NewDialer accepted secret metadata over plaintext")
	}

	// Per-call credentials over plaintext: grpc-go refuses to send them.
	before := testserver.CallsByBackend(plain, "GetUser")[0]
	d, err := dial.Config{}.NewDialer(dial.Target{Target: plain.Addrs()[0]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, d, lb.PickFirst, 1)
	callCreds := dial.Config{}.CallCredentials(mdFromEnv.Secret)
	_, err = userpb.NewUserServiceClient(p).GetUser(context.Background(), &userpb.GetUserRequest{UserId: "u1"}, callCreds)
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "insecure") {
		t.Errorf("per-call credentials over plaintext: %v, want UNAUTHENTICATED from grpc-go", err)
	}
	if got := testserver.CallsByBackend(plain, "GetUser")[0]; got != before {
		t.Errorf("the refused call reached the server (%d calls)", got-before)
	}
	if (dial.Config{}).CallCredentials(nil) != nil {
		t.Error("CallCredentials(nil) is not nil")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestProbeUnreachable: a closed port fails the probe with the dial error;
// in a list, the error names the entry that failed.
func TestProbeUnreachable(t *testing.T) {
	closed := testserver.ClosedAddr(t)
	cl := testserver.Fake(t, fakeserver.Config{})
	tests := []struct {
		name string
		tg   dial.Target
		want string
	}{
		{"closed port", dial.Target{Target: closed}, "connection refused"},
		{"list with a closed port", dial.Target{Targets: []string{cl.Addrs()[0], closed}}, fmt.Sprintf("%q", closed)},
		{"missing unix socket", dial.Target{Target: "unix://" + shortDir(t) + "/none.sock"}, "no such file or directory"},
	}
	for _, tt := range tests {
		d, err := dial.Config{}.NewDialer(tt.tg, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = d.Probe(context.Background(), probeTimeout)
		if !errors.Is(err, dial.ErrUnreachable) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Probe = %v, want ErrUnreachable naming %q", tt.name, err, tt.want)
		}
		if st := d.Stats(); st.Connections != 0 || st.DialErrors != 0 {
			t.Errorf("%s: the probe was counted in Stats: %+v", tt.name, st)
		}
	}
	// The stack's own dials are counted, with the reason.
	d, err := dial.Config{}.NewDialer(dial.Target{Target: closed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := pool.New(ctx, d.Target(), pool.Config{}, d.DialOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, _ = userpb.NewUserServiceClient(p).GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
	if st := d.Stats(); st.DialErrors < 1 || !strings.Contains(st.LastDialError, "connection refused") {
		t.Errorf("Stats = %+v, want a counted dial error", st)
	}
}

// TestTLSList verifies each backend of a list against its own address (the
// resolver gives every address its server name) and counts one handshake
// per connection: a pool of 2 over 3 backends opens 6.
func TestTLSList(t *testing.T) {
	cl := testserver.Fake(t, fakeserver.Config{Backends: 3, TLS: &fakeserver.TLS{SelfSigned: true}})
	cfg := dial.Config{TLS: &dial.TLS{CAFile: writeCA(t, cl)}}
	d, err := cfg.NewDialer(dial.Target{Targets: cl.Addrs()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Probe(context.Background(), probeTimeout); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	p := newPool(t, d, lb.RoundRobin, 2)
	c := userpb.NewUserServiceClient(p)
	for deadline := time.Now().Add(10 * time.Second); d.Stats().Handshakes < 6; {
		if time.Now().After(deadline) {
			t.Fatalf("Stats = %+v, want 6 handshakes", d.Stats())
		}
		if _, err := c.GetUser(context.Background(), &userpb.GetUserRequest{UserId: "u1"}); err != nil {
			t.Fatal(err)
		}
	}
	if st := d.Stats(); st.Connections != 6 || st.Handshakes != 6 || st.HandshakeErrors != 0 {
		t.Errorf("Stats = %+v, want 6 connections, 6 handshakes", st)
	}
}

func newClient(d *dial.Dialer, extra []grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient(d.Target(), append(d.DialOptions(), extra...)...)
}
