package lb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Update is one event from a Source: a complete new address set, or an
// error (a file that cannot be read or parsed). After an error the previous
// set stays in force.
type Update struct {
	Addrs []string
	Err   error
}

// Source watches a set of backend addresses (the role a registry such as
// Consul plays in production).
type Source interface {
	// Watch checks the source, then returns a channel that delivers the
	// current set first and an Update on every later change. The channel is
	// closed when ctx is done or the source has nothing more to say. An
	// error from Watch itself means the source is unusable from the start.
	Watch(ctx context.Context) (<-chan Update, error)
}

// Static returns a Source that delivers addrs once and then closes its
// channel.
func newStaticSource(addrs ...string) Source { return staticSource(slices.Clone(addrs)) }

type staticSource []string

// Watch implements Source.
func (s staticSource) Watch(context.Context) (<-chan Update, error) {
	if err := validateAddrs(s); err != nil {
		return nil, err
	}
	if len(s) == 0 {
		return nil, errors.New("lb: static source: no addresses")
	}
	ch := make(chan Update, 1)
	ch <- Update{Addrs: slices.Clone([]string(s))}
	close(ch)
	return ch, nil
}

// defaultPollInterval is the File source's poll interval when none is
// given: a change is seen within it (reading a short file four times a
// second costs next to nothing).
const defaultPollInterval = 250 * time.Millisecond

// File returns a Source that reads path, one "host:port" per line (see
// parseAddrList), and watches it by reading it again every pollInterval
// (0: defaultPollInterval): polling works on every file system, and a
// change is delivered within one interval.
// A change in content delivers the new set; a file that disappears, cannot
// be read, fails to parse or lists no address delivers an Update with Err
// and keeps the previous set. Write the file atomically (write a temporary
// file, then rename) so a poll never sees it half written.
func newFileSource(path string, pollInterval time.Duration) Source {
	if pollInterval <= 0 {
		pollInterval = defaultPollInterval
	}
	return &fileSource{path: path, every: pollInterval}
}

type fileSource struct {
	path  string
	every time.Duration
}

// Watch implements Source. The first read happens in Watch: a file that is
// missing or bad at start is an error, not an Update.
func (f *fileSource) Watch(ctx context.Context) (<-chan Update, error) {
	data, addrs, err := f.read()
	if err != nil {
		return nil, err
	}
	ch := make(chan Update, 1)
	ch <- Update{Addrs: addrs}
	go f.poll(ctx, ch, data)
	return ch, nil
}

func (f *fileSource) read() ([]byte, []string, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, nil, fmt.Errorf("lb: address file: %w", err)
	}
	addrs, err := parseAddrList(f.path, data)
	if err != nil {
		return data, nil, err
	}
	if len(addrs) == 0 {
		return data, nil, fmt.Errorf("lb: address file %s lists no address", f.path)
	}
	return data, addrs, nil
}

func (f *fileSource) poll(ctx context.Context, ch chan<- Update, last []byte) {
	defer close(ch)
	t := time.NewTicker(f.every)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, addrs, err := f.read()
		var u Update
		switch {
		case err != nil:
			// Report an error once until it changes or clears.
			if err.Error() == lastErr {
				continue
			}
			lastErr = err.Error()
			u.Err = err
		case lastErr == "" && bytes.Equal(data, last):
			continue
		default:
			lastErr = ""
			last = data
			u.Addrs = addrs
		}
		select {
		case ch <- u:
		case <-ctx.Done():
			return
		}
	}
}

// parseAddrList parses an address list: one "host:port" per line; blank
// lines and lines starting with '#' are skipped, as is a '#' comment after
// an address; surrounding spaces are trimmed. Every bad or repeated address
// is reported as "name:line: message", joined.
func parseAddrList(name string, data []byte) ([]string, error) {
	var addrs []string
	var errs []error
	seen := make(map[string]int)
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, " \t") {
			errs = append(errs, fmt.Errorf("%s:%d: %q: one address per line", name, n, line))
			continue
		}
		if err := validateAddr(line); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, n, err))
			continue
		}
		if prev, dup := seen[line]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: %q: already listed on line %d", name, n, line, prev))
			continue
		}
		seen[line] = n
		addrs = append(addrs, line)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return addrs, nil
}

// Binding is a running Bind; it ends when its context is done, its source
// closes, or (without an error callback) an update fails.
type Binding struct {
	done chan struct{}
	err  error
}

// Done is closed when the binding has ended.
func (b *Binding) Done() <-chan struct{} { return b.done }

// Wait blocks until the binding ends and returns why: the context's error,
// nil when the source closed, or the update error that stopped it.
func (b *Binding) Wait() error {
	<-b.done
	return b.err
}

// Bind feeds the updates of src into r. It starts src, applies the first
// address set before returning (so ClientConns built through r see backends
// at once) and copies later updates in a goroutine until ctx is done or src
// closes its channel. Update errors (a bad file, a bad address) are passed
// to onError and the previous set stays in force; with a nil onError the
// first update error ends the binding and Wait returns it. An error from
// starting src or from its first update is returned by Bind itself.
func Bind(ctx context.Context, src Source, r *Resolver, onError func(error)) (*Binding, error) {
	ctx, cancel := context.WithCancel(ctx)
	ch, err := src.Watch(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	// stop ends the source and waits for it to close its channel.
	stop := func() {
		cancel()
		for range ch {
		}
	}
	b := &Binding{done: make(chan struct{})}
	select {
	case u, ok := <-ch:
		if !ok {
			cancel()
			close(b.done)
			return b, nil
		}
		if u.Err == nil {
			u.Err = r.SetAddrs(u.Addrs)
		}
		if u.Err != nil {
			stop()
			return nil, u.Err
		}
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	}
	go func() {
		defer close(b.done)
		b.err = follow(ctx, ch, r, onError)
		stop()
	}()
	return b, nil
}

func follow(ctx context.Context, ch <-chan Update, r *Resolver, onError func(error)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case u, ok := <-ch:
			if !ok {
				return nil
			}
			if u.Err == nil {
				u.Err = r.SetAddrs(u.Addrs)
			}
			if u.Err != nil {
				if onError == nil {
					return u.Err
				}
				onError(u.Err)
			}
		}
	}
}
