package lb

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/field"
)

// SourceKind names a discovery source in DiscoveryConfig.
type SourceKind string

// The discovery sources.
const (
	// SourceStatic: the addresses known at start, never changed.
	SourceStatic SourceKind = "static"
	// SourceFile: an address file, polled (see File).
	SourceFile SourceKind = "file"
	// SourceEtcd: keys under an etcd prefix, watched (see Etcd).
	SourceEtcd SourceKind = "etcd"
)

// Bounds of DiscoveryConfig.PollInterval.
const (
	minPollInterval = 10 * time.Millisecond
	maxPollInterval = time.Hour
	// maxEtcdDialTimeout bounds EtcdConfig.DialTimeout.
	maxEtcdDialTimeout = time.Minute
)

// DiscoveryConfig chooses where a client learns its backends from while it
// runs (YAML: client.discovery). The zero value is the static source.
type DiscoveryConfig struct {
	// Source is static (the default), file or etcd.
	Source SourceKind `yaml:"source"`
	// File is the address file of the file source (required with it).
	File string `yaml:"file"`
	// Etcd locates the etcd source (required with it).
	Etcd *EtcdConfig `yaml:"etcd"`
	// PollInterval is how often the file source reads its file (default
	// 250ms, at least 10ms); only with source: file, since etcd is watched.
	PollInterval *time.Duration `yaml:"poll_interval"`
}

// EffectiveSource returns Source, with "" replaced by SourceStatic.
func (c DiscoveryConfig) EffectiveSource() SourceKind {
	if c.Source == "" {
		return SourceStatic
	}
	return c.Source
}

// Validate reports every problem in c as *field.Error values with paths
// relative to c ("etcd.endpoints[0]: ..."), joined.
func (c DiscoveryConfig) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	src := c.EffectiveSource()
	switch src {
	case SourceStatic, SourceFile, SourceEtcd:
	default:
		add("source", "unknown source %q (want static, file or etcd)", string(c.Source))
	}
	switch {
	case src == SourceFile && strings.TrimSpace(c.File) == "":
		add("file", "is required with source: file")
	case src != SourceFile && c.File != "":
		add("file", "is used only with source: file (source is %s)", src)
	}
	switch {
	case src == SourceEtcd && c.Etcd == nil:
		add("etcd", "is required with source: etcd (endpoints and prefix)")
	case src != SourceEtcd && c.Etcd != nil:
		add("etcd", "is used only with source: etcd (source is %s)", src)
	case c.Etcd != nil:
		errs = append(errs, field.Prefix("etcd", c.Etcd.Validate()))
	}
	if d := c.PollInterval; d != nil {
		switch {
		case src != SourceFile:
			add("poll_interval", "is used only with source: file (etcd is watched, static never changes)")
		case *d < minPollInterval || *d > maxPollInterval:
			add("poll_interval", "must be between %v and %v, got %v", minPollInterval, maxPollInterval, *d)
		}
	}
	return errors.Join(errs...)
}

// Validate reports every problem in c with paths relative to c.
func (c EtcdConfig) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	if len(c.Endpoints) == 0 {
		add("endpoints", "is required: etcd client URLs such as http://127.0.0.1:2379")
	}
	for i, e := range c.Endpoints {
		if err := validateEtcdEndpoint(e); err != nil {
			add(fmt.Sprintf("endpoints[%d]", i), "%v", err)
		}
	}
	switch p := c.Prefix; {
	case strings.TrimSpace(p) == "":
		add("prefix", "is required, e.g. services/users (endpoints are keys under prefix/)")
	case strings.HasSuffix(p, "/"):
		add("prefix", "%q: leave out the trailing / (keys are prefix/host:port)", p)
	}
	if d := c.DialTimeout; d != nil && (*d <= 0 || *d > maxEtcdDialTimeout) {
		add("dial_timeout", "must be positive and at most %v, got %v", maxEtcdDialTimeout, *d)
	}
	return errors.Join(errs...)
}

// validateEtcdEndpoint accepts "http://host:port" and "host:port".
func validateEtcdEndpoint(e string) error {
	hostport := e
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil {
			return fmt.Errorf("%q: %w", e, err)
		}
		switch u.Scheme {
		case "http":
		case "https":
			return fmt.Errorf("%q: TLS to etcd is not supported; use an http:// endpoint", e)
		default:
			return fmt.Errorf("%q: scheme must be http", e)
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("%q: give only scheme, host and port", e)
		}
		hostport = u.Host
	}
	return validateAddr(hostport)
}

// NewSource returns the Source c describes. static is the address list of
// the static source (the backends known at start); the other sources
// ignore it. Nothing is contacted until the Source's Watch (which Bind
// calls): that is where an unreachable etcd fails, with an error wrapping
// ErrUnreachable.
func (c DiscoveryConfig) NewSource(static []string) (Source, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("lb: invalid discovery config: %w", err)
	}
	switch c.EffectiveSource() {
	case SourceFile:
		return newFileSource(c.File, durOr(c.PollInterval, defaultPollInterval)), nil
	case SourceEtcd:
		return newEtcdSource(*c.Etcd), nil
	}
	return newStaticSource(static...), nil
}

// NewPublisher returns the Publisher that writes where c's source reads: a
// file publisher (each list written atomically), a connected etcd publisher
// (one transaction per change, in the format of etcd's naming/endpoints
// manager; an unreachable etcd fails here, wrapping ErrUnreachable), or,
// for the static source, one that does nothing. Close it when done.
func (c DiscoveryConfig) NewPublisher(ctx context.Context) (Publisher, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("lb: invalid discovery config: %w", err)
	}
	switch c.EffectiveSource() {
	case SourceFile:
		return filePublisher{Path: c.File}, nil
	case SourceEtcd:
		return newEtcdPublisher(ctx, *c.Etcd)
	}
	return nopPublisher{}, nil
}
