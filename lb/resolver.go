package lb

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
)

// schemePrefix starts the scheme of every Resolver; a counter makes each
// Resolver's scheme unique within the process ("grpcbench-1").
const schemePrefix = "grpcbench-"

var schemeSeq atomic.Uint64

// Resolver is a resolver.Builder that serves one set of addresses
// ("host:port", or a unix socket: "unix:///abs/path", "unix:relative",
// "unix:@abstract") to every ClientConn built through it. SetAddrs replaces the set
// and pushes it to all of them at once, which is how backends are added or
// removed mid-run and how a pool of N ClientConns keeps one membership.
//
// Each address becomes one resolver.Endpoint (and one resolver.Address), as
// the endpoint-based policies of grpc-go 1.85 (weighted_round_robin,
// least_request, ring_hash) expect. Each address carries its own server
// name — the address itself for host:port, "localhost" for a unix socket —
// so TLS verifies every backend against its own name and calls carry it as
// :authority, as they would with a DNS target (a grpc.WithAuthority option
// overrides both).
//
// grpc-go's default dialer understands the unix forms; a custom dialer
// receives the address as written.
//
// A Resolver is registered only with the ClientConns that use its
// DialOption, never globally. Its methods are safe for concurrent use.
type Resolver struct {
	scheme string

	// upd serialises pushes so every ClientConn sees updates in order.
	upd sync.Mutex

	mu    sync.Mutex // guards the fields below
	addrs []string
	set   bool // whether addrs has been given (an empty set is a set)
	conns map[*resolverConn]struct{}
}

// NewStaticResolver returns a Resolver with a fresh scheme serving addrs.
// With no addrs, ClientConns built through it wait for the first SetAddrs.
// The addresses are not checked here; SetAddrs checks them.
func NewStaticResolver(addrs ...string) *Resolver {
	r := &Resolver{
		scheme: schemePrefix + strconv.FormatUint(schemeSeq.Add(1), 10),
		conns:  make(map[*resolverConn]struct{}),
	}
	if len(addrs) > 0 {
		r.addrs = slices.Clone(addrs)
		r.set = true
	}
	return r
}

// Scheme implements resolver.Builder.
func (r *Resolver) Scheme() string { return r.scheme }

// Target returns the dial target for this resolver, "<scheme>:///backends".
func (r *Resolver) Target() string { return r.scheme + ":///backends" }

// DialOption returns grpc.WithResolvers(r), which registers r for one
// ClientConn only.
func (r *Resolver) DialOption() grpc.DialOption { return grpc.WithResolvers(r) }

// Addrs returns the current address set.
func (r *Resolver) Addrs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.addrs)
}

// Conns returns how many ClientConns currently hold a resolver built by r.
func (r *Resolver) Conns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// SetAddrs replaces the address set and pushes it to every ClientConn built
// through r. Every address must be a valid "host:port" and appear once;
// otherwise nothing changes and the error names each bad address. An empty
// set is allowed: ClientConns then fail calls as having no backends (or
// queue wait-for-ready calls) until addresses return. Calls already in
// flight on a removed backend finish there; new calls go elsewhere.
func (r *Resolver) SetAddrs(addrs []string) error {
	if err := validateAddrs(addrs); err != nil {
		return err
	}
	r.upd.Lock()
	defer r.upd.Unlock()
	r.mu.Lock()
	r.addrs = slices.Clone(addrs)
	r.set = true
	conns := make([]*resolverConn, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	st := stateFor(r.addrs)
	r.mu.Unlock()
	for _, c := range conns {
		r.push(c, st)
	}
	return nil
}

// Build implements resolver.Builder. It is called by grpc-go when a
// ClientConn using r starts (or leaves idle mode).
func (r *Resolver) Build(_ resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	c := &resolverConn{r: r, cc: cc}
	r.upd.Lock()
	defer r.upd.Unlock()
	r.mu.Lock()
	r.conns[c] = struct{}{}
	set, st := r.set, stateFor(r.addrs)
	r.mu.Unlock()
	if set {
		r.push(c, st)
	}
	return c, nil
}

// push sends st to one ClientConn. grpc-go's error from UpdateState asks a
// polling resolver to re-resolve; a pushed set cannot resolve differently,
// so it is not retried.
func (r *Resolver) push(c *resolverConn, st resolver.State) {
	_ = c.cc.UpdateState(st)
}

func stateFor(addrs []string) resolver.State {
	st := resolver.State{
		Addresses: make([]resolver.Address, len(addrs)),
		Endpoints: make([]resolver.Endpoint, len(addrs)),
	}
	for i, a := range addrs {
		ra := resolver.Address{Addr: a, ServerName: a}
		if strings.HasPrefix(a, "unix:") {
			ra.ServerName = "localhost"
		}
		st.Addresses[i] = ra
		st.Endpoints[i] = resolver.Endpoint{Addresses: []resolver.Address{ra}}
	}
	return st
}

// resolverConn is the resolver.Resolver of one ClientConn.
type resolverConn struct {
	r  *Resolver
	cc resolver.ClientConn
}

// ResolveNow implements resolver.Resolver. The set is pushed on change, so
// there is nothing to re-resolve.
func (c *resolverConn) ResolveNow(resolver.ResolveNowOptions) {}

// Close implements resolver.Resolver.
func (c *resolverConn) Close() {
	c.r.mu.Lock()
	delete(c.r.conns, c)
	c.r.mu.Unlock()
}

// validateAddr reports whether s is a usable address: "host:port" with a
// non-empty host (name, IPv4 or bracketed IPv6) and a numeric port
// 1..65535, or a unix socket "unix:///abs/path", "unix:relative/path" or
// "unix:@abstract-name".
func validateAddr(s string) error {
	if rest, ok := strings.CutPrefix(s, "unix:"); ok {
		path := rest
		if p, ok := strings.CutPrefix(rest, "//"); ok {
			path = p
			if !strings.HasPrefix(p, "/") {
				return fmt.Errorf("%q: a unix socket is unix:///abs/path or unix:relative/path", s)
			}
		}
		if path == "" || path == "@" || strings.ContainsAny(path, "\x00\n") {
			return fmt.Errorf("%q: missing or invalid socket path", s)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if host == "" {
		return fmt.Errorf("%q: missing host", s)
	}
	for i := 0; i < len(host); i++ {
		if b := host[i]; b <= ' ' || b == 0x7f || b == '/' {
			return fmt.Errorf("%q: host holds an invalid character %q", s, b)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
		return fmt.Errorf("%q: port must be a number from 1 to 65535", s)
	}
	return nil
}

func validateAddrs(addrs []string) error {
	var errs []error
	seen := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		if err := validateAddr(a); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[a] {
			errs = append(errs, fmt.Errorf("%q: listed twice", a))
		}
		seen[a] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lb: bad address set: %w", err)
	}
	return nil
}
