package certs_test

import (
	"crypto/x509"
	"os"
	"testing"

	"github.com/grpcbench/grpcbench/internal/certs"
)

// TestChainVerifies checks that issued certificates verify against their CA
// for their own usage and names, and not for the other usage or a foreign
// name.
func TestChainVerifies(t *testing.T) {
	ca, err := certs.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ca.Client("bench-client")
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(p certs.Pair) *x509.Certificate {
		c, err := p.TLS()
		if err != nil {
			t.Fatal(err)
		}
		x, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	server, client := leaf(srv), leaf(cli)
	tests := []struct {
		name  string
		cert  *x509.Certificate
		host  string
		usage x509.ExtKeyUsage
		ok    bool
	}{
		{"server for 127.0.0.1", server, "127.0.0.1", x509.ExtKeyUsageServerAuth, true},
		{"server for ::1", server, "::1", x509.ExtKeyUsageServerAuth, true},
		{"server for localhost", server, "localhost", x509.ExtKeyUsageServerAuth, true},
		{"server for another name", server, "example.com", x509.ExtKeyUsageServerAuth, false},
		{"server used as client", server, "", x509.ExtKeyUsageClientAuth, false},
		{"client", client, "", x509.ExtKeyUsageClientAuth, true},
		{"client used as server", client, "", x509.ExtKeyUsageServerAuth, false},
	}
	for _, tt := range tests {
		_, err := tt.cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: tt.host, KeyUsages: []x509.ExtKeyUsage{tt.usage}})
		if (err == nil) != tt.ok {
			t.Errorf("%s: Verify error %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	other, err := certs.NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: other.Pool()}); err == nil {
		t.Error("a certificate verified against a CA that did not sign it")
	}
}

func TestWrite(t *testing.T) {
	ca, err := certs.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ca.Server("grpcbench.test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, err := p.Write(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := ca.WriteCA(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	for _, f := range []string{certFile, caFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if p := x509.NewCertPool(); !p.AppendCertsFromPEM(b) {
			t.Errorf("%s holds no PEM certificate", f)
		}
	}
	if _, err := ca.Server(); err == nil {
		t.Error("Server() with no host succeeded")
	}
}
