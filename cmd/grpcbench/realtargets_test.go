package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/certs"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/results"
)

// pki writes a CA, a server certificate for the loopback names with
// server name "bench.test" too, and a client certificate, as PEM files.
type pki struct {
	ca, otherCA, cert, key, clientCert, clientKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	ca, err := certs.NewCA("grpcbench test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := certs.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	var p pki
	if p.ca, err = ca.WriteCA(dir, "ca"); err != nil {
		t.Fatal(err)
	}
	if p.otherCA, err = other.WriteCA(dir, "other-ca"); err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server("bench.test", "localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	if p.cert, p.key, err = srv.Write(dir, "server"); err != nil {
		t.Fatal(err)
	}
	cl, err := ca.Client("bench client")
	if err != nil {
		t.Fatal(err)
	}
	if p.clientCert, p.clientKey, err = cl.Write(dir, "client"); err != nil {
		t.Fatal(err)
	}
	return p
}

// A scenario over TLS and mTLS against the embedded fake server: the right
// CA with a server_name override succeeds; a wrong CA fails the run (exit
// 3) naming the certificate problem; mTLS fails without a client
// certificate, with the handshake reason, and succeeds with one. A pool
// size sweep counts one handshake per connection opened.
func TestTLSScenarios(t *testing.T) {
	p := newPKI(t)
	scenario := func(serverTLS, clientTLS string) string {
		return writeFile(t, "tls.yaml", fmt.Sprintf(`
load: {rate: 100, duration: 500ms}
mix: [{call: GetUser}]
server: {backends: 2, tls: %s}
client: {tls: %s, pool: {size: 1}}
matrix: {client.pool.size: [1, 3]}
`, serverTLS, clientTLS))
	}
	serverTLS := fmt.Sprintf("{cert_file: %s, key_file: %s}", p.cert, p.key)
	mtls := fmt.Sprintf("{cert_file: %s, key_file: %s, client_ca_file: %s}", p.cert, p.key, p.ca)
	tests := []struct {
		name, server, client string
		code                 int
		want                 string
	}{
		{"TLS with server_name", serverTLS, fmt.Sprintf("{ca_file: %s, server_name: bench.test}", p.ca), exitOK, ""},
		{"wrong CA", serverTLS, fmt.Sprintf("{ca_file: %s}", p.otherCA), exitFailure, "certificate signed by unknown authority"},
		{"mTLS without a client certificate", mtls, fmt.Sprintf("{ca_file: %s}", p.ca), exitFailure, "certificate"},
		{"mTLS", mtls, fmt.Sprintf("{ca_file: %s, cert_file: %s, key_file: %s}", p.ca, p.clientCert, p.clientKey), exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.json")
			code, stdout, stderr := runCLI(context.Background(), "run", scenario(tt.server, tt.client), "-o", out)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d (want %d), stderr lacks %q:\n%s\n%s", code, tt.code, tt.want, stdout, stderr)
			}
			if code != exitOK {
				return
			}
			run, err := results.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range run.Cells {
				tr := c.Transport
				t.Logf("%s: %d connections, %d handshakes, %s %s", c.ID, tr.Connections, tr.Handshakes, tr.TLSVersion, tr.CipherSuite)
				// A pool of N connections over 2 backends opens 2N
				// transports, each with its own handshake.
				want := int64(2 * len(c.Pool.Conns))
				if tr.Handshakes != tr.Connections || tr.Connections != want || tr.TLSVersion == "" || tr.CipherSuite == "" {
					t.Errorf("%s: transport %+v, want %d connections = handshakes with a version and cipher", c.ID, tr, want)
				}
			}
		})
	}
}

// A token from an environment variable reaches the server as per-RPC
// credentials (the fake server answers UNAUTHENTICATED without it); over
// plaintext without insecure_credentials it is refused before any load;
// and no output — results, report, summary, progress, JUnit, Markdown —
// holds its bytes.
func TestCredentialsNeverWritten(t *testing.T) {
	const token = "s3cr3t-T0ken-value-71f3a9"
	t.Setenv("GRPCBENCH_TEST_TOKEN", token)
	t.Setenv("GRPCBENCH_TEST_KEY", "key-"+token)
	dir := t.TempDir()
	good := writeFile(t, "creds.yaml", `
load: {rate: 100, duration: 500ms}
mix: [{call: GetUser, metadata: {x-api-key: "${env:GRPCBENCH_TEST_KEY}"}}]
server: {tls: {self_signed: true}, require_token: {env: GRPCBENCH_TEST_TOKEN}}
client:
  tls: {}
  credentials: {bearer_token_env: GRPCBENCH_TEST_TOKEN}
  metadata: {authorization-extra: literal-but-secret-token}
  redact: [authorization-extra]
thresholds: {p99: "< 10s"}
`)
	out := filepath.Join(dir, "r.json")
	code, stdout, stderr := runCLI(context.Background(), "run", good, "-o", out, "--report", filepath.Join(dir, "report"))
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	run, err := results.ReadFile(out)
	if err != nil || run.Cells[0].All.Errors != 0 {
		t.Fatalf("the token did not get the calls through: %v %+v", err, run.Cells[0].All.Codes)
	}
	code2, stdout2, stderr2 := runCLI(context.Background(), "compare", out, out, "--junit", filepath.Join(dir, "c.xml"), "--markdown", filepath.Join(dir, "c.md"))
	if code2 != exitOK {
		t.Fatalf("compare: exit %d\n%s", code2, stderr2)
	}
	outputs := stdout + stderr + stdout2 + stderr2
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		outputs += string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{token, "literal-but-secret-token"} {
		if strings.Contains(outputs, secret) {
			t.Errorf("an output holds the secret %q", secret)
		}
	}
	if !strings.Contains(outputs, "${env:GRPCBENCH_TEST_TOKEN}") && !strings.Contains(outputs, "GRPCBENCH_TEST_TOKEN") {
		t.Errorf("the scenario echo should keep the reference to the token")
	}

	// Without the token the server says UNAUTHENTICATED, so no call
	// succeeds: the run fails and says why.
	noToken := writeFile(t, "notoken.yaml", `
load: {rate: 50, duration: 300ms}
mix: [{call: GetUser}]
server: {require_token: {env: GRPCBENCH_TEST_TOKEN}}
`)
	if code, _, stderr := runCLI(context.Background(), "run", noToken, "-o", filepath.Join(dir, "n.json")); code != exitFailure || !strings.Contains(stderr, "UNAUTHENTICATED") {
		t.Errorf("without a token: exit %d\n%s", code, stderr)
	}
	plaintext := writeFile(t, "plain.yaml", `
mix: [{call: GetUser}]
client:
  credentials: {bearer_token_env: GRPCBENCH_TEST_TOKEN}
`)
	if code, _, stderr := runCLI(context.Background(), "validate", plaintext); code != exitUsage || !strings.Contains(stderr, "plain.yaml:4: client.credentials") {
		t.Errorf("credentials over plaintext: exit %d\n%s", code, stderr)
	}
}

// A list of targets (--target a,b,c) goes behind one resolver: round_robin
// spreads the calls evenly, pick_first sends them all to one backend. A
// unix socket is a target too.
func TestTargetLists(t *testing.T) {
	cl := testserver.Fake(t, fakeserver.Config{Backends: 3})
	list := strings.Join(cl.Addrs(), ",")
	for _, tt := range []struct {
		policy string
		check  func(counts []int64) bool
	}{
		{"round_robin", func(c []int64) bool {
			for _, n := range c {
				if n < 270 || n > 330 { // 900 calls, a third each ± 10 %
					return false
				}
			}
			return true
		}},
		{"pick_first", func(c []int64) bool { return c[0]+c[1]+c[2] == 900 && (c[0] == 900 || c[1] == 900 || c[2] == 900) }},
	} {
		before := cl.Stats()
		out := filepath.Join(t.TempDir(), "r.json")
		code, stdout, stderr := runCLI(context.Background(), "run", "--target", list, "--call", "GetUser",
			"--workers", "4", "--set", "load.max_calls=900", "--duration", "30s", "--set", "client.lb.policy="+tt.policy, "-o", out)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s\n%s", tt.policy, code, stdout, stderr)
		}
		after := cl.Stats()
		var counts []int64
		for i := range after.Backends {
			counts = append(counts, after.Backends[i].TotalCalls()-before.Backends[i].TotalCalls())
		}
		if !tt.check(counts) {
			t.Errorf("%s: server-side calls per backend %v", tt.policy, counts)
		}
		run, err := results.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var client int64
		for _, b := range run.Cells[0].Backends {
			client += b.ClientCalls
		}
		if client != 900 {
			t.Errorf("%s: results count %d attempts over %d backends, want 900", tt.policy, client, len(run.Cells[0].Backends))
		}
	}
	sock := filepath.Join(os.TempDir(), fmt.Sprintf("gb-%d.sock", os.Getpid()))
	t.Cleanup(func() { os.Remove(sock) })
	testserver.Fake(t, fakeserver.Config{Addrs: []string{"unix://" + sock}})
	if code, stdout, stderr := runCLI(context.Background(), "run", "--target", "unix://"+sock, "--call", "GetUser",
		"--rate", "50", "--duration", "300ms", "-o", filepath.Join(t.TempDir(), "u.json")); code != exitOK {
		t.Errorf("unix socket target: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
