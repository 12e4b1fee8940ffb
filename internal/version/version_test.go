package version

import (
	"runtime"
	"testing"

	"google.golang.org/grpc"
)

func TestGet(t *testing.T) {
	i := Get()
	if i.Version == "" || i.Commit == "" || i.GoVersion != runtime.Version() || i.GRPCVersion != grpc.Version {
		t.Fatalf("Get() = %+v", i)
	}
	old := Commit
	defer func() { Commit = old }()
	Commit = "abc123"
	if Get().Commit != "abc123" {
		t.Fatal("ldflags commit must win")
	}
}
