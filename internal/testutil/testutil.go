// Package testutil holds the small helpers grpcbench's package tests
// share: waiting for a condition with a deadline instead of sleeping,
// checking the field errors a Validate method returns, a buffer safe for
// concurrent writers, and golden files (the -update flag rewrites them).
//
// It imports nothing of grpcbench but package field, so every package's
// tests may use it, internal tests of fakeserver included (which
// internal/testserver, importing fakeserver, cannot serve).
package testutil

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/field"
)

// Eventually calls cond until it returns true and fails t, naming what it
// waited for, when timeout passes first. It polls every millisecond at
// first, backing off to every 20 ms, so a condition that holds soon is seen
// soon and a slow one costs little CPU. It must be called from the test's
// own goroutine.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// FieldErrors checks what a Validate method returned: with no want, err
// must be nil; otherwise err must hold exactly len(want) errors (the leaves
// of its errors.Join tree, in order), each a *field.Error whose text
// ("path: message") starts with the matching want.
func FieldErrors(t testing.TB, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("error %v, want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	got := field.Flatten(err)
	if len(got) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v\nwant %q", len(got), len(want), err, want)
	}
	for i, e := range got {
		var fe *field.Error
		if !errors.As(e, &fe) {
			t.Errorf("error %d (%v) is not a *field.Error", i, e)
		}
		if !strings.HasPrefix(e.Error(), want[i]) {
			t.Errorf("error %d = %q, want prefix %q", i, e.Error(), want[i])
		}
	}
}

// Buffer is a bytes.Buffer safe for concurrent writers (a child process's
// stdout and stderr, a command's goroutine) and a reading test. The zero
// Buffer is empty and ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Update is the -update flag of every test binary that imports testutil:
// golden files and generated test data are rewritten instead of checked.
var Update = flag.Bool("update", false, "rewrite golden files and generated test data in testdata")

// Golden compares got with the file testdata/name, or writes got there
// when the test runs with -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
