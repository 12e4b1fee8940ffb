package dial

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/redact"
)

// Config is everything about a client's connections except balancing:
// transport security, per-call credentials, transport knobs and what to
// redact. The zero value is plaintext with grpc-go's defaults. In a scenario
// its fields sit directly under client:.
type Config struct {
	// TLS, when set (even empty: tls: {}), makes every connection use TLS;
	// nil means plaintext.
	TLS *TLS `yaml:"tls"`
	// Credentials, when set, sends a bearer token with every call as
	// per-RPC credentials.
	Credentials *Credentials `yaml:"credentials"`
	// InsecureCredentials allows credentials (Credentials and metadata
	// values from ${env:…} / ${file:…}) over plaintext. Without it they
	// are refused unless TLS is set, as grpc-go does.
	InsecureCredentials bool `yaml:"insecure_credentials"`
	// Conn holds keepalive, window, backoff and user-agent settings.
	Conn Conn `yaml:"conn"`
	// Redact adds metadata key patterns ('*' matches any run of characters)
	// whose values are never written, to redact.DefaultKeys.
	Redact []string `yaml:"redact"`
}

// TLS configures transport security. Files are read and parsed by
// Validate, so a bad file is refused before any load is sent, and again
// when a Dialer is built.
type TLS struct {
	// CAFile is a PEM file of certificate authorities that verify the
	// server; empty uses the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate and its key (PEM)
	// for mutual TLS; give both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name the server certificate is verified against
	// and sent as SNI (default: the target's host). It is also the
	// :authority of calls unless Target.Authority is set.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any server certificate. For tests only:
	// the connection is encrypted but the server is not authenticated.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// MinVersion is the lowest TLS version offered: "1.2" (default) or
	// "1.3".
	MinVersion string `yaml:"min_version"`
}

// Credentials is a bearer token sent as "authorization: Bearer <token>"
// with every call. Give exactly one source. The token is read when a Dialer
// is built; a file's trailing line break is dropped.
type Credentials struct {
	// BearerTokenEnv names the environment variable holding the token.
	BearerTokenEnv string `yaml:"bearer_token_env"`
	// BearerTokenFile is a file holding the token.
	BearerTokenFile string `yaml:"bearer_token_file"`
}

// TLS versions MinVersion accepts.
var tlsVersions = map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// Validate reports every problem in c as *field.Error values with paths
// relative to c ("tls.ca_file", "credentials", "conn.keepalive.time",
// "redact[0]"). It reads the TLS files and the token source, so a missing
// file or environment variable is reported here, before any load.
func (c Config) Validate() error {
	var errs []error
	if c.TLS != nil {
		_, err := c.TLS.config()
		errs = append(errs, field.Prefix("tls", err))
	}
	if c.Credentials != nil {
		if _, err := c.Credentials.token(); err != nil {
			errs = append(errs, field.Prefix("credentials", err))
		}
		if c.TLS == nil && !c.InsecureCredentials {
			errs = append(errs, field.Errorf("credentials", "a bearer token is refused over plaintext: "+
				"set tls, or insecure_credentials: true to send it in the clear"))
		}
	}
	errs = append(errs, field.Prefix("conn", c.Conn.Validate()))
	errs = append(errs, field.Prefix("redact", redact.ValidatePatterns(c.Redact)))
	return errors.Join(errs...)
}

// Redactor returns a redact.Redactor for c's patterns and the given secret
// values (from Metadata.SecretValues, Dialer.SecretValues).
func (c Config) Redactor(secrets ...string) *redact.Redactor {
	return redact.New(c.Redact, secrets...)
}

// CallCredentials returns a call option that sends secret (per-call
// metadata from ExpandMetadata) as per-RPC credentials, refused by grpc-go
// on a plaintext connection unless InsecureCredentials is set. It returns
// nil when secret is empty.
func (c Config) CallCredentials(secret map[string]string) grpc.CallOption {
	if len(secret) == 0 {
		return nil
	}
	return grpc.PerRPCCredentials(newHeaderCreds(secret, c.InsecureCredentials))
}

// config builds the tls.Config, reading every file. Errors have paths
// relative to TLS.
func (t *TLS) config() (*tls.Config, error) {
	var errs []error
	cfg := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // only when asked
	switch v, ok := tlsVersions[t.MinVersion]; {
	case t.MinVersion == "":
		cfg.MinVersion = tls.VersionTLS12
	case ok:
		cfg.MinVersion = v
	default:
		errs = append(errs, field.Errorf("min_version", "unknown TLS version %q (want \"1.2\" or \"1.3\")", t.MinVersion))
	}
	if t.CAFile != "" {
		if t.InsecureSkipVerify {
			errs = append(errs, field.Errorf("ca_file", "is not used with insecure_skip_verify: true; give one of them"))
		}
		pool, err := loadCAs(t.CAFile)
		if err != nil {
			errs = append(errs, field.Errorf("ca_file", "%v", err))
		}
		cfg.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		errs = append(errs, field.Errorf("key_file", "is required with cert_file (mutual TLS needs the certificate and its key)"))
	case t.CertFile == "" && t.KeyFile != "":
		errs = append(errs, field.Errorf("cert_file", "is required with key_file (mutual TLS needs the certificate and its key)"))
	case t.CertFile != "":
		cert, err := loadKeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			errs = append(errs, err)
		} else {
			cfg.Certificates = []tls.Certificate{cert}
		}
	}
	if t.ServerName != "" {
		if err := checkHost(t.ServerName); err != nil {
			errs = append(errs, field.Errorf("server_name", "%v", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

func loadCAs(path string) (*x509.CertPool, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// loadKeyPair reads a certificate and its key; errors name the field.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := readFile(certFile)
	if err != nil {
		return tls.Certificate{}, field.Errorf("cert_file", "%v", err)
	}
	keyPEM, err := readFile(keyFile)
	if err != nil {
		return tls.Certificate{}, field.Errorf("key_file", "%v", err)
	}
	if blk, _ := pem.Decode(certPEM); blk == nil || blk.Type != "CERTIFICATE" {
		return tls.Certificate{}, field.Errorf("cert_file", "%s holds no PEM certificate", certFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, field.Errorf("key_file", "%s does not hold the key of %s: %v", keyFile, certFile,
			strings.TrimPrefix(err.Error(), "tls: "))
	}
	return cert, nil
}

// readFile reads path; the error names the path and the reason only.
func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	return b, nil
}

// token reads the bearer token. Errors have paths relative to Credentials
// and never hold the token.
func (c *Credentials) token() (string, error) {
	switch {
	case c.BearerTokenEnv != "" && c.BearerTokenFile != "":
		return "", field.Errorf("bearer_token_file", "give bearer_token_env or bearer_token_file, not both")
	case c.BearerTokenEnv != "":
		if !isEnvName(c.BearerTokenEnv) {
			return "", field.Errorf("bearer_token_env", "%q is not an environment variable name", c.BearerTokenEnv)
		}
		v, ok := os.LookupEnv(c.BearerTokenEnv)
		if !ok || v == "" {
			return "", field.Errorf("bearer_token_env", "environment variable %s is not set or empty", c.BearerTokenEnv)
		}
		if err := checkSecretValue("authorization", v); err != nil {
			return "", field.Errorf("bearer_token_env", "%v", err)
		}
		return v, nil
	case c.BearerTokenFile != "":
		v, err := readSecretFile(c.BearerTokenFile)
		if err == nil {
			err = checkSecretValue("authorization", v)
		}
		if err != nil {
			return "", field.Errorf("bearer_token_file", "%v", err)
		}
		return v, nil
	}
	return "", field.Errorf("", "give bearer_token_env or bearer_token_file")
}
