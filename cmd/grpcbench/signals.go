package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// exitAborted is the exit code after a second interrupt: 128 + SIGINT, as
// a shell reports a command killed by Ctrl-C.
const exitAborted = 130

// abortWait bounds how long a second interrupt waits for a file commit in
// progress (a results file rename, a report's files) before exiting anyway.
const abortWait = 5 * time.Second

// fileGuard lets a second interrupt end the process at once without
// leaving a half-written or temporary file behind: files are put in place
// under its lock (commit), which the abort takes first, and temporary
// directories made through it (mkdirTemp) are removed on abort; once the
// abort has begun, neither a commit nor a temporary directory can start. A
// nil *fileGuard does nothing (in-process tests).
type fileGuard struct {
	sem     chan struct{} // holds a token while a commit runs
	mu      sync.Mutex    // guards temps and aborted
	temps   map[string]struct{}
	aborted bool
}

func newFileGuard() *fileGuard {
	return &fileGuard{sem: make(chan struct{}, 1), temps: map[string]struct{}{}}
}

// commit runs fn, which puts files in place; an abort waits for it.
func (g *fileGuard) commit(fn func() error) error {
	if g == nil {
		return fn()
	}
	g.sem <- struct{}{}
	defer func() { <-g.sem }()
	return fn()
}

// mkdirTemp makes a temporary directory in dir (os.MkdirTemp) that an
// abort removes. The function returned removes it and forgets it.
func (g *fileGuard) mkdirTemp(dir, pattern string) (string, func(), error) {
	if g == nil {
		tmp, err := os.MkdirTemp(dir, pattern)
		return tmp, func() { _ = os.RemoveAll(tmp) }, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.aborted {
		return "", nil, errAborted
	}
	tmp, err := os.MkdirTemp(dir, pattern)
	if err != nil {
		return "", nil, err
	}
	g.temps[tmp] = struct{}{}
	return tmp, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		_ = os.RemoveAll(tmp)
		delete(g.temps, tmp)
	}, nil
}

// errAborted is returned to work that starts after an abort began.
var errAborted = errors.New("aborted")

// abort waits up to wait for a commit in progress, then removes every
// temporary directory made through g. It keeps the commit lock, and no
// temporary directory can be made after it.
func (g *fileGuard) abort(wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case g.sem <- struct{}{}:
	case <-t.C:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.aborted = true
	for p := range g.temps {
		_ = os.RemoveAll(p)
	}
}

type guardKey struct{}

// guardFrom returns the process's file guard carried by ctx (nil if none).
func guardFrom(ctx context.Context) *fileGuard {
	g, _ := ctx.Value(guardKey{}).(*fileGuard)
	return g
}

// handleInterrupts returns a context carrying g that the first SIGINT or
// SIGTERM cancels: the command stops its load, writes the results measured
// so far (marked partial) and exits 3. A second SIGINT or SIGTERM aborts:
// it waits for a file commit in progress (at most abortWait), removes the
// temporary files g tracks and calls exit(exitAborted). Results already
// written stay valid: every file is put in place by an atomic rename. stop
// releases the signals.
func handleInterrupts(parent context.Context, stderr io.Writer, g *fileGuard, exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.WithValue(parent, guardKey{}, g))
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-done:
			return
		case s := <-sigs:
			fmt.Fprintf(stderr, "\ngrpcbench: %v: stopping and keeping what was measured (again to abort)\n", s)
			cancel()
		}
		select {
		case <-done:
		case s := <-sigs:
			fmt.Fprintf(stderr, "grpcbench: %v again: aborting\n", s)
			g.abort(abortWait)
			exit(exitAborted)
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		wg.Wait()
		cancel()
	}
}
