package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

func TestFakeServerSecurityFlagErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		inStderr string
	}{
		{"ca out without self-signed", []string{"fakeserver", "--tls-ca-out", "x.pem"}, "--tls-ca-out needs --tls-self-signed"},
		{"cert without key", []string{"fakeserver", "--tls-cert", "/nonexistent/c.pem"}, "tls.key_file: is required with cert_file"},
		{"unreadable cert", []string{"fakeserver", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"},
			"tls.cert_file: cannot read /nonexistent/c.pem"},
		{"token variable unset", []string{"fakeserver", "--require-token-env", "GRPCBENCH_TEST_UNSET_TOKEN"},
			"require_token.env: environment variable GRPCBENCH_TEST_UNSET_TOKEN is not set"},
		{"unix listen with two backends", []string{"fakeserver", "--listen", "unix:///tmp/x.sock", "--backends", "2"},
			"a unix socket serves one backend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(context.Background(), tt.args...)
			if code != exitUsage || !strings.Contains(errs, tt.inStderr) {
				t.Fatalf("exit %d (want %d), stderr:\n%s\nwant it to contain %q", code, exitUsage, errs, tt.inStderr)
			}
		})
	}
}

// TestFakeServerTLSAndToken serves self-signed TLS with a required token:
// a client trusting the written CA and sending the token succeeds, one
// without the token gets UNAUTHENTICATED, and the token appears in no
// output.
func TestFakeServerTLSAndToken(t *testing.T) {
	const token = "cli-test-token-8f2b1c"
	t.Setenv("GRPCBENCH_TEST_FS_TOKEN", token)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fakeserver", "--tls-self-signed", "--tls-ca-out", caFile,
			"--require-token-env", "GRPCBENCH_TEST_FS_TOKEN"}, &env{stdout: &out, stderr: &errb})
	}()
	addr := printedAddrs(t, &out, 1)[0]
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("--tls-ca-out wrote no certificate")
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := userpb.NewUserServiceClient(cc)
	callCtx, callCancel := context.WithTimeout(ctx, 5*time.Second)
	defer callCancel()
	if _, err := c.GetUser(callCtx, &userpb.GetUserRequest{UserId: "u1"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("without token: %v, want UNAUTHENTICATED", err)
	}
	withToken := metadata.AppendToOutgoingContext(callCtx, "authorization", "Bearer "+token)
	if _, err := c.GetUser(withToken, &userpb.GetUserRequest{UserId: "u1"}); err != nil {
		t.Errorf("with token over TLS: %v", err)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "codes         OK=1 UNAUTHENTICATED=1") {
		t.Errorf("stdout lacks the codes line:\n%s", s)
	}
	if strings.Contains(out.String()+errb.String(), token) {
		t.Error("the token appears in the fakeserver command's output")
	}
}
