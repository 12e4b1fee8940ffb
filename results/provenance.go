package results

import (
	"bufio"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"google.golang.org/grpc"
)

// toolName is the Provenance.Tool of runs written by grpcbench.
const toolName = "grpcbench"

// CollectProvenance describes the running program and machine: the main
// module's version and VCS revision (from the build info, when the binary was
// built with VCS stamping), Go and grpc-go versions, GOMAXPROCS, CPU count and
// model, OS, architecture and host name. args is recorded as given
// (normally os.Args[1:]). Fields that cannot be determined are left empty.
func CollectProvenance(args []string) Provenance {
	p := Provenance{
		Tool:        toolName,
		GoVersion:   runtime.Version(),
		GRPCVersion: grpc.Version,
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		NumCPU:      runtime.NumCPU(),
		OS:          runtime.GOOS,
		Arch:        runtime.GOARCH,
		Args:        slices.Clone(args),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		p.Version = bi.Main.Version
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				p.Commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if p.Commit != "" && modified {
			p.Commit += "+dirty"
		}
	}
	if h, err := os.Hostname(); err == nil {
		p.Hostname = h
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		p.CPU = cpuModel(f)
		_ = f.Close()
	}
	return p
}

// cpuModel returns the first CPU model name in /proc/cpuinfo content
// ("model name" on x86, "Model" or "Hardware" or "cpu model" elsewhere).
func cpuModel(r io.Reader) string {
	keys := []string{"model name", "cpu model", "Model", "Hardware", "cpu"}
	found := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if _, dup := found[k]; !dup {
			found[k] = v
		}
		if k == "model name" {
			break
		}
	}
	for _, k := range keys {
		if v, ok := found[k]; ok {
			return v
		}
	}
	return ""
}
