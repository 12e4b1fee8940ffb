package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// syncBuffer collects a command's or a process's output while the test
// reads it.
type syncBuffer = testutil.Buffer

func runCLI(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb syncBuffer
	code = run(ctx, args, &env{stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

// printedAddrs waits (at most 10 s) until the fakeserver command has
// printed n "backend i host:port" lines to out and returns the addresses.
func printedAddrs(t *testing.T, out *syncBuffer, n int) []string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^backend \d+ (127\.0\.0\.1:\d+)$`)
	var addrs []string
	testutil.Eventually(t, 10*time.Second, fmt.Sprintf("%d backend addresses printed", n), func() bool {
		addrs = addrs[:0]
		for _, m := range re.FindAllStringSubmatch(out.String(), -1) {
			addrs = append(addrs, m[1])
		}
		return len(addrs) >= n
	})
	return addrs
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitCodesAndHelp(t *testing.T) {
	bad := writeFile(t, "bad.yaml", "faults:\n  - error: {code: UNAVAILABLE, rate: 2}\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"no args", nil, exitUsage, "", "Commands:"},
		{"help", []string{"--help"}, exitOK, "fakeserver  serve the fault-injecting", ""},
		{"help lists version", []string{"help"}, exitOK, "version     print version", ""},
		{"unknown command", []string{"fakesrv"}, exitUsage, "", `unknown command "fakesrv"`},
		{"version", []string{"version"}, exitOK, "grpc-go   1.", ""},
		{"version json", []string{"version", "--json"}, exitOK, `"grpc_version"`, ""},
		{"version extra arg", []string{"version", "x"}, exitUsage, "", "takes no arguments"},
		{"unknown flag", []string{"fakeserver", "--nope"}, exitUsage, "", "unknown flag: --nope"},
		{"command help", []string{"fakeserver", "--help"}, exitOK, "--faults", ""},
		{"bad fault file", []string{"fakeserver", "--faults", bad}, exitUsage, "", "bad.yaml:2: faults[0].error.rate: must be between 0 and 1, got 2"},
		{"missing fault file", []string{"fakeserver", "--faults", "/nonexistent.yaml"}, exitUsage, "", "nonexistent.yaml"},
		{"bad listen", []string{"fakeserver", "--listen", "nonsense"}, exitUsage, "", "--listen"},
		{"bad backends", []string{"fakeserver", "--backends", "99"}, exitUsage, "", "backends: must be between 1 and 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(context.Background(), tt.args...)
			if code != tt.code || !strings.Contains(out, tt.inStdout) || !strings.Contains(errs, tt.inStderr) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stdout to contain %q and stderr %q",
					code, tt.code, out, errs, tt.inStdout, tt.inStderr)
			}
		})
	}
}

func TestFakeServerCommandServesAndReports(t *testing.T) {
	faults := writeFile(t, "faults.yaml", "- {backend: 1, method: GetUser, error: {code: UNAVAILABLE, every_nth: 2}}\n")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fakeserver", "--backends", "2", "--faults", faults, "--seed", "5"}, &env{stdout: &out, stderr: &errb})
	}()
	addrs := printedAddrs(t, &out, 2)
	c := userpb.NewUserServiceClient(testserver.Dial(t, addrs[1]))
	for range 4 {
		_, _ = c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"backend 1 " + addrs[1] + ": 4 calls", "codes         OK=2 UNAVAILABLE=2", "faults        error/UNAVAILABLE=2"} {
		if !strings.Contains(s, want) {
			t.Errorf("stdout lacks %q:\n%s", want, s)
		}
	}
}

// TestFakeServerBinarySIGINT runs the real binary and stops it with SIGINT.
func TestFakeServerBinarySIGINT(t *testing.T) {
	cmd := exec.Command(binary(t), "fakeserver", "--backends", "3")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	for i := range 3 {
		if !sc.Scan() || !strings.HasPrefix(sc.Text(), "backend ") {
			t.Fatalf("line %d: %q", i, sc.Text())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if !strings.Contains(string(rest), "backend 2 127.0.0.1:") {
		t.Fatalf("counters not printed after SIGINT: %q", rest)
	}
}
