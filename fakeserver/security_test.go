package fakeserver

import (
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/internal/certs"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

func tlsDial(cfg *tls.Config) grpc.DialOption {
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg))
}

// TestSelfSignedTLS serves TLS with a CA made at Start: a client trusting
// CAPEM succeeds on every loopback name, one trusting the system roots
// fails with a certificate error and never reaches the service.
func TestSelfSignedTLS(t *testing.T) {
	cl := startCluster(t, Config{TLS: &TLS{SelfSigned: true}})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cl.CAPEM()) {
		t.Fatal("CAPEM holds no certificate")
	}
	port := cl.Addrs()[0][strings.LastIndex(cl.Addrs()[0], ":"):]
	for _, target := range []string{cl.Addrs()[0], "localhost" + port} {
		_, c := dial(t, target, tlsDial(&tls.Config{RootCAs: pool}))
		if _, err := c.GetUser(ctxFor(t, 5*time.Second), &userpb.GetUserRequest{UserId: "1"}); err != nil {
			t.Fatalf("GetUser over TLS to %s: %v", target, err)
		}
	}
	_, c := dial(t, cl.Addrs()[0], tlsDial(&tls.Config{}))
	_, err := c.GetUser(ctxFor(t, 5*time.Second), &userpb.GetUserRequest{UserId: "1"})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "x509") {
		t.Fatalf("untrusted CA: err = %v, want UNAVAILABLE naming x509", err)
	}
	if got := cl.Stats().Backends[0].Calls["GetUser"]; got != 2 {
		t.Errorf("server counted %d GetUser calls, want 2 (the refused handshake is no call)", got)
	}
	if (&Cluster{}).CAPEM() != nil {
		t.Error("CAPEM of a plaintext cluster is not nil")
	}
}

// TestMutualTLS requires client certificates signed by the client CA.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := certs.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := ca.Loopback()
	certFile, keyFile, err := srv.Write(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := ca.WriteCA(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	cl := startCluster(t, Config{TLS: &TLS{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile}})
	cli, _ := ca.Client("bench")
	cert, err := cli.TLS()
	if err != nil {
		t.Fatal(err)
	}
	_, c := dial(t, cl.Addrs()[0], tlsDial(&tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}}))
	if _, err := c.GetUser(ctxFor(t, 5*time.Second), &userpb.GetUserRequest{UserId: "1"}); err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	// Over TLS 1.3 the server refuses the missing certificate after the
	// client's handshake is done, so the client sees an alert or a closed
	// connection, depending on which it reads first.
	_, c = dial(t, cl.Addrs()[0], tlsDial(&tls.Config{RootCAs: ca.Pool()}))
	_, err = c.GetUser(ctxFor(t, 5*time.Second), &userpb.GetUserRequest{UserId: "1"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("without a client certificate: err = %v, want UNAVAILABLE", err)
	}
	if got := cl.Stats().Backends[0].Calls["GetUser"]; got != 1 {
		t.Errorf("server counted %d GetUser calls, want 1 (only the one with a certificate)", got)
	}
}

// TestRequireToken refuses UserService calls without the token (counted as
// UNAUTHENTICATED calls) and leaves health checks open.
func TestRequireToken(t *testing.T) {
	const token = "s3cret-token-value"
	t.Setenv("FAKESERVER_TEST_TOKEN", token)
	cl := startCluster(t, Config{RequireToken: &RequireToken{Env: "FAKESERVER_TEST_TOKEN"}})
	cc, c := dial(t, cl.Addrs()[0])
	ctx := ctxFor(t, 5*time.Second)
	tests := []struct {
		name string
		auth []string
		want codes.Code
	}{
		{"no header", nil, codes.Unauthenticated},
		{"wrong token", []string{"Bearer nope"}, codes.Unauthenticated},
		{"token without scheme", []string{token}, codes.Unauthenticated},
		{"right token", []string{"Bearer " + token}, codes.OK},
	}
	for _, tt := range tests {
		callCtx := ctx
		for _, a := range tt.auth {
			callCtx = metadata.AppendToOutgoingContext(callCtx, "authorization", a)
		}
		_, err := c.GetUser(callCtx, &userpb.GetUserRequest{UserId: "1"})
		if got := status.Code(err); got != tt.want {
			t.Errorf("%s: code %v (%v), want %v", tt.name, got, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("%s: the error message holds the token", tt.name)
		}
	}
	st, err := c.ListUsers(ctx, &userpb.ListUsersRequest{PageSize: 1})
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("stream without token: %v, want UNAUTHENTICATED", err)
	}
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health check without token: %v", err)
	}
	b := cl.Stats().Backends[0]
	if b.Calls["GetUser"] != 4 || b.Calls["ListUsers"] != 1 || b.Codes["UNAUTHENTICATED"] != 4 || b.Codes["OK"] != 1 {
		t.Errorf("calls %v codes %v, want 4 GetUser + 1 ListUsers, 4 UNAUTHENTICATED, 1 OK", b.Calls, b.Codes)
	}
}

// TestUnixSockets serves on a unix socket path and an abstract socket.
func TestUnixSockets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b0.sock")
	abstract := "grpcbench-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	cl := startCluster(t, Config{Addrs: []string{"unix://" + path, "unix-abstract:" + abstract}})
	if got := cl.Addrs(); got[0] != "unix://"+path || got[1] != "unix-abstract:"+abstract {
		t.Fatalf("Addrs() = %q", got)
	}
	for i, a := range cl.Addrs() {
		_, c := dial(t, a)
		if _, err := c.GetUser(ctxFor(t, 5*time.Second), &userpb.GetUserRequest{UserId: "1"}); err != nil {
			t.Fatalf("GetUser via %s: %v", a, err)
		}
		if got := cl.Stats().Backends[i].Calls["GetUser"]; got != 1 {
			t.Errorf("backend %d counted %d calls, want 1", i, got)
		}
	}
}

func TestSecurityValidate(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"tls without source", Config{TLS: &TLS{}}, "tls: give cert_file and key_file"},
		{"cert without key", Config{TLS: &TLS{CertFile: missing}}, "tls.key_file: is required"},
		{"self-signed and files", Config{TLS: &TLS{SelfSigned: true, CertFile: missing}}, "tls.self_signed: give"},
		{"unreadable cert", Config{TLS: &TLS{CertFile: missing, KeyFile: missing}}, "tls.cert_file: cannot read " + missing},
		{"unreadable client CA", Config{TLS: &TLS{SelfSigned: true, ClientCAFile: missing}}, "tls.client_ca_file: cannot read"},
		{"token env unset", Config{RequireToken: &RequireToken{Env: "FAKESERVER_TEST_UNSET_VAR"}}, "require_token.env: environment variable FAKESERVER_TEST_UNSET_VAR is not set"},
		{"token without source", Config{RequireToken: &RequireToken{}}, "require_token: give env or file"},
		{"bad unix address", Config{Addrs: []string{"unix://relative"}}, "addrs[0]"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
}
