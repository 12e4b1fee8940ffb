package dial_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/dial"
	"github.com/grpcbench/grpcbench/internal/certs"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/internal/yamlx"
)

// files holds real PEM files written for one test.
type files struct {
	dir, ca, otherCA, cert, key, clientCert, clientKey, garbage, missing string
	signer                                                               *certs.CA
}

func writeFiles(t *testing.T) files {
	t.Helper()
	dir := t.TempDir()
	ca, err := certs.NewCA("dial test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := certs.NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	f := files{dir: dir, signer: ca, missing: filepath.Join(dir, "missing.pem"), garbage: filepath.Join(dir, "garbage.pem")}
	if f.ca, err = ca.WriteCA(dir, "ca"); err != nil {
		t.Fatal(err)
	}
	if f.otherCA, err = other.WriteCA(dir, "other-ca"); err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server("grpcbench.test")
	if err != nil {
		t.Fatal(err)
	}
	if f.cert, f.key, err = srv.Write(dir, "server"); err != nil {
		t.Fatal(err)
	}
	cli, err := ca.Client("bench")
	if err != nil {
		t.Fatal(err)
	}
	if f.clientCert, f.clientKey, err = cli.Write(dir, "client"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConfigValidate(t *testing.T) {
	f := writeFiles(t)
	t.Setenv("DIAL_TEST_TOKEN", "tok-123456")
	jitter := 1.5
	tests := []struct {
		name string
		cfg  dial.Config
		want []string // "path: message prefix"; nil means valid
	}{
		{name: "zero value is plaintext", cfg: dial.Config{}},
		{name: "tls with system roots", cfg: dial.Config{TLS: &dial.TLS{}}},
		{name: "tls with CA, client certificate, 1.3", cfg: dial.Config{TLS: &dial.TLS{CAFile: f.ca, CertFile: f.clientCert,
			KeyFile: f.clientKey, ServerName: "grpcbench.test", MinVersion: "1.3"}}},
		{name: "token over TLS", cfg: dial.Config{TLS: &dial.TLS{}, Credentials: &dial.Credentials{BearerTokenEnv: "DIAL_TEST_TOKEN"}}},
		{name: "token in the clear when asked", cfg: dial.Config{InsecureCredentials: true,
			Credentials: &dial.Credentials{BearerTokenEnv: "DIAL_TEST_TOKEN"}}},
		{name: "conn knobs", cfg: dial.Config{Conn: dial.Conn{
			Keepalive:         dial.Keepalive{Time: 30 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true},
			InitialWindowSize: 1 << 20, InitialConnWindowSize: 65535, UserAgent: "grpcbench/1",
			ConnectBackoff: dial.ConnectBackoff{BaseDelay: 100 * time.Millisecond, Multiplier: 2, MaxDelay: 5 * time.Second}}}},
		{name: "redact patterns", cfg: dial.Config{Redact: []string{"x-session", "*-secret"}}},

		{name: "unreadable CA file", cfg: dial.Config{TLS: &dial.TLS{CAFile: f.missing}},
			want: []string{"tls.ca_file: cannot read " + f.missing + ": no such file or directory"}},
		{name: "CA file without certificate", cfg: dial.Config{TLS: &dial.TLS{CAFile: f.garbage}},
			want: []string{"tls.ca_file: " + f.garbage + " holds no PEM certificate"}},
		{name: "unreadable cert file", cfg: dial.Config{TLS: &dial.TLS{CertFile: f.missing, KeyFile: f.clientKey}},
			want: []string{"tls.cert_file: cannot read " + f.missing}},
		{name: "unreadable key file", cfg: dial.Config{TLS: &dial.TLS{CertFile: f.clientCert, KeyFile: f.missing}},
			want: []string{"tls.key_file: cannot read " + f.missing}},
		{name: "cert file without certificate", cfg: dial.Config{TLS: &dial.TLS{CertFile: f.garbage, KeyFile: f.clientKey}},
			want: []string{"tls.cert_file: " + f.garbage + " holds no PEM certificate"}},
		{name: "key of another certificate", cfg: dial.Config{TLS: &dial.TLS{CertFile: f.clientCert, KeyFile: f.key}},
			want: []string{"tls.key_file: " + f.key + " does not hold the key of " + f.clientCert}},
		{name: "cert without key", cfg: dial.Config{TLS: &dial.TLS{CertFile: f.clientCert}},
			want: []string{"tls.key_file: is required with cert_file"}},
		{name: "key without cert", cfg: dial.Config{TLS: &dial.TLS{KeyFile: f.clientKey}},
			want: []string{"tls.cert_file: is required with key_file"}},
		{name: "unknown min_version", cfg: dial.Config{TLS: &dial.TLS{MinVersion: "1.1"}},
			want: []string{`tls.min_version: unknown TLS version "1.1" (want "1.2" or "1.3")`}},
		{name: "CA with skip-verify", cfg: dial.Config{TLS: &dial.TLS{CAFile: f.ca, InsecureSkipVerify: true}},
			want: []string{"tls.ca_file: is not used with insecure_skip_verify"}},
		{name: "bad server name", cfg: dial.Config{TLS: &dial.TLS{ServerName: "a b"}},
			want: []string{"tls.server_name: host \"a b\" holds ' '"}},
		{name: "token over plaintext", cfg: dial.Config{Credentials: &dial.Credentials{BearerTokenEnv: "DIAL_TEST_TOKEN"}},
			want: []string{"credentials: a bearer token is refused over plaintext: set tls, or insecure_credentials: true"}},
		{name: "missing env var", cfg: dial.Config{TLS: &dial.TLS{}, Credentials: &dial.Credentials{BearerTokenEnv: "DIAL_TEST_UNSET"}},
			want: []string{"credentials.bearer_token_env: environment variable DIAL_TEST_UNSET is not set or empty"}},
		{name: "unreadable token file", cfg: dial.Config{TLS: &dial.TLS{}, Credentials: &dial.Credentials{BearerTokenFile: f.missing}},
			want: []string{"credentials.bearer_token_file: cannot read " + f.missing}},
		{name: "two token sources", cfg: dial.Config{TLS: &dial.TLS{},
			Credentials: &dial.Credentials{BearerTokenEnv: "DIAL_TEST_TOKEN", BearerTokenFile: f.ca}},
			want: []string{"credentials.bearer_token_file: give bearer_token_env or bearer_token_file, not both"}},
		{name: "no token source", cfg: dial.Config{TLS: &dial.TLS{}, Credentials: &dial.Credentials{}},
			want: []string{"credentials: give bearer_token_env or bearer_token_file"}},
		{name: "token file with a line break inside", cfg: dial.Config{TLS: &dial.TLS{}, Credentials: &dial.Credentials{BearerTokenFile: f.ca}},
			want: []string{"credentials.bearer_token_file: the value read for it holds a byte (0xa"}},
		{name: "conn", cfg: dial.Config{Conn: dial.Conn{Keepalive: dial.Keepalive{Time: 5 * time.Second, Timeout: -1},
			InitialWindowSize: 1024, ConnectBackoff: dial.ConnectBackoff{Multiplier: 0.5, Jitter: &jitter}, UserAgent: "a\nb"}},
			want: []string{"conn.keepalive.time: must be 0 (no pings) or at least 10s", "conn.keepalive.timeout: must not be negative",
				"conn.initial_window_size: must be 0 (dynamic) or at least 65535", "conn.connect_backoff.multiplier: must be at least 1",
				"conn.connect_backoff.jitter: must be between 0 and 1", "conn.user_agent: must be printable ASCII"}},
		{name: "keepalive timeout without time", cfg: dial.Config{Conn: dial.Conn{Keepalive: dial.Keepalive{Timeout: time.Second}}},
			want: []string{"conn.keepalive.time: must be set when timeout or permit_without_stream is"}},
		{name: "backoff max below base", cfg: dial.Config{Conn: dial.Conn{ConnectBackoff: dial.ConnectBackoff{MaxDelay: 500 * time.Millisecond}}},
			want: []string{"conn.connect_backoff.max_delay: 500ms is less than base_delay 1s"}},
		{name: "redact patterns", cfg: dial.Config{Redact: []string{"", "a b"}},
			want: []string{"redact[0]: must not be empty", `redact[1]: "a b": a pattern holds`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			testutil.FieldErrors(t, err, tt.want...)
			if err != nil && strings.Contains(err.Error(), "tok-123456") {
				t.Error("an error message holds the token")
			}
		})
	}
}

func TestTargetValidate(t *testing.T) {
	tests := []struct {
		name string
		t    dial.Target
		want []string
	}{
		{name: "zero: no external target", t: dial.Target{}},
		{name: "any host", t: dial.Target{Target: "10.0.0.5:443", Authority: "api.internal:443"}},
		{name: "list", t: dial.Target{Targets: []string{"10.0.0.5:443", "unix:///run/b.sock", "unix-abstract:b"}}},
		{name: "empty list", t: dial.Target{Targets: []string{}}, want: []string{"targets: must list at least one address"}},
		{name: "empty entry", t: dial.Target{Targets: []string{"a:1", ""}}, want: []string{"targets[1]: must not be empty"}},
		{name: "bad scheme in list", t: dial.Target{Targets: []string{"a:1", "xds:///b"}},
			want: []string{`targets[1]: "xds:///b": unknown scheme "xds"`}},
		{name: "bad scheme", t: dial.Target{Target: "http://a:1"}, want: []string{`target: "http://a:1": unknown scheme "http"`}},
		{name: "same address twice", t: dial.Target{Targets: []string{"unix-abstract:x", "a:1", "unix:@x"}},
			want: []string{`targets[2]: "unix:@x" is the same address as targets[0]`}},
		{name: "both forms", t: dial.Target{Target: "a:1", Targets: []string{"b:1"}}, want: []string{"targets: give target or targets, not both"}},
		{name: "bad authority", t: dial.Target{Target: "a:1", Authority: "a/b"}, want: []string{`authority: "a/b" holds '/'`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testutil.FieldErrors(t, tt.t.Validate(), tt.want...)
		})
	}
}

// TestDecodeYAML decodes the documented YAML shape with the strict decoder:
// min_version written as a number stays "1.3", an explicit empty list is
// an empty list (refused), and a located error names the line.
func TestDecodeYAML(t *testing.T) {
	f := writeFiles(t)
	doc := `tls:
  ca_file: ` + f.ca + `
  server_name: grpcbench.test
  min_version: 1.3
credentials: {bearer_token_file: ` + f.missing + `}
conn:
  keepalive: {time: 30s, timeout: 5s}
  connect_backoff: {base_delay: 100ms, jitter: 0}
redact: [x-session]
`
	node, err := yamlx.Parse("client.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var c dial.Config
	pos, err := yamlx.Decode("client.yaml", node, &c)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if c.TLS == nil || c.TLS.MinVersion != "1.3" || c.TLS.ServerName != "grpcbench.test" || c.Conn.Keepalive.Time != 30*time.Second ||
		c.Conn.ConnectBackoff.Jitter == nil || *c.Conn.ConnectBackoff.Jitter != 0 || !slices.Equal(c.Redact, []string{"x-session"}) {
		t.Fatalf("decoded %+v", c)
	}
	err = pos.Locate("client.yaml", c.Validate())
	if want := "client.yaml:5: credentials.bearer_token_file: cannot read"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("located error = %v, want prefix %q", err, want)
	}

	node, err = yamlx.Parse("server.yaml", []byte("targets: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	var tg dial.Target
	if _, err := yamlx.Decode("server.yaml", node, &tg); err != nil {
		t.Fatal(err)
	}
	if err := tg.Validate(); err == nil || !strings.Contains(err.Error(), "targets: must list at least one address") {
		t.Fatalf("targets: [] gave %v, want the empty-list error", err)
	}
}

func TestConnDialOptions(t *testing.T) {
	if n := len(dial.Conn{}.DialOptions()); n != 0 {
		t.Errorf("zero Conn gives %d options, want 0", n)
	}
	c := dial.Conn{Keepalive: dial.Keepalive{Time: 30 * time.Second}, InitialWindowSize: 1 << 20,
		InitialConnWindowSize: 1 << 21, ConnectBackoff: dial.ConnectBackoff{BaseDelay: 10 * time.Millisecond}, UserAgent: "x"}
	if n := len(c.DialOptions()); n != 5 {
		t.Errorf("every knob gives %d options, want 5", n)
	}
	got := dial.ConnectBackoff{BaseDelay: 200 * time.Second}.WithDefaults()
	if got.BaseDelay != 200*time.Second || got.MaxDelay != 200*time.Second || got.Multiplier != 1.6 ||
		*got.Jitter != 0.2 || got.MinConnectTimeout != 20*time.Second {
		t.Errorf("WithDefaults() = %+v", got)
	}
	zero := 0.0
	if got := (dial.ConnectBackoff{Jitter: &zero}).WithDefaults(); *got.Jitter != 0 {
		t.Errorf("an explicit jitter 0 became %v", *got.Jitter)
	}
}
