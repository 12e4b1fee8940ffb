package testserver

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/internal/testutil"
)

// Process is an external program a test runs as a server (etcd,
// Prometheus). Its standard output and error are collected for failure
// messages.
type Process struct {
	cmd    *exec.Cmd
	out    testutil.Buffer
	exited chan struct{}
	err    error // cmd.Wait's result, once exited is closed
}

// StartProcess starts name with args. When t ends the process is sent
// SIGTERM and, if it has not exited within 10 s, killed; the cleanup waits
// for it either way.
func StartProcess(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	p := &Process{cmd: exec.Command(name, args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// Output returns what the process has written so far (stdout and stderr).
func (p *Process) Output() string { return p.out.String() }

// Exited returns whether the process has ended, and cmd.Wait's error if so.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.exited:
		return true, p.err
	default:
		return false, nil
	}
}
