package dial

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/grpcbench/grpcbench/field"
)

// Metadata is client or call metadata after expanding ${env:NAME} and
// ${file:path} references.
type Metadata struct {
	// Plain holds the values without references, sent as ordinary
	// metadata ("$${" written in the file is "${" here).
	Plain map[string]string
	// Secret holds the values built from references, keyed by lower-case
	// header name. They are credentials: send them as per-RPC credentials
	// (Config.NewDialer, Config.CallCredentials), never print them.
	Secret map[string]string
	// read holds the values read from the environment and files, which
	// may be only part of a Secret value ("Bearer <token>").
	read []string
}

// SecretKeys returns the keys of m.Secret, sorted.
func (m Metadata) SecretKeys() []string {
	keys := make([]string, 0, len(m.Secret))
	for k := range m.Secret {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SecretValues returns the values of m.Secret and every value read from
// the environment or a file to build them, for a redact.Redactor.
func (m Metadata) SecretValues() []string {
	out := make([]string, 0, len(m.Secret)+len(m.read))
	for _, k := range m.SecretKeys() {
		out = append(out, m.Secret[k])
	}
	return append(out, m.read...)
}

// ExpandMetadata splits md into plain values and values built from
// ${env:NAME} / ${file:path} references, which it reads now (a file's
// trailing line break is dropped). A value may mix text and references
// ("Bearer ${env:API_TOKEN}"); "$${" stands for a literal "${". Errors are
// *field.Error values whose path is the key; they never hold a value read
// from the environment or a file.
func ExpandMetadata(md map[string]string) (Metadata, error) {
	out := Metadata{}
	var errs []error
	for _, k := range sortedKeys(md) {
		v, secret, err := expand(md[k], &out.read)
		if err != nil {
			errs = append(errs, field.Errorf(k, "%v", err))
			continue
		}
		if !secret {
			if out.Plain == nil {
				out.Plain = make(map[string]string, len(md))
			}
			out.Plain[k] = v
			continue
		}
		if err := checkSecretValue(k, v); err != nil {
			errs = append(errs, field.Errorf(k, "%v", err))
			continue
		}
		if out.Secret == nil {
			out.Secret = make(map[string]string)
		}
		out.Secret[strings.ToLower(k)] = v
	}
	if err := errors.Join(errs...); err != nil {
		return Metadata{}, err
	}
	return out, nil
}

// CheckMetadata validates the references in md (client or per-call
// metadata) against c: each environment variable must be set and each file
// readable, and a value built from references is a credential, so it is
// refused over plaintext unless InsecureCredentials is set. Errors are
// *field.Error values whose path is the key.
func (c Config) CheckMetadata(md map[string]string) error {
	m, err := ExpandMetadata(md)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range m.SecretKeys() {
		if c.TLS == nil && !c.InsecureCredentials {
			errs = append(errs, field.Errorf(k, "takes its value from ${env:…} or ${file:…}, which makes it a "+
				"credential, and credentials are refused over plaintext: set client.tls, or "+
				"client.insecure_credentials: true to send it in the clear"))
		}
		if k == "authorization" && c.Credentials != nil {
			errs = append(errs, field.Errorf(k, "is already sent by client.credentials; give one of them"))
		}
	}
	return errors.Join(errs...)
}

// expand replaces the references in v and reports whether it held one.
// The values it reads are appended to *read.
func expand(v string, read *[]string) (string, bool, error) {
	if !strings.Contains(v, "${") {
		return v, false, nil
	}
	var b strings.Builder
	secret := false
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			b.WriteString(v)
			break
		}
		if i > 0 && v[i-1] == '$' { // "$${" is a literal "${"
			b.WriteString(v[:i-1])
			b.WriteString("${")
			v = v[i+2:]
			continue
		}
		b.WriteString(v[:i])
		end := strings.IndexByte(v[i:], '}')
		if end < 0 {
			return "", false, fmt.Errorf("unterminated reference %q (want ${env:NAME} or ${file:path})", v[i:])
		}
		ref := v[i+2 : i+end]
		val, err := resolveRef(ref)
		if err != nil {
			return "", false, err
		}
		b.WriteString(val)
		*read = append(*read, val)
		secret = true
		v = v[i+end+1:]
	}
	return b.String(), secret, nil
}

// resolveRef reads one reference body ("env:NAME" or "file:path").
func resolveRef(ref string) (string, error) {
	kind, arg, _ := strings.Cut(ref, ":")
	switch kind {
	case "env":
		if !isEnvName(arg) {
			return "", fmt.Errorf("${env:%s}: %q is not an environment variable name", arg, arg)
		}
		v, ok := os.LookupEnv(arg)
		if !ok {
			return "", fmt.Errorf("${env:%s}: environment variable %s is not set", arg, arg)
		}
		if v == "" {
			return "", fmt.Errorf("${env:%s}: environment variable %s is empty", arg, arg)
		}
		return v, nil
	case "file":
		if arg == "" {
			return "", errors.New("${file:}: missing path")
		}
		return readSecretFile(arg)
	}
	return "", fmt.Errorf("unknown reference ${%s} (want ${env:NAME} or ${file:path})", ref)
}

// readSecretFile reads a secret from path, dropping trailing line breaks.
// Its errors name the path, never the content.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("cannot read %s: %v", path, err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

func isEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_') {
			return false
		}
	}
	return true
}

// checkSecretValue checks that a secret can be sent as the value of header
// k, without ever quoting the value.
func checkSecretValue(k, v string) error {
	if strings.HasSuffix(strings.ToLower(k), "-bin") {
		return nil
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' || b > '~' {
			return fmt.Errorf("the value read for it holds a byte (%#x at offset %d) that a text header cannot carry", b, i)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
