package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runCLI(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb syncBuffer
	code = run(ctx, args, &env{stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
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
	var addrs []string
	re := regexp.MustCompile(`(?m)^backend (\d) (127\.0\.0\.1:\d+)$`)
	deadline := time.Now().Add(10 * time.Second)
	for len(addrs) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no addresses printed; stdout %q stderr %q", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
		addrs = nil
		for _, m := range re.FindAllStringSubmatch(out.String(), -1) {
			addrs = append(addrs, m[2])
		}
	}
	cc, err := grpc.NewClient(addrs[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := userpb.NewUserServiceClient(cc)
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
