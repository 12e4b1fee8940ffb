package yamlx

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestDecodeCode(t *testing.T) {
	var out struct {
		Code  codes.Code   `yaml:"code"`
		Codes []codes.Code `yaml:"codes"`
	}
	root, err := Parse("t.yaml", []byte("code: UNAVAILABLE\ncodes: [ABORTED, Internal]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode("t.yaml", root, &out); err != nil {
		t.Fatal(err)
	}
	if out.Code != codes.Unavailable || len(out.Codes) != 2 || out.Codes[1] != codes.Internal {
		t.Fatalf("got %+v", out)
	}
	root, _ = Parse("t.yaml", []byte("code: NOPE\n"))
	_, err = Decode("t.yaml", root, &out)
	if err == nil || err.Error() == "" || !contains(err.Error(), "t.yaml:1: code: unknown status code") {
		t.Fatalf("err = %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
