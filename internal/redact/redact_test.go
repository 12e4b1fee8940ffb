package redact_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/grpcbench/grpcbench/internal/redact"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"authorization", "authorization", true},
		{"authorization", "authorization2", false},
		{"*-token", "x-session-token", true},
		{"*-token", "-token", true},
		{"*-token", "token", false},
		{"*-token", "x-token-id", false},
		{"x-*-key", "x-api-key", true},
		{"x-*-key", "x-key", false},
		{"*", "", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"", "", true},
		{"", "a", false},
	}
	for _, tt := range tests {
		if got := redact.Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestKey(t *testing.T) {
	r := redact.New([]string{"x-session*"})
	for k, want := range map[string]bool{
		"Authorization": true, "cookie": true, "X-API-Key": true, "x-refresh-token": true,
		"x-session-id": true, "x-tenant": false, "token": false, "set-cookie": false,
	} {
		if got := r.Key(k); got != want {
			t.Errorf("Key(%q) = %v, want %v", k, got, want)
		}
	}
	var nilR *redact.Redactor
	if !nilR.Key("authorization") || nilR.Key("x-session-id") {
		t.Error("a nil Redactor does not redact exactly the default keys")
	}
}

func TestOnlyReferences(t *testing.T) {
	for s, want := range map[string]bool{
		"${env:TOKEN}":                   true,
		"Bearer ${env:TOKEN}":            true,
		"${file:/run/t}${env:B}":         true,
		"Bearer abc":                     false,
		"${env:TOKEN}x":                  false,
		"x${env:TOKEN}":                  false,
		"":                               false,
		"Bearer ":                        false,
		"${env:TOKEN":                    false,
		"${vault:x}":                     false,
		"Bearer ${file:/tmp/x} ${env:A}": false,
	} {
		if got := redact.OnlyReferences(s); got != want {
			t.Errorf("OnlyReferences(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestTreeAndString(t *testing.T) {
	const secret = "s3cr3t-value-xyz"
	r := redact.New(nil, secret, "abc", "")
	in := map[string]any{
		"metadata": map[string]any{"authorization": "Bearer literal", "x-token": "${env:T}", "x-note": "has " + secret},
		"list":     []any{secret, 3, true, nil, map[any]any{"cookie": "c=1", 7: "x"}},
		"strings":  []string{"a " + secret},
		"typed":    map[string]string{"x-api-key": "k", "x-plain": "p"},
		"short":    "abc",
		"embedded": "xabcx",
	}
	got := fmt.Sprint(r.Tree(in))
	want := fmt.Sprint(map[string]any{
		"metadata": map[string]any{"authorization": "<redacted>", "x-token": "${env:T}", "x-note": "has <redacted>"},
		"list":     []any{"<redacted>", 3, true, nil, map[any]any{"cookie": "<redacted>", 7: "x"}},
		"strings":  []string{"a <redacted>"},
		"typed":    map[string]string{"x-api-key": "<redacted>", "x-plain": "p"},
		"short":    "<redacted>",
		"embedded": "xabcx",
	})
	if got != want {
		t.Errorf("Tree =\n%s\nwant\n%s", got, want)
	}
	if in["metadata"].(map[string]any)["authorization"] != "Bearer literal" {
		t.Error("Tree modified its input")
	}
	if got := r.String("dial failed with " + secret + " twice: " + secret); strings.Contains(got, secret) {
		t.Errorf("String left the secret: %q", got)
	}
	if got := r.Metadata(nil); got != nil {
		t.Errorf("Metadata(nil) = %v", got)
	}
	md := r.Metadata(map[string]string{"X-Custom": "from-env", "x-tenant": "t"}, "x-custom")
	if md["X-Custom"] != redact.Placeholder || md["x-tenant"] != "t" {
		t.Errorf("Metadata = %v", md)
	}
}

func TestValidatePatterns(t *testing.T) {
	if err := redact.ValidatePatterns([]string{"x-a", "*-secret", "X_B.c"}); err != nil {
		t.Errorf("valid patterns rejected: %v", err)
	}
	err := redact.ValidatePatterns([]string{"ok", "", "a?b"})
	if err == nil || !strings.Contains(err.Error(), "[1]: must not be empty") || !strings.Contains(err.Error(), `[2]: "a?b"`) {
		t.Errorf("ValidatePatterns = %v", err)
	}
}

// FuzzMatch checks the glob matcher against a regular expression built from
// the same pattern.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"*-token", "x-token"}, {"a*b*c", "abbc"}, {"**", ""}, {"*a*", "bab"}, {"x", "y"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 64 || len(name) > 256 {
			return
		}
		parts := strings.Split(pattern, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re, err := regexp.Compile(`(?s)\A` + strings.Join(parts, ".*") + `\z`)
		if err != nil {
			return // not valid UTF-8 for regexp; Match works on bytes
		}
		if got, want := redact.Match(pattern, name), re.MatchString(name); got != want {
			t.Fatalf("Match(%q, %q) = %v, regexp says %v", pattern, name, got, want)
		}
	})
}
