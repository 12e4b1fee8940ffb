package main

import (
	"context"
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
// under its lock (commit), which the abort takes first, and temporary paths
// registered with it (track) are removed on abort. A nil *fileGuard does
// nothing (in-process tests).
type fileGuard struct {
	sem   chan struct{} // holds a token while a commit runs
	mu    sync.Mutex
	temps map[string]struct{}
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

// track registers a temporary path to remove on abort; the function
// returned unregisters it.
func (g *fileGuard) track(path string) (untrack func()) {
	if g == nil {
		return func() {}
	}
	g.mu.Lock()
	g.temps[path] = struct{}{}
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		delete(g.temps, path)
		g.mu.Unlock()
	}
}

// abort waits up to wait for a commit in progress, then removes every
// tracked temporary path. It keeps the commit lock: nothing is put in place
// after it.
func (g *fileGuard) abort(wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case g.sem <- struct{}{}:
	case <-t.C:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
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
