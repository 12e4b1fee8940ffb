package scenarios

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// The protosets the bad-scenario catalogue refers to are generated from
// the descriptors compiled into the binary; this test keeps them current
// (go test -run TestProtosetTestdata -update rewrites them).
func TestProtosetTestdata(t *testing.T) {
	dir := t.TempDir()
	for name, p := range map[string]string{
		"user.protoset":    testserver.WriteProtoset(t, dir, "user.protoset", true, userpb.File_user_proto),
		"interop.protoset": testserver.WriteProtoset(t, dir, "interop.protoset", true, testserver.InteropFile()),
	} {
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "bad", "protos", name)
		if *testutil.Update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale (%v): run go test ./scenarios -run TestProtosetTestdata -update", path, err)
		}
	}
}
