package fakeserver

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/certs"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// TLS makes every backend serve TLS: with a certificate from files, or with
// a certificate for 127.0.0.1, ::1 and localhost signed by a CA generated in
// memory at Start (Cluster.CAPEM returns it for clients to trust). With
// ClientCAFile, backends require and verify client certificates (mTLS).
type TLS struct {
	// CertFile and KeyFile are the server certificate and key (PEM).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// SelfSigned generates the CA and certificate at Start instead.
	SelfSigned bool `yaml:"self_signed"`
	// ClientCAFile is a PEM file of CAs that sign accepted client
	// certificates; when set, a client without one is refused.
	ClientCAFile string `yaml:"client_ca_file"`
}

// RequireToken makes UserService calls without the header
// "authorization: Bearer <token>" fail with UNAUTHENTICATED (health,
// reflection and ORCA stay open). The token is read at Start from an
// environment variable or a file (trailing line breaks dropped), kept in
// memory only, never logged or counted by value.
type RequireToken struct {
	// Env names the environment variable holding the token.
	Env string `yaml:"env"`
	// File is a file holding the token.
	File string `yaml:"file"`
}

func (t *TLS) validate() []error {
	var errs []error
	switch {
	case t.SelfSigned && (t.CertFile != "" || t.KeyFile != ""):
		errs = append(errs, field.Errorf("tls.self_signed", "give self_signed or cert_file and key_file, not both"))
	case !t.SelfSigned && t.CertFile == "" && t.KeyFile == "":
		errs = append(errs, field.Errorf("tls", "give cert_file and key_file, or self_signed: true"))
	case !t.SelfSigned && t.KeyFile == "":
		errs = append(errs, field.Errorf("tls.key_file", "is required with cert_file"))
	case !t.SelfSigned && t.CertFile == "":
		errs = append(errs, field.Errorf("tls.cert_file", "is required with key_file"))
	}
	if _, _, err := t.load(); err != nil && len(errs) == 0 {
		errs = append(errs, err)
	}
	return errs
}

// load reads the files (or generates the self-signed chain) and returns
// the server's tls.Config and, when self-signed, the CA certificate PEM.
func (t *TLS) load() (*tls.Config, []byte, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var caPEM []byte
	switch {
	case t.SelfSigned:
		ca, err := certs.NewCA("grpcbench fakeserver CA")
		if err != nil {
			return nil, nil, field.Errorf("tls.self_signed", "%v", err)
		}
		pair, err := ca.Loopback()
		if err != nil {
			return nil, nil, field.Errorf("tls.self_signed", "%v", err)
		}
		cert, err := pair.TLS()
		if err != nil {
			return nil, nil, field.Errorf("tls.self_signed", "%v", err)
		}
		cfg.Certificates, caPEM = []tls.Certificate{cert}, ca.CertPEM
	case t.CertFile != "" && t.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, nil, field.Errorf("tls.cert_file", "%v", fileErr(err))
		}
		cfg.Certificates = []tls.Certificate{cert}
	default:
		return nil, nil, field.Errorf("tls", "give cert_file and key_file, or self_signed: true")
	}
	if t.ClientCAFile != "" {
		b, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, nil, field.Errorf("tls.client_ca_file", "%v", fileErr(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, nil, field.Errorf("tls.client_ca_file", "%s holds no PEM certificate", t.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, caPEM, nil
}

// fileErr keeps an os.PathError's path and reason, dropping the operation.
func fileErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot read %s: %v", pe.Path, pe.Err)
	}
	return err
}

func (r *RequireToken) validate() []error {
	if _, err := r.token(); err != nil {
		return []error{err}
	}
	return nil
}

// token reads the token; errors never hold it.
func (r *RequireToken) token() (string, error) {
	switch {
	case r.Env != "" && r.File != "":
		return "", field.Errorf("require_token", "give env or file, not both")
	case r.Env != "":
		v := os.Getenv(r.Env)
		if v == "" {
			return "", field.Errorf("require_token.env", "environment variable %s is not set or empty", r.Env)
		}
		return v, nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			return "", field.Errorf("require_token.file", "%v", fileErr(err))
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", field.Errorf("require_token.file", "%s is empty", r.File)
		}
		return v, nil
	}
	return "", field.Errorf("require_token", "give env or file")
}

// security is what Start loaded once for every backend.
type security struct {
	creds credentials.TransportCredentials // nil: plaintext
	caPEM []byte                           // self-signed CA
	want  []byte                           // "Bearer <token>", nil when no token is required
}

func loadSecurity(cfg Config) (security, error) {
	var s security
	if cfg.TLS != nil {
		tc, caPEM, err := cfg.TLS.load()
		if err != nil {
			return s, err
		}
		s.creds, s.caPEM = credentials.NewTLS(tc), caPEM
	}
	if cfg.RequireToken != nil {
		tok, err := cfg.RequireToken.token()
		if err != nil {
			return s, err
		}
		s.want = []byte("Bearer " + tok)
	}
	return s, nil
}

// serverOptions returns the transport credentials and the token check.
func (s security) serverOptions(b *backend) []grpc.ServerOption {
	var opts []grpc.ServerOption
	if s.creds != nil {
		opts = append(opts, grpc.Creds(s.creds))
	}
	if s.want != nil {
		opts = append(opts,
			grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				if err := s.check(ctx, b, info.FullMethod); err != nil {
					return nil, err
				}
				return h(ctx, req)
			}),
			grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				if err := s.check(ss.Context(), b, info.FullMethod); err != nil {
					return err
				}
				return h(srv, ss)
			}))
	}
	return opts
}

var userServicePrefix = "/" + userpb.UserService_ServiceDesc.ServiceName + "/"

// check refuses a UserService call without the right bearer token. A
// refused call counts as a call of its method with code UNAUTHENTICATED.
func (s security) check(ctx context.Context, b *backend, method string) error {
	if !strings.HasPrefix(method, userServicePrefix) {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if subtle.ConstantTimeCompare([]byte(v), s.want) == 1 {
			return nil
		}
	}
	if m, ok := parseMethod(method); ok {
		b.ctr.calls[m].Add(1)
	}
	b.ctr.code(codes.Unauthenticated)
	return status.Error(codes.Unauthenticated, "fakeserver: missing or wrong bearer token")
}
