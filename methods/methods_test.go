package methods_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/methods"
)

func TestBuiltinLookup(t *testing.T) {
	set := methods.Builtin()
	for _, tt := range []struct {
		name, want string
		kind       methods.Kind
		wantErr    string
	}{
		{name: "GetUser", want: "grpcbench.user.v1.UserService/GetUser", kind: methods.Unary},
		{name: "CreateUser", want: "grpcbench.user.v1.UserService/CreateUser", kind: methods.Unary},
		{name: "ListUsers", want: "grpcbench.user.v1.UserService/ListUsers", kind: methods.ServerStream},
		{name: "BatchCreateUsers", want: "grpcbench.user.v1.UserService/BatchCreateUsers", kind: methods.ClientStream},
		{name: "SyncUsers", want: "grpcbench.user.v1.UserService/SyncUsers", kind: methods.Bidi},
		{name: "UserService/GetUser", want: "grpcbench.user.v1.UserService/GetUser", kind: methods.Unary},
		{name: "grpcbench.user.v1.UserService/GetUser", want: "grpcbench.user.v1.UserService/GetUser", kind: methods.Unary},
		{name: "/grpcbench.user.v1.UserService/GetUser", want: "grpcbench.user.v1.UserService/GetUser", kind: methods.Unary},
		{name: "grpcbench.user.v1.UserService.GetUser", want: "grpcbench.user.v1.UserService/GetUser", kind: methods.Unary},
		{name: "GetUsr", wantErr: `unknown method "GetUsr" in the built-in UserService (did you mean "grpcbench.user.v1.UserService/GetUser"?)`},
		{name: "grpcbench.user.v1.UserServic/GetUser", wantErr: `unknown service "grpcbench.user.v1.UserServic" in the built-in UserService (did you mean "grpcbench.user.v1.UserService"?); it has: grpcbench.user.v1.UserService`},
		{name: "grpc.health.v1.Health/Check", wantErr: `unknown service "grpc.health.v1.Health"`},
		{name: "", wantErr: "is not a method name"},
	} {
		m, err := set.Lookup(tt.name)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Lookup(%q) error = %v, want it to contain %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.name, err)
			continue
		}
		if m.Name() != tt.want || m.Kind() != tt.kind || m.FullMethod() != "/"+tt.want {
			t.Errorf("Lookup(%q) = %s %s, want %s %s", tt.name, m.Name(), m.Kind(), tt.want, tt.kind)
		}
		sd := m.StreamDesc()
		if sd.ClientStreams != (tt.kind == methods.ClientStream || tt.kind == methods.Bidi) ||
			sd.ServerStreams != (tt.kind == methods.ServerStream || tt.kind == methods.Bidi) {
			t.Errorf("Lookup(%q).StreamDesc() = %+v for kind %s", tt.name, sd, tt.kind)
		}
	}
}

func TestShortNames(t *testing.T) {
	got := methods.ShortNames([]string{"a.v1.Svc/Get", "b.v1.Svc/Get", "a.v1.Other/Get", "a.v1.Svc/List"})
	want := map[string]string{"a.v1.Svc/Get": "a.v1.Svc/Get", "b.v1.Svc/Get": "b.v1.Svc/Get", "a.v1.Other/Get": "Other/Get", "a.v1.Svc/List": "List"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ShortNames[%q] = %q, want %q", k, got[k], v)
		}
	}
}

func TestProtoset(t *testing.T) {
	dir := t.TempDir()
	good := testserver.WriteProtoset(t, dir, "interop.protoset", true, testserver.InteropFile())
	set, err := methods.FromProtoset(good)
	if err != nil {
		t.Fatal(err)
	}
	for name, kind := range map[string]methods.Kind{
		"grpc.testing.TestService/UnaryCall":           methods.Unary,
		"grpc.testing.TestService/StreamingOutputCall": methods.ServerStream,
		"grpc.testing.TestService/StreamingInputCall":  methods.ClientStream,
		"grpc.testing.TestService.FullDuplexCall":      methods.Bidi,
	} {
		m, err := set.Lookup(name)
		if err != nil || m.Kind() != kind {
			t.Errorf("Lookup(%q) = %v, %v; want kind %s", name, m, err, kind)
		}
	}
	// UnaryCall exists in TestService only, so the bare name resolves;
	// UnimplementedCall exists in two services and does not.
	if _, err := set.Lookup("UnaryCall"); err != nil {
		t.Errorf("Lookup(UnaryCall): %v", err)
	}
	if _, err := set.Lookup("UnimplementedCall"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("Lookup(UnimplementedCall) error = %v, want ambiguous", err)
	}

	noDeps := testserver.WriteProtoset(t, dir, "nodeps.protoset", false, testserver.InteropFile())
	notSet := filepath.Join(dir, "x.protoset")
	if err := os.WriteFile(notSet, []byte("syntax = \"proto3\";\nmessage A {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.protoset")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{noDeps, "--include_imports"},
		{notSet, "not a protoset"},
		{empty, "not a protoset"},
		{filepath.Join(dir, "missing.protoset"), "no such file"},
	} {
		if _, err := methods.FromProtoset(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FromProtoset(%s) error = %v, want %q", filepath.Base(tt.path), err, tt.want)
		}
	}
}

func TestProtoFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("api/shop/common.proto", `syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";
message Cart { string id = 1; google.protobuf.Timestamp updated = 2; }
`)
	main := write("api/shop/cart.proto", `syntax = "proto3";
package shop.v1;
import "shop/common.proto";
message GetCartRequest { string cart_id = 1; }
service Carts {
  rpc GetCart(GetCartRequest) returns (Cart);
  rpc WatchCart(GetCartRequest) returns (stream Cart);
}
`)
	set, err := methods.FromProtoFiles(context.Background(), []string{main}, []string{filepath.Join(dir, "api")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := set.Lookup("shop.v1.Carts/WatchCart")
	if err != nil || m.Kind() != methods.ServerStream || m.Output().FullName() != "shop.v1.Cart" {
		t.Fatalf("Lookup = %v, %v", m, err)
	}

	bad := write("bad/bad.proto", "syntax = \"proto3\";\nmessage A {\n  string x = 1\n}\n")
	_, err = methods.FromProtoFiles(context.Background(), []string{bad}, nil)
	if err == nil || !strings.Contains(err.Error(), "bad.proto:4:1") {
		t.Errorf("syntax error = %v, want bad.proto:4:1", err)
	}
	imp := write("imp/imp.proto", "syntax = \"proto3\";\nimport \"nowhere/x.proto\";\nmessage A {}\n")
	_, err = methods.FromProtoFiles(context.Background(), []string{imp}, nil)
	if err == nil || !strings.Contains(err.Error(), "nowhere/x.proto") || !strings.Contains(err.Error(), "import paths searched") {
		t.Errorf("missing import error = %v", err)
	}
}

func TestReflection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t.Run("fake server v1", func(t *testing.T) {
		_, cc := testserver.FakeConn(t, fakeserver.Config{})
		set, err := methods.FromReflection(ctx, cc)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(set.Services(), ","); !strings.Contains(got, "grpcbench.user.v1.UserService") || !strings.Contains(got, "grpc.health.v1.Health") || strings.Contains(got, "Reflection") {
			t.Errorf("services = %s", got)
		}
		if m, err := set.Lookup("grpc.health.v1.Health/Watch"); err != nil || m.Kind() != methods.ServerStream {
			t.Errorf("Lookup(Health/Watch) = %v, %v", m, err)
		}
	})
	t.Run("interop v1alpha only", func(t *testing.T) {
		cc := testserver.Dial(t, testserver.Interop(t, testserver.InteropOptions{ReflectionV1Alpha: true}))
		set, err := methods.FromReflection(ctx, cc)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := set.Lookup("grpc.testing.TestService/FullDuplexCall"); err != nil || m.Kind() != methods.Bidi {
			t.Errorf("Lookup = %v, %v", m, err)
		}
	})
	t.Run("no reflection", func(t *testing.T) {
		cc := testserver.Dial(t, testserver.Interop(t, testserver.InteropOptions{}))
		_, err := methods.FromReflection(ctx, cc)
		if !errors.Is(err, methods.ErrNoReflection) {
			t.Errorf("err = %v, want ErrNoReflection", err)
		}
	})
}
