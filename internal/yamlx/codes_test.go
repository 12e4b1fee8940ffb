package yamlx

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestParseCode(t *testing.T) {
	tests := []struct {
		in      string
		want    codes.Code
		wantErr bool
	}{
		{"UNAVAILABLE", codes.Unavailable, false},
		{"Unavailable", codes.Unavailable, false},
		{"resource_exhausted", codes.ResourceExhausted, false},
		{"ResourceExhausted", codes.ResourceExhausted, false},
		{"CANCELED", codes.Canceled, false},
		{"CANCELLED", codes.Canceled, false},
		{"14", codes.Unavailable, false},
		{"0", codes.OK, false},
		{"17", 0, true},
		{"UNAVAILBLE", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseCode(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseCode(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if got, err := ParseCode(CodeName(c)); err != nil || got != c {
			t.Errorf("round trip %v: got %v, %v", c, got, err)
		}
	}
	if CodeName(99) != "CODE_99" {
		t.Errorf("CodeName(99) = %q", CodeName(99))
	}
}

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
