package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/grpcbench/grpcbench/fakeserver"
)

func runFakeServer(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "fakeserver", "[flags]", `Serve the fault-injecting fake UserService until SIGINT or SIGTERM (or --duration),
then print each backend's counters. One line per backend address is printed at start:
  backend 0 127.0.0.1:50051`)
	listen := fs.String("listen", "127.0.0.1:0", "address of backend 0; with a fixed port, backend i listens on port+i;\n"+
		"or one unix socket (unix:///abs/path, unix-abstract:name) for a single backend")
	backends := fs.Int("backends", 0, "number of backends (default: the fault file's, else 1)")
	faults := fs.String("faults", "", "fault file (YAML): a list of faults, or a server config with backends, seed, faults")
	seed := fs.Int64("seed", 0, "seed of every random fault decision (default: the fault file's, else 0)")
	mcs := fs.Uint32("max-concurrent-streams", 0, "HTTP/2 max concurrent streams per connection (0: unlimited)")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	asJSON := fs.Bool("json", false, "print the final counters as JSON")
	sec := newSecurityFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("fakeserver takes no arguments, got %q", fs.Args())
	}
	if *duration < 0 {
		return usageErrorf("--duration must not be negative, got %s", *duration)
	}
	if *sec.caOut != "" && !*sec.selfSigned {
		return usageErrorf("--tls-ca-out needs --tls-self-signed")
	}
	var listenErr error
	override := func(c *fakeserver.Config) {
		if fs.Changed("backends") {
			c.Backends = *backends
		}
		if fs.Changed("seed") {
			c.Seed = *seed
		}
		if fs.Changed("max-concurrent-streams") {
			c.MaxConcurrentStreams = *mcs
		}
		sec.apply(c)
		c.Backends = max(c.Backends, 1)
		if c.Backends <= 64 {
			c.Addrs, listenErr = listenAddrs(*listen, c.Backends)
		}
	}
	var cfg fakeserver.Config
	if *faults != "" {
		c, err := fakeserver.LoadFile(*faults, override)
		if listenErr != nil {
			return usageError(listenErr)
		}
		if err != nil {
			return usageError(err)
		}
		cfg = c
	} else {
		override(&cfg)
	}
	if listenErr != nil {
		return usageError(listenErr)
	}
	if err := cfg.Validate(); err != nil {
		name := *faults
		if name == "" {
			name = "flags"
		}
		return usageErrorf("%s: %w", name, err)
	}
	cl, err := fakeserver.Start(ctx, cfg)
	if err != nil {
		return failure(err)
	}
	defer cl.Stop()
	if *sec.caOut != "" {
		if err := os.WriteFile(*sec.caOut, cl.CAPEM(), 0o644); err != nil {
			return failure(err)
		}
	}
	return serve(ctx, e, cl, *duration, *asJSON)
}

// serve prints the backends' addresses, waits for ctx or duration, stops
// the cluster and prints its counters.
func serve(ctx context.Context, e *env, cl *fakeserver.Cluster, duration time.Duration, asJSON bool) error {
	for i, a := range cl.Addrs() {
		fmt.Fprintf(e.stdout, "backend %d %s\n", i, a)
	}
	if f, ok := e.stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	var timeout <-chan time.Time
	if duration > 0 {
		t := time.NewTimer(duration)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
	case <-timeout:
	}
	st := cl.Stats()
	cl.Stop()
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printServerStats(e.stdout, st)
	return nil
}

// securityFlags are the fake server's TLS and token flags.
type securityFlags struct {
	cert, key, clientCA, caOut, tokenEnv *string
	selfSigned                           *bool
}

func newSecurityFlags(fs *pflag.FlagSet) securityFlags {
	return securityFlags{
		cert:       fs.String("tls-cert", "", "serve TLS with this certificate (PEM); needs --tls-key"),
		key:        fs.String("tls-key", "", "private key (PEM) of --tls-cert"),
		clientCA:   fs.String("client-ca", "", "require client certificates signed by these CAs (PEM): mutual TLS"),
		selfSigned: fs.Bool("tls-self-signed", false, "serve TLS with a CA and certificate for 127.0.0.1, ::1, localhost made at start"),
		caOut:      fs.String("tls-ca-out", "", "with --tls-self-signed, write the CA certificate (PEM) here for clients to trust"),
		tokenEnv: fs.String("require-token-env", "", "refuse UserService calls without \"authorization: Bearer <token>\" "+
			"(UNAUTHENTICATED),\nthe token read from this environment variable"),
	}
}

// apply sets the TLS and token configuration the flags ask for.
func (f securityFlags) apply(c *fakeserver.Config) {
	if *f.cert != "" || *f.key != "" || *f.clientCA != "" || *f.selfSigned {
		c.TLS = &fakeserver.TLS{CertFile: *f.cert, KeyFile: *f.key, ClientCAFile: *f.clientCA, SelfSigned: *f.selfSigned}
	}
	if *f.tokenEnv != "" {
		c.RequireToken = &fakeserver.RequireToken{Env: *f.tokenEnv}
	}
}

// listenAddrs expands the address of backend 0 into n addresses.
func listenAddrs(listen string, n int) ([]string, error) {
	if strings.HasPrefix(listen, "unix:") || strings.HasPrefix(listen, "unix-abstract:") {
		if n != 1 {
			return nil, fmt.Errorf("--listen %q: a unix socket serves one backend, not %d", listen, n)
		}
		return []string{listen}, nil
	}
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port+n-1 > 65535 {
		return nil, fmt.Errorf("--listen %q: port must be a number in 0..%d for %d backends", listen, 65536-n, n)
	}
	out := make([]string, n)
	for i := range out {
		p := 0
		if port != 0 {
			p = port + i
		}
		out[i] = net.JoinHostPort(host, strconv.Itoa(p))
	}
	return out, nil
}

func printServerStats(w io.Writer, st fakeserver.Stats) {
	for _, b := range st.Backends {
		fmt.Fprintf(w, "backend %d %s: %d calls, %d retry attempts, %d connections accepted\n",
			b.Index, b.Addr, b.TotalCalls(), b.TotalRetries(), b.ConnectionsTotal)
		line := func(label string, m map[string]int64) {
			if len(m) == 0 {
				return
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s=%d", k, m[k])
			}
			fmt.Fprintf(w, "  %-13s %s\n", label, strings.Join(parts, " "))
		}
		line("calls", b.Calls)
		line("retries", b.Retries)
		line("messages in", b.MessagesIn)
		line("messages out", b.MessagesOut)
		line("codes", b.Codes)
		line("faults", b.Faults)
		if b.Error != "" {
			fmt.Fprintf(w, "  error         %s\n", b.Error)
		}
	}
}
