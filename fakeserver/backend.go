package fakeserver

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/orca"
	"google.golang.org/grpc/reflection"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

// backend is one fake server: a grpc.Server on a fixed address that a down
// window may stop and start again.
type backend struct {
	cl    *Cluster
	idx   int
	rules *rules
	ctr   counters
	store *store
	qps   qpsMeter
	oob   orca.ServerMetricsRecorder
	hs    *health.Server

	mu    sync.Mutex // guards the fields below; never held while serving a call
	addr  string
	srv   *grpc.Server
	conns map[*trackedConn]struct{}
	down  bool
	err   error          // the last failure to serve again after a down window
	wg    sync.WaitGroup // Serve goroutines

	addedAt   time.Duration // when it joined, from the cluster's start
	removed   bool          // out of the membership (it may still drain)
	removedAt time.Duration
	stopAt    time.Duration // when a draining removed backend stops; 0: not draining
}

func newBackend(cl *Cluster, idx int, addr string, cfg Config) *backend {
	b := &backend{
		cl: cl, idx: idx, addr: addr,
		rules: compile(cfg, idx),
		store: newStore(cfg.StoreSize),
		oob:   orca.NewServerMetricsRecorder(),
		hs:    health.NewServer(),
		conns: map[*trackedConn]struct{}{},
	}
	for _, svc := range b.healthServices() {
		b.hs.SetServingStatus(svc, healthpb.HealthCheckResponse_SERVING)
	}
	return b
}

// healthServices lists the services the health server reports: the whole
// server (""), UserService, and any service a health fault names.
func (b *backend) healthServices() []string {
	svcs := []string{"", userpb.UserService_ServiceDesc.ServiceName}
	for _, h := range b.rules.health {
		if h.Service != "" && h.Service != svcs[1] {
			svcs = append(svcs, h.Service)
		}
	}
	return svcs
}

// newServer builds a grpc.Server with the backend's options and services.
func (b *backend) newServer() (*grpc.Server, error) {
	opts := []grpc.ServerOption{
		grpc.WaitForHandlers(true),
		orca.CallMetricsServerOption(nil),
		grpc.InTapHandle(b.arrived),
	}
	if b.rules.mcs > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(b.rules.mcs))
	}
	if g := b.rules.goaway; g != nil {
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionAge: g.MaxConnectionAge, MaxConnectionAgeGrace: g.Grace}))
	}
	if k := b.rules.keepalive; k != nil {
		opts = append(opts, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: k.MinTime, PermitWithoutStream: k.PermitWithoutStream}))
	}
	opts = append(opts, b.cl.sec.serverOptions(b)...)
	s := grpc.NewServer(opts...)
	userpb.RegisterUserServiceServer(s, &service{b: b})
	healthpb.RegisterHealthServer(s, b.hs)
	reflection.Register(s)
	if err := orca.Register(s, orca.ServiceOptions{ServerMetricsProvider: b.oob}); err != nil {
		return nil, fmt.Errorf("register ORCA service: %w", err)
	}
	return s, nil
}

// up listens on the backend's address and serves. Called with b.mu held.
func (b *backend) up() error {
	network, address := listenNetwork(b.addr)
	lis, err := net.Listen(network, address)
	if err != nil {
		return fmt.Errorf("backend %d: listen %s: %w", b.idx, b.addr, err)
	}
	srv, err := b.newServer()
	if err != nil {
		lis.Close()
		return fmt.Errorf("backend %d: %w", b.idx, err)
	}
	if network == "tcp" {
		b.addr = lis.Addr().String()
	}
	b.srv = srv
	b.down = false
	b.err = nil
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		_ = srv.Serve(&trackingListener{Listener: lis, b: b})
	}()
	return nil
}

// stop closes the listener and every connection and waits for handlers to
// return. Called with b.mu held; the lock is released while waiting.
func (b *backend) stop() {
	srv := b.srv
	b.srv = nil
	if srv == nil {
		return
	}
	b.mu.Unlock()
	srv.Stop()
	b.wg.Wait()
	b.mu.Lock()
}

// setDown takes the backend off the network or brings it back. A removed
// backend is never brought back.
func (b *backend) setDown(down bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if down == b.down || (!down && b.removed) {
		return nil
	}
	if down {
		b.ctr.fault(KindDown, 0)
		b.down = true
		b.stop()
		return nil
	}
	return b.up()
}

// kill drops every open connection abruptly (RST, no GOAWAY).
func (b *backend) kill() {
	b.mu.Lock()
	conns := make([]*trackedConn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	b.ctr.fault(KindKill, 0)
	for _, c := range conns {
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

// setHealth applies a status per service; services not named are SERVING.
func (b *backend) setHealth(st map[string]string) {
	for _, svc := range b.healthServices() {
		s, ok := st[svc]
		if !ok && svc != "" {
			s, ok = st[""] // a whole-server fault covers every service
		}
		v := healthpb.HealthCheckResponse_SERVING
		if ok {
			v = healthpb.HealthCheckResponse_ServingStatus(healthpb.HealthCheckResponse_ServingStatus_value[s])
		}
		b.hs.SetServingStatus(svc, v)
	}
}

func (b *backend) address() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// listenNetwork maps a backend address to net.Listen's arguments:
// unix:///abs/path and unix:relative are unix sockets, unix-abstract:name
// an abstract one ("@name"), anything else TCP.
func listenNetwork(addr string) (network, address string) {
	if rest, ok := strings.CutPrefix(addr, "unix-abstract:"); ok {
		return "unix", "@" + rest
	}
	if rest, ok := strings.CutPrefix(addr, "unix://"); ok {
		return "unix", rest
	}
	if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		return "unix", rest
	}
	return "tcp", addr
}

// trackingListener records accepted connections so kill can drop them and
// Stats can count them.
type trackingListener struct {
	net.Listener
	b *backend
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, b: l.b}
	l.b.mu.Lock()
	l.b.conns[tc] = struct{}{}
	l.b.mu.Unlock()
	l.b.ctr.conns.Add(1)
	l.b.ctr.connsTotal.Add(1)
	return tc, nil
}

type trackedConn struct {
	net.Conn
	b    *backend
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.b.mu.Lock()
		delete(c.b.conns, c)
		c.b.mu.Unlock()
		c.b.ctr.conns.Add(-1)
	})
	return err
}

func (b *backend) setErr(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

func (b *backend) getErr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		return ""
	}
	return b.err.Error()
}
