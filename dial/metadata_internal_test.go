package dial

import (
	"strings"
	"testing"

	"github.com/grpcbench/grpcbench/internal/redact"
)

// FuzzExpand checks the reference expander: it never panics; a value
// without "${" is returned as is; a value it expands without a reference
// only had "$${" escapes undone; a value made only of references is a
// secret; an error never quotes what the environment holds.
func FuzzExpand(f *testing.F) {
	const secret = "fuzz-secret-value"
	f.Setenv("DIAL_FUZZ", secret)
	for _, s := range []string{"plain", "Bearer ${env:DIAL_FUZZ}", "$${x}", "$$${env:DIAL_FUZZ}", "${env:", "${file:}",
		"${env:NOPE_NOT_SET}", "${x}", "a${env:DIAL_FUZZ}b${env:DIAL_FUZZ}", "}${"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.Contains(in, "${file:") {
			return // keep the fuzzer away from the file system
		}
		var read []string
		out, isSecret, err := expand(in, &read)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error for %q quotes the secret: %v", in, err)
			}
			return
		}
		if !strings.Contains(in, "${") && (out != in || isSecret) {
			t.Fatalf("expand(%q) = %q, %v; want it unchanged", in, out, isSecret)
		}
		if !isSecret && out != strings.ReplaceAll(in, "$${", "${") {
			t.Fatalf("expand(%q) = %q without a reference", in, out)
		}
		if isSecret != (len(read) > 0) {
			t.Fatalf("expand(%q): secret %v but read %d values", in, isSecret, len(read))
		}
		if redact.OnlyReferences(in) && !isSecret {
			t.Fatalf("expand(%q): only references, yet not a secret", in)
		}
	})
}
