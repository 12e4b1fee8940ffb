package results_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/grpcbench/grpcbench/results"
)

// TestWriteFileDiskFull writes a run onto a full file system (a small
// tmpfs, filled; mounting it needs root): WriteFile fails with ENOSPC
// naming the path, removes its temporary file, and leaves the previous
// results file as it was.
func TestWriteFileDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v\nthis test needs root (CAP_SYS_ADMIN): a full file system cannot be simulated otherwise", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	path := filepath.Join(dir, "results.json")
	if err := results.WriteFile(path, &results.Run{Name: "old"}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := filler.Write(make([]byte, 4096)); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
		if i > 32 {
			t.Fatal("tmpfs not full")
		}
	}
	filler.Close()

	err = results.WriteFile(path, fullRun(t))
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ENOSPC naming %s", err, path)
	}
	onlyFile(t, dir, "filler", "results.json")
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the previous results file changed")
	}
}
