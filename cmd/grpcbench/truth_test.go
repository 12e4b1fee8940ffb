package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/proto/userpb"
	"github.com/grpcbench/grpcbench/results"
)

// Runs that did not do their job do not exit 0, and say why.
func TestFailedCellsFail(t *testing.T) {
	dir := t.TempDir()
	userSet := testserver.WriteProtoset(t, dir, "user.protoset", true, userpb.File_user_proto)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := lis.Addr().String()
	lis.Close()
	interop := testserver.Interop(t, testserver.InteropOptions{})
	tests := []struct {
		name, target string
		want         []string
	}{
		{"nothing listening", closed, []string{"connection refused", "1 cell(s) failed", "cell base#1:"}},
		{"a server without the service", interop, []string{"no call succeeded: UNIMPLEMENTED", "(50 of 50)", "1 cell(s) failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.json")
			start := time.Now()
			code, stdout, stderr := runCLI(context.Background(), "run", "--target", tt.target, "--protoset", userSet,
				"--call", "grpcbench.user.v1.UserService/GetUser", "--rate", "50", "--duration", "1s", "-o", out)
			if took := time.Since(start); took > 1*time.Second+15*time.Second {
				t.Errorf("took %v: a failed target must fail promptly", took)
			}
			if code != exitFailure {
				t.Fatalf("exit %d, want 3\n%s\n%s", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			run, err := results.ReadFile(out)
			if err != nil || len(run.Cells) != 1 || run.Cells[0].Error == "" {
				t.Fatalf("results must mark the failed cell: %v %+v", err, run)
			}
		})
	}
}

// A fault scenario where many calls fail by design passes; above half its
// calls failing, the summary warns even so.
func TestErrorWarningLevel(t *testing.T) {
	for _, tt := range []struct {
		rate string
		warn bool
	}{{"0.3", false}, {"0.7", true}} {
		sc := writeFile(t, "f.yaml", `
load: {rate: 200, duration: 1s}
mix: [{call: GetUser}]
server: {faults: [{error: {code: UNAVAILABLE, rate: `+tt.rate+`}}]}
`)
		code, stdout, stderr := runCLI(context.Background(), "run", sc, "-o", filepath.Join(t.TempDir(), "r.json"))
		if code != exitOK {
			t.Fatalf("rate %s: exit %d\n%s\n%s", tt.rate, code, stdout, stderr)
		}
		if got := strings.Contains(stdout, "% of calls failed"); got != tt.warn {
			t.Errorf("rate %s: warning printed %v, want %v:\n%s", tt.rate, got, tt.warn, stdout)
		}
		if tt.warn && !strings.Contains(stdout, "top errors UNAVAILABLE") {
			t.Errorf("the warning does not name the errors:\n%s", stdout)
		}
	}
}

// Without a terminal, a 12 s cell prints progress lines (every 5 s by
// default) before its result line.
func TestProgressLinesWithoutTerminal(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, stderr := runBinary(t, "run", "--call", "GetUser", "--rate", "50", "--duration", "12s", "-o", out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	progress := 0
	for i, l := range lines {
		switch {
		case strings.Contains(l, "so far"):
			progress++
		case strings.HasPrefix(l, "cell 1/1 base#1: 50 calls/s"):
			if progress < 2 {
				t.Errorf("%d progress lines before the result line (line %d), want at least 2:\n%s", progress, i, stderr)
			}
			return
		}
	}
	t.Errorf("no result line:\n%s", stderr)
}
