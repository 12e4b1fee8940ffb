package testserver

import (
	"context"
	"os/exec"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/grpcbench/grpcbench/internal/testutil"
)

// Etcd runs a real single-member etcd (Debian etcd-server) on loopback
// ports with its data in a temporary directory, waits (at most 20 s) until
// it answers, and stops it when t ends. It returns its client URL. A
// missing etcd binary fails the test, saying what to install.
func Etcd(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatalf("etcd is not installed: install the Debian package etcd-server " +
			"(apt-get install etcd-server; scripts/install-tools.sh does it)")
	}
	// etcd needs its ports on the command line: it cannot listen on :0.
	client := "http://" + ClosedAddr(t)
	peer := "http://" + ClosedAddr(t)
	p := StartProcess(t, bin, "--name", "grpcbench-test", "--data-dir", t.TempDir(),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "grpcbench-test="+peer, "--log-level", "warn")
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	testutil.Eventually(t, 20*time.Second, "etcd to answer", func() bool {
		if exited, err := p.Exited(); exited {
			t.Fatalf("etcd exited (%v) before answering:\n%s", err, p.Output())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := cli.Get(ctx, "probe")
		return err == nil
	})
	return client
}
