package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The grpcbench binary, built once for the tests that drive the real
// process (signals, exit codes, file system failures) and removed by
// TestMain.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// binary returns the path of the grpcbench binary, building it on first use.
func binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the grpcbench binary")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "grpcbench-test-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "grpcbench")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// quickstart is the demo scenario the process tests run, shortened with
// --set.
const quickstart = "../../scenarios/examples/quickstart.yaml"

// proc is a running grpcbench process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	waitErr        error
}

// start starts the binary with args; the process is killed at the end of
// the test if it is still running.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startCmd(t, binary(t), args...)
}

// startCmd starts the program name with args, as start does.
func startCmd(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(name, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// runBinary runs the binary to completion (within a minute) and returns
// its exit code and output.
func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := start(t, args...)
	code = p.exit(t, time.Minute)
	return code, p.stdout.String(), p.stderr.String()
}

// exit waits for the process to end and returns its exit code. It fails
// the test (killing the process) if it has not ended within d, or if it
// died of a signal.
func (p *proc) exit(t *testing.T, d time.Duration) int {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%v: still running after %v\nstdout:\n%s\nstderr:\n%s", p.cmd.Args, d, p.stdout, p.stderr)
	}
	var ee *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &ee) {
		t.Fatal(p.waitErr)
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("%v: killed by %v\nstderr:\n%s", p.cmd.Args, ws.Signal(), p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// maxRSS returns the peak resident set size of the ended process, in bytes.
func (p *proc) maxRSS() int64 {
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024 // Linux reports KiB
	}
	return 0
}

// selfMaxRSS is this test process's peak RSS. A child started by os/exec
// on Linux shares this process's memory until it execs (vfork), and the
// kernel records that memory's high-water mark as the child's maxrss at
// exec: a child's maxrss is never below it, whatever the child used.
func selfMaxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// waitFor polls cond until it holds; it fails the test after d or if the
// process ends first.
func (p *proc) waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("process ended before %s\nstdout:\n%s\nstderr:\n%s", what, p.stdout, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v\nstdout:\n%s\nstderr:\n%s", what, d, p.stdout, p.stderr)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// sockets returns the number of sockets the process has open (its embedded
// fake server's listeners and both ends of every connection).
func (p *proc) sockets() int {
	dir := "/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// loadFlowing waits until the process's load is flowing: the fake
// server's three listeners are open and at least one client connection is
// established (both of its ends are in the process).
func (p *proc) loadFlowing(t *testing.T) {
	t.Helper()
	p.waitFor(t, "connections to the fake server", 30*time.Second, func() bool { return p.sockets() >= 5 })
}

// recording waits until the process's recorded phase has finished calls,
// as its live metrics count them: run it with --metrics-addr 127.0.0.1:0.
// Open sockets alone (loadFlowing) do not show that: the reachability probe
// connects before any load is sent.
func (p *proc) recording(t *testing.T) {
	t.Helper()
	re := regexp.MustCompile(`metrics: http://([0-9.:]+)/metrics`)
	var addr string
	p.waitFor(t, "the metrics address", 30*time.Second, func() bool {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	p.waitFor(t, "calls in the recorded phase", 30*time.Second, func() bool {
		for k, v := range scrapeValues(t, addr) {
			if strings.HasPrefix(k, "grpcbench_calls_total") && v > 0 {
				return true
			}
		}
		return false
	})
}

// signal sends sig to the process.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new temporary directory,
// read-only if ro, unmounted at the end of the test. Mounting needs root
// (CAP_SYS_ADMIN): without it the test fails and says so, as the disk-full
// and read-only cases cannot be made real otherwise (chmod does not stop
// root).
func mountTmpfs(t *testing.T, size int, ro bool) string {
	t.Helper()
	dir := t.TempDir()
	var flags uintptr
	if ro {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, "size="+strconv.Itoa(size)+",mode=0755"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v\nthis test needs root (CAP_SYS_ADMIN) to mount a small tmpfs: a full or read-only file system cannot be simulated otherwise", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fullTmpfs mounts a small tmpfs and fills it: directories and empty files
// can still be created there (so outputs pass the up-front check), but any
// write fails with ENOSPC.
func fullTmpfs(t *testing.T) string {
	t.Helper()
	dir := mountTmpfs(t, 64<<10, false)
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for i := 0; ; i++ {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return dir
		}
		if i > 64 {
			t.Fatalf("%s is not full after %d KiB", dir, 4*i)
		}
	}
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// noTemporaries fails if dir (recursively) holds a temporary file or
// directory of ours: a results or JUnit temp (".NAME.tmp-…"), a report
// temp (".report-tmp-…") or a probe (".grpcbench-probe-…").
func noTemporaries(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n := d.Name()
		if strings.Contains(n, ".tmp-") || strings.HasPrefix(n, ".report-tmp-") || strings.HasPrefix(n, ".grpcbench-probe-") {
			t.Errorf("temporary left behind: %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
