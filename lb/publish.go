package lb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Publisher writes a membership list where a Source reads it: the other
// side of discovery, used by whoever changes the backend set (the scenario
// runner when the fake server's backends change).
type Publisher interface {
	// Publish replaces the published list with addrs.
	Publish(ctx context.Context, addrs []string) error
	// Close releases the publisher's resources (an etcd client).
	Close() error
}

// publishFile writes addrs to path, one a line in the format parseAddrList
// reads, atomically: a temporary file in the same directory is written,
// synced and renamed over path, so a File source never reads it half
// written. The addresses must be valid and distinct.
func publishFile(path string, addrs []string) error {
	if err := validateAddrs(addrs); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# backends, one host:port a line (written by grpcbench)\n")
	for _, a := range addrs {
		b.WriteString(a)
		b.WriteByte('\n')
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("lb: publish %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.WriteString(b.String())
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("lb: publish %s: %w", path, err)
	}
	return nil
}

// filePublisher publishes to an address file with publishFile.
type filePublisher struct {
	// Path is the address file.
	Path string
}

// Publish implements Publisher.
func (p filePublisher) Publish(_ context.Context, addrs []string) error {
	return publishFile(p.Path, addrs)
}

// Close implements Publisher; there is nothing to release.
func (p filePublisher) Close() error { return nil }

// nopPublisher is the publisher of a static source: nothing reads it.
type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, []string) error { return nil }
func (nopPublisher) Close() error                            { return nil }
