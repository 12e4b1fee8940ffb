package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

// output is a file or directory a command will write.
type output struct {
	flag string // the flag that names it, for messages: "-o", "--report"
	path string
	dir  bool // a directory receiving several files (a report)
}

// fileOutput is a file written by a command (results, JUnit, Markdown).
func fileOutput(flag, path string) output { return output{flag: flag, path: path} }

// dirOutput is a directory a command writes files into (a report).
func dirOutput(flag, path string) output { return output{flag: flag, path: path, dir: true} }

// checkOutputs makes sure, before any load is sent or any input is read,
// that every output can be written, so that a long run is not wasted on a
// path that was never writable. For each (empty paths are skipped) it
// creates the directory that will hold it if missing (the write needs it
// anyway), then creates and removes a probe file there; a file output must
// not be an existing directory, a directory output not an existing file.
// A failure is a usage error (exit 2) naming the flag, the absolute path
// and the OS error, e.g.
// "-o /data/x/results.json: cannot be written: mkdir /data/x: not a directory".
func checkOutputs(outs ...output) error {
	for _, o := range outs {
		if o.path == "" {
			continue
		}
		p, err := filepath.Abs(o.path)
		if err != nil {
			return usageErrorf("%s %s: %w", o.flag, o.path, err)
		}
		if err := probe(p, o.dir); err != nil {
			return usageErrorf("%s %s: cannot be written: %w", o.flag, p, err)
		}
	}
	return nil
}

// probe checks that path (absolute) can be written as a file, or as a
// directory receiving files when dir is set.
func probe(path string, dir bool) error {
	where := filepath.Dir(path)
	fi, err := os.Stat(path)
	switch {
	case err == nil && dir && !fi.IsDir():
		return &fs.PathError{Op: "mkdir", Path: path, Err: syscall.ENOTDIR}
	case err == nil && !dir && fi.IsDir():
		return &fs.PathError{Op: "open", Path: path, Err: syscall.EISDIR}
	}
	if dir {
		where = path
	}
	if err := os.MkdirAll(where, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(where, ".grpcbench-probe-*")
	if err != nil {
		return err
	}
	return errors.Join(f.Close(), os.Remove(f.Name()))
}

// writeResults writes run to path atomically ([results.WriteFile]: a
// temporary file renamed into place, removed on any error) as one commit of
// the interrupt guard, so that a second interrupt waits for it. A failure
// is exit 3 with the path and the OS error.
func writeResults(ctx context.Context, path string, run *results.Run) error {
	err := guardFrom(ctx).commit(func() error {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return results.WriteFile(path, run)
	})
	if err != nil {
		return failure(fmt.Errorf("results not written: %w", err))
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, synced and renamed into place, as one commit of the interrupt
// guard: readers see the old file or the whole new one, and no temporary
// file is left on any error.
func writeFileAtomic(ctx context.Context, path string, data []byte) error {
	return guardFrom(ctx).commit(func() (err error) {
		dir, base := filepath.Split(path)
		if dir == "" {
			dir = "."
		}
		f, err := os.CreateTemp(dir, "."+base+".tmp-*")
		if err != nil {
			return err
		}
		defer func() {
			if err != nil {
				_ = f.Close()
				_ = os.Remove(f.Name())
			}
		}()
		if _, err = f.Write(data); err != nil {
			return err
		}
		if err = f.Chmod(0o644); err != nil {
			return err
		}
		if err = f.Sync(); err != nil {
			return err
		}
		if err = f.Close(); err != nil {
			return err
		}
		return os.Rename(f.Name(), path)
	})
}

// errReportInterrupted says a report was abandoned on an interrupt.
var errReportInterrupted = errors.New("not written: interrupted")

// writeReportDir renders a report of runs into dir without ever leaving a
// half-written file there: [report.Write] renders into a temporary
// directory inside dir (made through the interrupt guard, removed whatever
// happens), then every file is renamed into dir, index.html last, as one
// commit of the guard. An interrupt (ctx cancelled) or an error before the
// commit leaves dir as it was.
func writeReportDir(ctx context.Context, dir string, runs []*results.Run, opts report.Options) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", dir, errReportInterrupted)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	g := guardFrom(ctx)
	tmp, remove, err := g.mkdirTemp(dir, ".report-tmp-*")
	if err != nil {
		return err
	}
	defer remove()
	if err := report.Write(ctx, tmp, runs, opts); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", dir, errReportInterrupted)
		}
		return err
	}
	return g.commit(func() error { return moveFiles(tmp, dir, report.IndexFile) })
}

// moveFiles renames every file of src into dst, the file named last after
// all the others.
func moveFiles(src, dst, last string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	sort.SliceStable(ents, func(i, j int) bool { return ents[j].Name() == last && ents[i].Name() != last })
	for _, e := range ents {
		if err := os.Rename(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
