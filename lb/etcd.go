package lb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/naming/endpoints"
	"go.uber.org/zap"
)

// ErrUnreachable marks errors from a discovery source or publisher that
// could not reach its backing store (etcd) within its deadline; test with
// errors.Is.
var ErrUnreachable = errors.New("not reachable")

// defaultEtcdDialTimeout is how long an etcd source or publisher waits for
// etcd's first answer when EtcdConfig.DialTimeout is not set.
const defaultEtcdDialTimeout = 5 * time.Second

// etcdRetry is the pause before an etcd source lists its prefix again after
// its watch ended (compaction, lost leader) or a list failed.
const etcdRetry = 500 * time.Millisecond

// EtcdConfig locates a membership list in etcd: one key per endpoint under
// Prefix + "/", in the format of etcd's naming/endpoints manager (the
// value {"Op":0,"Addr":"host:port","Metadata":null}), which etcd's own
// gRPC resolver reads too.
type EtcdConfig struct {
	// Endpoints are etcd's client URLs ("http://127.0.0.1:2379") or
	// "host:port" addresses.
	Endpoints []string `yaml:"endpoints"`
	// Prefix is the key prefix, without the trailing "/" (the manager's
	// "target"), e.g. "services/users".
	Prefix string `yaml:"prefix"`
	// DialTimeout bounds the connect check (default 5s): a source or
	// publisher that gets no answer from etcd within it fails with an
	// error wrapping ErrUnreachable.
	DialTimeout *time.Duration `yaml:"dial_timeout"`
}

func (c EtcdConfig) dialTimeout() time.Duration { return durOr(c.DialTimeout, defaultEtcdDialTimeout) }

// newClient creates an etcd client (which does not connect yet) that logs
// nothing: a library does not write to stderr.
func (c EtcdConfig) newClient() (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.Endpoints,
		DialTimeout: c.dialTimeout(),
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("lb: etcd client for %v: %w", c.Endpoints, err)
	}
	return cli, nil
}

// list reads every endpoint under the prefix within the dial timeout: the
// connect check. It returns the endpoints by key, the revision read, and
// the errors of keys whose value is not an endpoint.
func (c EtcdConfig) list(ctx context.Context, cli *clientv3.Client) (map[string]string, int64, []error, error) {
	ctx, cancel := context.WithTimeout(ctx, c.dialTimeout())
	defer cancel()
	resp, err := cli.Get(ctx, c.Prefix+"/", clientv3.WithPrefix())
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w within %v (%w)", ErrUnreachable, c.dialTimeout(), err)
		}
		return nil, 0, nil, fmt.Errorf("lb: etcd at %s: %w", strings.Join(c.Endpoints, ","), err)
	}
	set := make(map[string]string, len(resp.Kvs))
	var bad []error
	for _, kv := range resp.Kvs {
		addr, err := parseEtcdEndpoint(kv.Value)
		if err != nil {
			bad = append(bad, fmt.Errorf("lb: etcd key %q: %w", kv.Key, err))
			continue
		}
		set[string(kv.Key)] = addr
	}
	return set, resp.Header.Revision, bad, nil
}

// parseEtcdEndpoint reads one endpoint value: the JSON the naming/endpoints
// manager writes ({"Op":0,"Addr":"127.0.0.1:50051","Metadata":null}; only
// Addr is used) or, for hand-written keys, a bare "host:port". The value
// must be UTF-8 and the address valid (see validateAddr).
func parseEtcdEndpoint(value []byte) (string, error) {
	if !utf8.Valid(value) {
		return "", errors.New("not an endpoint: not valid UTF-8")
	}
	v := strings.TrimSpace(string(value))
	addr := v
	if strings.HasPrefix(v, "{") {
		var e struct{ Addr string }
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return "", fmt.Errorf("not an endpoint: %w", err)
		}
		addr = e.Addr
	}
	if err := validateAddr(addr); err != nil {
		return "", err
	}
	return addr, nil
}

// addrsOf returns the distinct addresses of set in key order.
func addrsOf(set map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if a := set[k]; !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// Etcd returns a Source that watches the endpoints under cfg.Prefix + "/".
// Watch lists them (the connect check, bounded by cfg.DialTimeout) and then
// follows etcd's watch from that revision, so every put or delete reaches
// the channel as soon as etcd reports it. As with File, an empty prefix or
// a key whose value is not an endpoint is an error at start; later, an
// emptied prefix is an Update with Err (the previous set stays) and a bad
// key is an Update with Err and is left out of the set. When the watch ends (etcd
// compacted the revision, lost its leader), the source lists the prefix
// again every 0.5 s until it succeeds, reporting each failure. While etcd
// does not answer, its client keeps reconnecting and the last set stays in
// force. The etcd client is closed when ctx ends.
func newEtcdSource(cfg EtcdConfig) Source { return &etcdSource{cfg: cfg} }

type etcdSource struct{ cfg EtcdConfig }

// Watch implements Source.
func (s *etcdSource) Watch(ctx context.Context) (<-chan Update, error) {
	cli, err := s.cfg.newClient()
	if err != nil {
		return nil, err
	}
	set, rev, bad, err := s.cfg.list(ctx, cli)
	switch {
	case err != nil:
	case len(bad) > 0:
		err = errors.Join(bad...)
	case len(set) == 0:
		err = fmt.Errorf("lb: etcd prefix %q holds no endpoint", s.cfg.Prefix+"/")
	}
	if err != nil {
		_ = cli.Close()
		return nil, err
	}
	ch := make(chan Update, 1)
	w := &etcdWatch{cfg: s.cfg, cli: cli, ch: ch, set: set, last: addrsOf(set)}
	ch <- Update{Addrs: w.last}
	go w.run(ctx, rev+1)
	return ch, nil
}

// etcdWatch is a running etcd source.
type etcdWatch struct {
	cfg  EtcdConfig
	cli  *clientv3.Client
	ch   chan Update
	set  map[string]string // key → address
	last []string          // the last set delivered
}

func (w *etcdWatch) run(ctx context.Context, rev int64) {
	defer close(w.ch)
	defer w.cli.Close()
	for ctx.Err() == nil {
		w.follow(ctx, rev)
		for ctx.Err() == nil {
			if !w.pause(ctx) {
				return
			}
			set, r, bad, err := w.cfg.list(ctx, w.cli)
			if err != nil {
				if !w.send(ctx, Update{Err: err}) {
					return
				}
				continue
			}
			w.set, rev = set, r+1
			for _, e := range bad {
				if !w.send(ctx, Update{Err: e}) {
					return
				}
			}
			if !w.deliver(ctx) {
				return
			}
			break
		}
	}
}

// follow applies watch events from rev on until the watch ends.
func (w *etcdWatch) follow(ctx context.Context, rev int64) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range w.cli.Watch(wctx, w.cfg.Prefix+"/", clientv3.WithPrefix(), clientv3.WithRev(rev)) {
		if err := resp.Err(); err != nil {
			if ctx.Err() == nil {
				w.send(ctx, Update{Err: fmt.Errorf("lb: etcd watch of %q ended, listing again: %w", w.cfg.Prefix+"/", err)})
			}
			return
		}
		for _, ev := range resp.Events {
			key := string(ev.Kv.Key)
			if ev.Type == clientv3.EventTypeDelete {
				delete(w.set, key)
				continue
			}
			addr, err := parseEtcdEndpoint(ev.Kv.Value)
			if err != nil {
				delete(w.set, key)
				if !w.send(ctx, Update{Err: fmt.Errorf("lb: etcd key %q: %w", key, err)}) {
					return
				}
				continue
			}
			w.set[key] = addr
		}
		if !w.deliver(ctx) {
			return
		}
	}
}

// deliver sends the current set if it changed; an empty set is an error
// and the previous set stays in force.
func (w *etcdWatch) deliver(ctx context.Context) bool {
	addrs := addrsOf(w.set)
	if slices.Equal(addrs, w.last) {
		return true
	}
	if len(addrs) == 0 {
		w.last = nil
		return w.send(ctx, Update{Err: fmt.Errorf("lb: etcd prefix %q holds no endpoint", w.cfg.Prefix+"/")})
	}
	w.last = addrs
	return w.send(ctx, Update{Addrs: addrs})
}

func (w *etcdWatch) send(ctx context.Context, u Update) bool {
	select {
	case w.ch <- u:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *etcdWatch) pause(ctx context.Context) bool {
	t := time.NewTimer(etcdRetry)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// etcdPublisher writes a membership list under a prefix in the
// naming/endpoints manager's format, one key per address
// (Prefix/host:port), so an Etcd source or etcd's own gRPC resolver sees
// it. Its methods are safe for concurrent use.
type etcdPublisher struct {
	cfg EtcdConfig
	cli *clientv3.Client
	mgr endpoints.Manager
}

// newEtcdPublisher connects to etcd and checks it answers within
// cfg.DialTimeout (else the error wraps ErrUnreachable). Close it when
// done.
func newEtcdPublisher(ctx context.Context, cfg EtcdConfig) (*etcdPublisher, error) {
	cli, err := cfg.newClient()
	if err != nil {
		return nil, err
	}
	if _, _, _, err := cfg.list(ctx, cli); err != nil {
		_ = cli.Close()
		return nil, err
	}
	mgr, err := endpoints.NewManager(cli, cfg.Prefix)
	if err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("lb: etcd endpoints manager: %w", err)
	}
	return &etcdPublisher{cfg: cfg, cli: cli, mgr: mgr}, nil
}

// Publish makes the keys under the prefix list exactly addrs: it adds the
// missing ones and deletes the others (any key under the prefix whose
// address is not in addrs) in one transaction, so a watcher sees the whole
// change at one revision.
func (p *etcdPublisher) Publish(ctx context.Context, addrs []string) error {
	if err := validateAddrs(addrs); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.dialTimeout())
	defer cancel()
	resp, err := p.cli.Get(ctx, p.cfg.Prefix+"/", clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("lb: etcd publish: listing %q: %w", p.cfg.Prefix+"/", err)
	}
	cur := map[string]string{} // every key under the prefix → its address, "" if none
	for _, kv := range resp.Kvs {
		cur[string(kv.Key)], _ = parseEtcdEndpoint(kv.Value)
	}
	want := map[string]bool{}
	var ups []*endpoints.UpdateWithOpts
	for _, a := range addrs {
		key := p.cfg.Prefix + "/" + a
		want[key] = true
		if got, ok := cur[key]; !ok || got != a {
			ups = append(ups, endpoints.NewAddUpdateOpts(key, endpoints.Endpoint{Addr: a}))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(cur)) {
		if !want[key] {
			ups = append(ups, endpoints.NewDeleteUpdateOpts(key))
		}
	}
	if len(ups) == 0 {
		return nil
	}
	if err := p.mgr.Update(ctx, ups); err != nil {
		return fmt.Errorf("lb: etcd publish under %q: %w", p.cfg.Prefix+"/", err)
	}
	return nil
}

// Close closes the etcd client.
func (p *etcdPublisher) Close() error { return p.cli.Close() }
