package statuscode

import (
	"testing"

	"google.golang.org/grpc/codes"
)

func TestParse(t *testing.T) {
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
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if got, err := Parse(Name(c)); err != nil || got != c {
			t.Errorf("round trip %v: got %v, %v", c, got, err)
		}
	}
	if Name(99) != "CODE_99" {
		t.Errorf("Name(99) = %q", Name(99))
	}
}
