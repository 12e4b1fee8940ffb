package dial

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/lb"
)

// ErrUnreachable is wrapped by Probe's error when a target cannot be
// reached or its TLS handshake fails.
var ErrUnreachable = errors.New("cannot reach")

// probeMethod is the method a probe names to learn grpc-go's reason for a
// failed connection. The call fails inside the client (no connection is
// READY), so nothing is sent.
const probeMethod = "/grpcbench.dial.Probe/NeverSent"

// Dialer holds the dial options of one client stack and counts what its
// connections do. Build one per client stack with Config.NewDialer and give
// Target and DialOptions to every grpc.NewClient (or pool.New) of the
// stack. Its methods are safe for concurrent use.
type Dialer struct {
	name      string // the single target as written, for messages
	target    string
	resolver  *lb.Resolver // for a list of targets
	names     []string     // list entries as written, for messages
	addrs     []string     // list entries as resolver addresses
	conn      Conn
	tlsCfg    *tls.Config
	tlsName   string
	perRPC    *headerCreds
	authority string
	secrets   []string
	st        *stats
}

// NewDialer validates c and t, reads the TLS files and the token, and
// returns the Dialer of one client stack. secret is client-level metadata
// from ExpandMetadata(...).Secret; it is sent with the bearer token as
// per-RPC credentials on every call. The Dialer does not connect.
func (c Config) NewDialer(t Target, secret map[string]string) (*Dialer, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if t.IsZero() {
		return nil, errors.New("dial: no target: give target or targets")
	}
	d := &Dialer{conn: c.Conn, authority: t.Authority, st: &stats{}}
	if c.TLS != nil {
		cfg, err := c.TLS.config()
		if err != nil {
			return nil, fmt.Errorf("dial: %w", field.Prefix("tls", err))
		}
		d.tlsCfg, d.tlsName = cfg, c.TLS.ServerName
	}
	headers := make(map[string]string, len(secret)+1)
	if c.Credentials != nil {
		tok, err := c.Credentials.token()
		if err != nil {
			return nil, fmt.Errorf("dial: %w", field.Prefix("credentials", err))
		}
		headers["authorization"] = "Bearer " + tok
		d.secrets = append(d.secrets, tok)
	}
	for k, v := range secret {
		k = strings.ToLower(k)
		if _, dup := headers[k]; dup {
			return nil, fmt.Errorf("dial: metadata %s is already sent by credentials", k)
		}
		headers[k] = v
		d.secrets = append(d.secrets, v)
		if _, cred, ok := strings.Cut(v, " "); ok { // "Bearer <token>": the token alone too
			d.secrets = append(d.secrets, cred)
		}
	}
	if len(headers) > 0 {
		if c.TLS == nil && !c.InsecureCredentials {
			return nil, errors.New("dial: credentials are refused over plaintext: set tls, or insecure_credentials: true")
		}
		d.perRPC = newHeaderCreds(headers, c.InsecureCredentials)
	}
	if t.Target != "" {
		e, _ := parseTarget(t.Target, false) // valid: checked above
		d.name, d.target = t.Target, e.target
		return d, nil
	}
	for _, s := range t.Targets {
		e, _ := parseTarget(s, true)
		d.names = append(d.names, s)
		d.addrs = append(d.addrs, e.addr)
	}
	d.resolver = lb.NewStaticResolver(d.addrs...)
	d.target = d.resolver.Target()
	return d, nil
}

// Target returns the target to pass to grpc.NewClient or pool.New.
func (d *Dialer) Target() string { return d.target }

// Resolver returns the resolver serving a list of targets to every
// connection (its SetAddrs changes the set mid-run), or nil for a single
// target.
func (d *Dialer) Resolver() *lb.Resolver { return d.resolver }

// DialOptions returns the options every connection of the stack needs:
// transport credentials (TLS or plaintext, counted), per-RPC credentials,
// the counting context dialer (tcp, or unix for unix: addresses), the Conn
// knobs, the authority and, for a list, the resolver. Add the balancing
// policy's service config (lb.Config.DialOptions) beside them.
//
// The custom dialer means grpc-go's HTTP CONNECT proxy support
// (HTTPS_PROXY) is not used: connections go straight to the target.
func (d *Dialer) DialOptions() []grpc.DialOption {
	opts := d.options(d.st)
	if d.resolver != nil {
		opts = append(opts, d.resolver.DialOption())
	}
	return opts
}

// Stats returns a snapshot of the counters of every connection made with
// DialOptions (Probe's connections are not counted).
func (d *Dialer) Stats() Stats { return d.st.snapshot() }

// SecretValues returns the secret values the Dialer sends (the bearer
// token, secret metadata), for a redact.Redactor.
func (d *Dialer) SecretValues() []string { return append([]string(nil), d.secrets...) }

func (d *Dialer) options(st *stats) []grpc.DialOption {
	cc := &countingCreds{inner: insecure.NewCredentials(), st: st}
	if d.tlsCfg != nil {
		cfg := d.tlsCfg
		if len(cfg.Certificates) == 0 {
			cfg = cfg.Clone()
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				st.certAsked.Store(true)
				return &tls.Certificate{}, nil // send none, as crypto/tls would
			}
		}
		cc = &countingCreds{inner: credentials.NewTLS(cfg), st: st, isTLS: true, serverName: d.tlsName}
		if d.authority == "" {
			cc.infoName = d.tlsName
		}
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(cc),
		grpc.WithContextDialer(contextDialer(st)),
	}
	opts = append(opts, d.conn.DialOptions()...)
	if d.perRPC != nil {
		opts = append(opts, grpc.WithPerRPCCredentials(d.perRPC))
	}
	if d.authority != "" {
		opts = append(opts, grpc.WithAuthority(d.authority))
	}
	return opts
}

// contextDialer dials "unix" for unix:///abs, unix:rel and unix:@abstract
// addresses (the forms grpc-go and the list resolver hand a custom dialer)
// and "tcp" otherwise, counting into st.
func contextDialer(st *stats) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		network, address := splitNetwork(addr)
		var nd net.Dialer
		c, err := nd.DialContext(ctx, network, address)
		if err != nil {
			if ctx.Err() == nil {
				st.dialFailed(err)
			}
			return nil, err
		}
		st.connected()
		return c, nil
	}
}

func splitNetwork(addr string) (network, address string) {
	if rest, ok := strings.CutPrefix(addr, "unix://"); ok && strings.HasPrefix(rest, "/") {
		return "unix", rest
	}
	if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		return "unix", rest
	}
	return "tcp", addr
}

// Probe connects once to the target (to each address of a list) with the
// Dialer's options and waits until the connection is READY, within timeout
// and ctx. It returns nil when every connection became READY, and otherwise
// an error wrapping ErrUnreachable with the reason: the dial or TLS
// handshake error ("x509: certificate signed by unknown authority") or
// grpc-go's own connection error. Probe's connections are closed before it
// returns and are not counted in Stats.
func (d *Dialer) Probe(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if d.resolver == nil {
		return d.probe(ctx, d.target, nil, d.name, timeout)
	}
	for i, a := range d.addrs {
		r := lb.NewStaticResolver(a)
		if err := d.probe(ctx, r.Target(), r, d.names[i], timeout); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dialer) probe(ctx context.Context, target string, r *lb.Resolver, name string, timeout time.Duration) error {
	st := &stats{}
	opts := d.options(st)
	if r != nil {
		opts = append(opts, r.DialOption())
	}
	cc, err := grpc.NewClient(target, opts...)
	if err != nil {
		return fmt.Errorf("dial: %w %q: %v", ErrUnreachable, name, err)
	}
	defer cc.Close()
	cc.Connect()
	connected := false // a connection attempt has started
	for {
		s := cc.GetState()
		switch s {
		case connectivity.Connecting:
			connected = true
		case connectivity.Idle:
			if connected {
				// READY came and went before the state was read again (the
				// server dropped the fresh connection): it was reached.
				return nil
			}
			cc.Connect()
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure:
			why := st.snapshot().lastError()
			if why == "" {
				why = grpcReason(ctx, cc)
			}
			if why == "" { // became READY meanwhile
				return nil
			}
			if st.certAsked.Load() {
				why = "the server asks for a client certificate and none is configured " +
					"(mutual TLS needs tls.cert_file and tls.key_file): " + why
			}
			return fmt.Errorf("dial: %w %q: %s", ErrUnreachable, name, why)
		}
		if !cc.WaitForStateChange(ctx, s) {
			if err := context.Cause(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return err // the caller gave up (an interrupt), not the target
			}
			why := fmt.Sprintf("no connection within %v", timeout)
			if last := st.snapshot().lastError(); last != "" {
				why += "; last error: " + last
			}
			return fmt.Errorf("dial: %w %q: %s", ErrUnreachable, name, why)
		}
	}
}

// grpcReason returns grpc-go's last connection error of cc, which is in
// TRANSIENT_FAILURE: a fail-fast call fails inside the client with it.
func grpcReason(ctx context.Context, cc *grpc.ClientConn) string {
	err := cc.Invoke(ctx, probeMethod, &emptypb.Empty{}, &emptypb.Empty{})
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unavailable {
		return st.Message()
	}
	if err == nil || status.Code(err) == codes.Unimplemented {
		return ""
	}
	return err.Error()
}
