package dial_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grpcbench/grpcbench/dial"
	"github.com/grpcbench/grpcbench/internal/redact"
	"github.com/grpcbench/grpcbench/internal/testutil"
)

func TestExpandMetadata(t *testing.T) {
	const token = "env-token-0451"
	t.Setenv("DIAL_MD_TOKEN", token)
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(keyFile, []byte("file-key-9921\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	md := map[string]string{
		"x-tenant":      "bench",
		"Authorization": "Bearer ${env:DIAL_MD_TOKEN}",
		"x-api-key":     "${file:" + keyFile + "}",
		"x-literal":     "price $${5}",
	}
	m, err := dial.ExpandMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	wantPlain := map[string]string{"x-tenant": "bench", "x-literal": "price ${5}"}
	wantSecret := map[string]string{"authorization": "Bearer " + token, "x-api-key": "file-key-9921"}
	if !maps.Equal(m.Plain, wantPlain) || !maps.Equal(m.Secret, wantSecret) {
		t.Fatalf("ExpandMetadata = %+v, want plain %v secret %v", m, wantPlain, wantSecret)
	}
	if got := m.SecretKeys(); !slices.Equal(got, []string{"authorization", "x-api-key"}) {
		t.Errorf("SecretKeys() = %q", got)
	}
	if got := m.SecretValues(); !slices.Equal(got, []string{"Bearer " + token, "file-key-9921", token, "file-key-9921"}) {
		t.Errorf("SecretValues() = %q", got)
	}
}

func TestExpandMetadataErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.txt")
	t.Setenv("DIAL_MD_BAD", "line1\nline2")
	tests := []struct {
		name  string
		key   string
		value string
		want  string
	}{
		{"missing env var", "authorization", "Bearer ${env:DIAL_MD_UNSET}", "authorization: ${env:DIAL_MD_UNSET}: environment variable DIAL_MD_UNSET is not set"},
		{"unreadable file", "x-api-key", "${file:" + missing + "}", "x-api-key: cannot read " + missing + ": no such file or directory"},
		{"unterminated", "x-a", "${env:X", `x-a: unterminated reference "${env:X"`},
		{"unknown kind", "x-a", "${vault:x}", "x-a: unknown reference ${vault:x}"},
		{"bad env name", "x-a", "${env:1X}", `x-a: ${env:1X}: "1X" is not an environment variable name`},
		{"value with a line break", "x-a", "${env:DIAL_MD_BAD}", "x-a: the value read for it holds a byte (0xa at offset 5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dial.ExpandMetadata(map[string]string{tt.key: tt.value})
			testutil.FieldErrors(t, err, tt.want)
			if err != nil && strings.Contains(err.Error(), "line1") {
				t.Error("the error quotes the secret value")
			}
		})
	}
}

// TestCheckMetadata refuses values from the environment over plaintext
// unless insecure_credentials is set, naming the key.
func TestCheckMetadata(t *testing.T) {
	t.Setenv("DIAL_MD_TOKEN", "tok-777777")
	md := map[string]string{"authorization": "Bearer ${env:DIAL_MD_TOKEN}", "x-tenant": "a"}
	tests := []struct {
		name string
		cfg  dial.Config
		want []string
	}{
		{"over TLS", dial.Config{TLS: &dial.TLS{}}, nil},
		{"plaintext, insecure_credentials", dial.Config{InsecureCredentials: true}, nil},
		{"plaintext", dial.Config{}, []string{"authorization: takes its value from ${env:…} or ${file:…}, which makes it a credential, " +
			"and credentials are refused over plaintext: set client.tls, or client.insecure_credentials: true"}},
		{"also from credentials", dial.Config{TLS: &dial.TLS{}, Credentials: &dial.Credentials{BearerTokenEnv: "DIAL_MD_TOKEN"}},
			[]string{"authorization: is already sent by client.credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.FieldErrors(t, tt.cfg.CheckMetadata(md), tt.want...) })
	}
}

// TestRedactScenarioEcho redacts a scenario echo as the runner stores it:
// references stay, literal secrets and every value read from the
// environment become <redacted>, and the token's bytes are nowhere.
func TestRedactScenarioEcho(t *testing.T) {
	const token = "tok-5e1f-4a77-secret"
	t.Setenv("DIAL_ECHO_TOKEN", token)
	clientMD := map[string]string{"authorization": "Bearer ${env:DIAL_ECHO_TOKEN}", "x-tenant": "t1",
		"x-session-token": "literal-session-abc", "x-debug": "token is " + token}
	tree := map[string]any{
		"name": "checkout",
		"client": map[string]any{
			"metadata":    toAny(clientMD),
			"credentials": map[string]any{"bearer_token_env": "DIAL_ECHO_TOKEN"},
			"redact":      []any{"x-debug"},
		},
		"mix": []any{map[string]any{"call": "GetUser", "metadata": map[string]any{"cookie": "sid=abcdef"}}},
	}
	m, err := dial.ExpandMetadata(clientMD)
	if err != nil {
		t.Fatal(err)
	}
	cfg := dial.Config{TLS: &dial.TLS{}, Redact: []string{"x-debug"}}
	r := cfg.Redactor(append(m.SecretValues(), token)...)
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.Tree(tree)); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{`"authorization":"Bearer ${env:DIAL_ECHO_TOKEN}"`, `"x-tenant":"t1"`,
		`"x-session-token":"` + redact.Placeholder + `"`, `"x-debug":"` + redact.Placeholder + `"`,
		`"cookie":"` + redact.Placeholder + `"`, `"bearer_token_env":"DIAL_ECHO_TOKEN"`} {
		if !strings.Contains(s, want) {
			t.Errorf("redacted echo lacks %s:\n%s", want, s)
		}
	}
	sent := r.Metadata(map[string]string{"authorization": m.Secret["authorization"], "x-tenant": "t1"}, m.SecretKeys()...)
	if sent["authorization"] != redact.Placeholder || sent["x-tenant"] != "t1" {
		t.Errorf("Metadata() = %v", sent)
	}
	for _, text := range []string{s, strings.Join(slices.Collect(maps.Values(sent)), " "), r.String("call failed: bad token " + token)} {
		if strings.Contains(text, token) || strings.Contains(text, "literal-session-abc") || strings.Contains(text, "sid=abcdef") {
			t.Errorf("a secret survived redaction: %s", text)
		}
	}
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
