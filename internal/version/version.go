package version

import (
	"runtime"
	"runtime/debug"

	"google.golang.org/grpc"
)

// Version and Commit are set at build time with
// -ldflags "-X github.com/grpcbench/grpcbench/internal/version.Version=v1.2.3 -X ...Commit=abc".
// When unset, Commit falls back to the VCS revision Go embeds in the binary.
var (
	Version = "dev"
	Commit  = ""
)

// Info describes the running build.
type Info struct {
	Version     string `json:"version"`
	Commit      string `json:"commit"`
	Modified    bool   `json:"modified,omitempty"`
	GoVersion   string `json:"go_version"`
	GRPCVersion string `json:"grpc_version"`
}

// Get returns the running build's Info.
func Get() Info {
	i := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version(), GRPCVersion: grpc.Version}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if i.Commit == "" {
					i.Commit = s.Value
				}
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}
