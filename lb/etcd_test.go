package lb_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/naming/endpoints"
	"go.uber.org/zap"

	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/lb"
)

// startEtcd runs a real etcd for a test (see testserver.Etcd).
func startEtcd(t *testing.T) string { return testserver.Etcd(t) }

// etcdClient returns a client for direct reads and writes in a test.
func etcdClient(t *testing.T, url string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func put(t *testing.T, cli *clientv3.Client, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, key, value); err != nil {
		t.Fatal(err)
	}
}

func TestEtcdSource(t *testing.T) {
	url := startEtcd(t)
	cli := etcdClient(t, url)
	cfg := lb.EtcdConfig{Endpoints: []string{url}, Prefix: "svc/users"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// An empty prefix cannot start a source.
	if _, err := lb.Etcd(cfg).Watch(ctx); err == nil || !strings.Contains(err.Error(), "holds no endpoint") {
		t.Fatalf("Watch of an empty prefix = %v, want 'holds no endpoint'", err)
	}
	// Written by etcd's own endpoints manager: the format is the same.
	mgr, err := endpoints.NewManager(cli, "svc/users")
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.AddEndpoint(ctx, "svc/users/a", endpoints.Endpoint{Addr: "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	put(t, cli, "svc/usersX/other", "127.0.0.1:9") // a sibling prefix is not read
	ch, err := lb.Etcd(cfg).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do      func()
		want    []string
		wantErr string
	}{
		{do: func() {}, want: []string{"127.0.0.1:1"}},
		{do: func() { put(t, cli, "svc/users/b", "127.0.0.1:2") }, want: []string{"127.0.0.1:1", "127.0.0.1:2"}},
		{do: func() { put(t, cli, "svc/users/c", `{"Addr":"nope"}`) }, wantErr: `"svc/users/c"`},
		{do: func() { put(t, cli, "svc/users/c", `{"Op":0,"Addr":"127.0.0.1:3","Metadata":null}`) },
			want: []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}},
		{do: func() {
			if err := mgr.DeleteEndpoint(ctx, "svc/users/a"); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"127.0.0.1:2", "127.0.0.1:3"}},
		{do: func() {
			if _, err := cli.Delete(ctx, "svc/users/", clientv3.WithPrefix()); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "holds no endpoint"},
		{do: func() { put(t, cli, "svc/users/d", "127.0.0.1:4") }, want: []string{"127.0.0.1:4"}},
	}
	for i, s := range steps {
		s.do()
		expectUpdate(t, ch, i, s.want, s.wantErr)
	}
	cancel()
	for range ch { // closed, and the etcd client with it, when ctx ends
	}
}

func TestEtcdPublisher(t *testing.T) {
	url := startEtcd(t)
	cli := etcdClient(t, url)
	ctx := context.Background()
	cfg := lb.EtcdConfig{Endpoints: []string{url}, Prefix: "pub"}
	p, err := lb.NewEtcdPublisher(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	put(t, cli, "pub/stale", "garbage")
	mgr, err := endpoints.NewManager(cli, "pub")
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range [][]string{{"127.0.0.1:1", "127.0.0.1:2"}, {"127.0.0.1:2", "127.0.0.1:3"}, {"127.0.0.1:3"}} {
		if err := p.Publish(ctx, set); err != nil {
			t.Fatal(err)
		}
		// Read back with etcd's own manager: one key per address.
		got, err := mgr.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var addrs []string
		for k, e := range got {
			if k != "pub/"+e.Addr {
				t.Errorf("key %q holds %q, want pub/<addr>", k, e.Addr)
			}
			addrs = append(addrs, e.Addr)
		}
		slices.Sort(addrs)
		if !slices.Equal(addrs, set) {
			t.Errorf("after Publish(%q), etcd lists %q", set, addrs)
		}
		resp, err := cli.Get(ctx, "pub/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || resp.Count != int64(len(set)) {
			t.Errorf("after Publish(%q): %d keys (%v), want only the set's", set, resp.Count, err)
		}
	}
	if err := p.Publish(ctx, []string{"bad"}); err == nil {
		t.Error("Publish of a bad address succeeded")
	}
}

func TestEtcdUnreachable(t *testing.T) {
	url := "http://" + testserver.ClosedAddr(t) // nothing listens there
	cfg := lb.EtcdConfig{Endpoints: []string{url}, Prefix: "x", DialTimeout: ptr(300 * time.Millisecond)}
	ctx := context.Background()
	start := time.Now()
	_, err := lb.Etcd(cfg).Watch(ctx)
	if !errors.Is(err, lb.ErrUnreachable) || !strings.Contains(err.Error(), url) {
		t.Errorf("Watch = %v, want an error wrapping ErrUnreachable naming %s", err, url)
	}
	if _, err := lb.NewEtcdPublisher(ctx, cfg); !errors.Is(err, lb.ErrUnreachable) {
		t.Errorf("NewEtcdPublisher = %v, want an error wrapping ErrUnreachable", err)
	}
	dc := lb.DiscoveryConfig{Source: lb.SourceEtcd, Etcd: &cfg}
	src, err := dc.NewSource(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lb.Bind(ctx, src, lb.NewStaticResolver(), nil); !errors.Is(err, lb.ErrUnreachable) {
		t.Errorf("Bind = %v, want an error wrapping ErrUnreachable", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("three connect checks with a 300ms deadline took %v", took)
	}
}

func FuzzParseEtcdEndpoint(f *testing.F) {
	for _, s := range []string{`{"Op":0,"Addr":"127.0.0.1:1","Metadata":null}`, "127.0.0.1:2", `{"Addr":""}`, "{", " [::1]:3 ", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		addr, err := lb.ParseEtcdEndpoint(data)
		if err != nil {
			if addr != "" {
				t.Fatalf("address %q returned with error %v", addr, err)
			}
			return
		}
		if err := lb.ValidateAddr(addr); err != nil {
			t.Fatalf("accepted invalid address: %v", err)
		}
		// What the publisher writes for it reads back the same.
		js, err := json.Marshal(endpoints.Endpoint{Addr: addr})
		if err != nil {
			t.Fatal(err)
		}
		if again, err := lb.ParseEtcdEndpoint(js); err != nil || again != addr {
			t.Fatalf("round trip of %q through %s = %q, %v", addr, js, again, err)
		}
	})
}
