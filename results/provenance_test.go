package results

import (
	"runtime"
	"strings"
	"testing"
)

func TestCPUModel(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"x86", "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n", "AMD EPYC 7B13"},
		{"arm Model line", "processor\t: 0\nBogoMIPS\t: 108.00\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n", "Raspberry Pi 4 Model B Rev 1.4"},
		{"mips cpu model", "system type\t: x\ncpu model\t\t: MIPS 24Kc V7.4\n", "MIPS 24Kc V7.4"},
		{"nothing", "processor\t: 0\n", ""},
		{"empty value skipped", "model name\t:\nmodel name\t: Real\n", "Real"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cpuModel(strings.NewReader(tt.in)); got != tt.want {
				t.Fatalf("cpuModel = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCollectProvenance(t *testing.T) {
	args := []string{"run", "q.yaml"}
	p := CollectProvenance(args)
	args[0] = "changed"
	if p.Tool != ToolName || p.GoVersion != runtime.Version() || p.GRPCVersion == "" || p.GOMAXPROCS < 1 ||
		p.NumCPU < 1 || p.OS != runtime.GOOS || p.Arch != runtime.GOARCH || p.Args[0] != "run" {
		t.Fatalf("provenance = %+v", p)
	}
}
