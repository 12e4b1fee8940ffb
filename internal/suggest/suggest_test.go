package suggest

import "testing"

func TestClosest(t *testing.T) {
	known := []string{"max_attempts", "base_delay", "GetUser", "UnaryCall"}
	for _, tt := range []struct {
		got, want string
		ok        bool
	}{
		{"max_atempts", "max_attempts", true},
		{"GetUsr", "GetUser", true},
		{"unarycall", "UnaryCall", true},
		{"completely_else", "", false},
	} {
		got, ok := Closest(tt.got, known)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", tt.got, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := Closest("x", nil); ok {
		t.Error("Closest with no names suggested something")
	}
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"GetUser", "GetUser", 0}} {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
