package redact

import (
	"errors"
	"fmt"
	"strings"

	"github.com/grpcbench/grpcbench/field"
)

// Placeholder replaces every redacted value.
const Placeholder = "<redacted>"

// minSecretLen is the shortest secret value searched for inside strings.
const minSecretLen = 6

// DefaultKeys are the key patterns always redacted.
var DefaultKeys = []string{"authorization", "cookie", "x-api-key", "*-token"}

// Redactor replaces secrets by Placeholder. Build it with New; it is safe
// for concurrent use.
type Redactor struct {
	patterns []string // lower-case
	secrets  []string // searched for in strings, longest first
	short    map[string]bool
}

// New returns a Redactor for DefaultKeys plus patterns, and for the given
// secret values. Empty secrets are ignored.
func New(patterns []string, secrets ...string) *Redactor {
	r := &Redactor{short: map[string]bool{}}
	for _, p := range append(append([]string(nil), DefaultKeys...), patterns...) {
		r.patterns = append(r.patterns, strings.ToLower(p))
	}
	for _, s := range secrets {
		switch {
		case s == "":
		case len(s) < minSecretLen:
			r.short[s] = true
		default:
			r.secrets = append(r.secrets, s)
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	for i := 1; i < len(r.secrets); i++ {
		for j := i; j > 0 && len(r.secrets[j]) > len(r.secrets[j-1]); j-- {
			r.secrets[j], r.secrets[j-1] = r.secrets[j-1], r.secrets[j]
		}
	}
	return r
}

// ValidatePatterns checks configured key patterns: each non-empty, made of
// header-name characters and '*'. Errors have paths "[i]".
func ValidatePatterns(patterns []string) error {
	var errs []error
	for i, p := range patterns {
		path := fmt.Sprintf("[%d]", i)
		if p == "" {
			errs = append(errs, field.Errorf(path, "must not be empty"))
			continue
		}
		for j := 0; j < len(p); j++ {
			if b := p[j]; !isKeyByte(b) && b != '*' {
				errs = append(errs, field.Errorf(path, "%q: a pattern holds header-name characters (a-z 0-9 - _ .) and '*', not %q", p, b))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func isKeyByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.'
}

// Key reports whether values under key k are redacted.
func (r *Redactor) Key(k string) bool {
	k = strings.ToLower(k)
	pats := DefaultKeys
	if r != nil {
		pats = r.patterns
	}
	for _, p := range pats {
		if match(p, k) {
			return true
		}
	}
	return false
}

// match reports whether name matches the glob pattern, in which '*' matches
// any run of characters (including none) and every other byte itself.
func match(pattern, name string) bool {
	// Iterative wildcard matching with one backtrack point: linear in
	// practice, never exponential.
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// String returns s with every secret value replaced by Placeholder.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	if r.short[s] {
		return Placeholder
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Placeholder)
		}
	}
	return s
}

// value redacts a string found under key k.
func (r *Redactor) value(k, v string) string {
	if r.Key(k) && !OnlyReferences(v) {
		return Placeholder
	}
	return r.String(v)
}

// Metadata returns a copy of md with the values of redacted keys, of the
// keys in secret (those whose values came from an environment variable or a
// file) and every secret value replaced by Placeholder.
func (r *Redactor) Metadata(md map[string]string, secret ...string) map[string]string {
	if md == nil {
		return nil
	}
	out := make(map[string]string, len(md))
	for k, v := range md {
		out[k] = r.value(k, v)
		for _, s := range secret {
			if strings.EqualFold(s, k) {
				out[k] = Placeholder
			}
		}
	}
	return out
}

// Tree returns a copy of v, a tree as produced by decoding YAML or JSON into
// an any (map[string]any, map[any]any, []any, map[string]string, []string
// and scalars), with the values under redacted keys and every secret value
// replaced by Placeholder. Other types are returned as they are.
func (r *Redactor) Tree(v any) any {
	return r.tree("", v)
}

func (r *Redactor) tree(key string, v any) any {
	if key != "" && r.Key(key) {
		if s, ok := v.(string); !ok || !OnlyReferences(s) {
			return Placeholder
		}
	}
	switch x := v.(type) {
	case string:
		return r.String(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = r.tree(k, e)
		}
		return out
	case map[any]any:
		out := make(map[any]any, len(x))
		for k, e := range x {
			ks, _ := k.(string)
			out[k] = r.tree(ks, e)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[k] = r.value(k, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.tree("", e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = r.String(e)
		}
		return out
	}
	return v
}

// OnlyReferences reports whether s is made only of ${env:…} and ${file:…}
// references (at least one), with no literal text between them except
// the scheme word "Bearer " in front: such a value names where a secret
// lives and holds none of it.
func OnlyReferences(s string) bool {
	s = strings.TrimPrefix(s, "Bearer ")
	if s == "" {
		return false
	}
	for s != "" {
		if !strings.HasPrefix(s, "${env:") && !strings.HasPrefix(s, "${file:") {
			return false
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return false
		}
		s = s[end+1:]
	}
	return true
}
