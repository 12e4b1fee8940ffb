package dial

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/grpcbench/grpcbench/field"
)

// Target is where a client stack sends its calls: one gRPC target, or a
// list of addresses that one resolver serves to every connection so a
// balancing policy spreads calls over them. In a scenario it sits under
// server:.
type Target struct {
	// Target is one gRPC target: host:port, a DNS name (port 443 when none
	// is given), dns:///name:port (resolved and re-resolved by grpc-go's
	// DNS resolver), unix:///abs/path, unix:relative/path,
	// unix-abstract:name or passthrough:///host:port.
	Target string `yaml:"target"`
	// Targets is a list of addresses behind one resolver: host:port (a
	// name is looked up at each connect), unix:///abs/path, unix:relative
	// or unix-abstract:name. An empty list is an error.
	Targets []string `yaml:"targets"`
	// Authority overrides the :authority header of every call (and the TLS
	// server name when tls.server_name is not set).
	Authority string `yaml:"authority"`
}

// IsZero reports whether t names no target (target and targets absent).
func (t Target) IsZero() bool { return t.Target == "" && t.Targets == nil }

// Validate reports every problem in t as *field.Error values with paths
// "target", "targets[i]" and "authority". The zero Target is valid (it
// means: no external target).
func (t Target) Validate() error {
	var errs []error
	if t.Target != "" && t.Targets != nil {
		errs = append(errs, field.Errorf("targets", "give target or targets, not both"))
	}
	if t.Target != "" {
		if _, err := parseTarget(t.Target, false); err != nil {
			errs = append(errs, field.Errorf("target", "%v", err))
		}
	}
	if t.Targets != nil && len(t.Targets) == 0 {
		errs = append(errs, field.Errorf("targets", "must list at least one address"))
	}
	seen := make(map[string]int, len(t.Targets))
	for i, s := range t.Targets {
		path := fmt.Sprintf("targets[%d]", i)
		e, err := parseTarget(s, true)
		if err != nil {
			errs = append(errs, field.Errorf(path, "%v", err))
			continue
		}
		if j, dup := seen[e.addr]; dup {
			errs = append(errs, field.Errorf(path, "%q is the same address as targets[%d]", s, j))
		}
		seen[e.addr] = i
	}
	if t.Authority != "" {
		if err := checkAuthority(t.Authority); err != nil {
			errs = append(errs, field.Errorf("authority", "%v", err))
		}
	}
	return errors.Join(errs...)
}

// endpoint is a parsed target.
type endpoint struct {
	// target is what grpc.NewClient gets for a single target.
	target string
	// addr is the address a list entry puts in the resolver: "host:port",
	// "unix:///abs", "unix:rel" or "unix:@name".
	addr string
}

// parseTarget checks one target. inList restricts it to the forms a list
// entry may take (no dns:/// re-resolution, a port required).
func parseTarget(s string, inList bool) (endpoint, error) {
	if s == "" {
		return endpoint{}, errors.New("must not be empty")
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b == 0x7f {
			return endpoint{}, fmt.Errorf("%q holds a space or control character", s)
		}
	}
	scheme, rest, hasScheme := strings.Cut(s, ":")
	if hasScheme {
		switch scheme {
		case "unix", "unix-abstract":
			return parseUnix(s, scheme)
		case "dns":
			if inList {
				return endpoint{}, fmt.Errorf("%q: a list entry is an address (host:port or a unix socket); "+
					"for a name re-resolved by DNS use target: instead of targets:", s)
			}
			return parseDNS(s)
		case "passthrough":
			return parsePassthrough(s)
		}
		if strings.HasPrefix(rest, "//") || !isDigits(rest) && isSchemeWord(scheme) {
			return endpoint{}, fmt.Errorf("%q: unknown scheme %q (want host:port, %s)", s, scheme, schemeForms())
		}
	}
	hostport, err := checkHostPort(s, !inList)
	if err != nil {
		return endpoint{}, err
	}
	return endpoint{target: "dns:///" + hostport, addr: hostport}, nil
}

func schemeForms() string {
	return "dns:///name:port, unix:///abs/path, unix:relative/path, unix-abstract:name or passthrough:///host:port"
}

// isSchemeWord reports whether s could be a URL scheme.
func isSchemeWord(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '+' || b == '-' || b == '.') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535 && s[0] != '+' && s[0] != '-'
}

// parseURL parses s as grpc-go does and returns its endpoint (the path or
// the opaque part) after checking that no query or fragment is given.
func parseURL(s string) (*url.URL, string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, "", fmt.Errorf("%q is not a valid target: %w", s, errors.Unwrap(err))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.Contains(s, "#") {
		return nil, "", fmt.Errorf("%q: a target takes no query (?) or fragment (#)", s)
	}
	ep := u.Path
	if ep == "" {
		ep = u.Opaque
	}
	return u, ep, nil
}

func parseUnix(s, scheme string) (endpoint, error) {
	u, path, err := parseURL(s)
	if err != nil {
		return endpoint{}, err
	}
	if u.Host != "" || u.User != nil {
		return endpoint{}, fmt.Errorf("%q: %s takes no authority: write %s:///abs/path or %s:relative/path", s, scheme, scheme, scheme)
	}
	if path == "" {
		return endpoint{}, fmt.Errorf("%q: missing socket path", s)
	}
	if strings.ContainsRune(path, 0) {
		return endpoint{}, fmt.Errorf("%q: socket path holds a NUL byte", s)
	}
	if scheme == "unix" && strings.HasPrefix(path, "@") {
		// "unix:@name": a leading @ names an abstract socket (Linux).
		if path == "@" {
			return endpoint{}, fmt.Errorf("%q: missing abstract socket name after @", s)
		}
		return endpoint{target: s, addr: "unix:" + path}, nil
	}
	if scheme == "unix-abstract" {
		return endpoint{target: s, addr: "unix:@" + path}, nil
	}
	if filepath.IsAbs(path) {
		return endpoint{target: s, addr: "unix://" + path}, nil
	}
	return endpoint{target: s, addr: "unix:" + path}, nil
}

func parseDNS(s string) (endpoint, error) {
	u, ep, err := parseURL(s)
	if err != nil {
		return endpoint{}, err
	}
	if u.User != nil {
		return endpoint{}, fmt.Errorf("%q: a target takes no user information", s)
	}
	if u.Host != "" {
		if _, err := checkHostPort(u.Host, true); err != nil {
			return endpoint{}, fmt.Errorf("%q: DNS server: %w", s, err)
		}
	}
	hostport, err := checkHostPort(strings.TrimPrefix(ep, "/"), true)
	if err != nil {
		return endpoint{}, fmt.Errorf("%q: %w", s, err)
	}
	return endpoint{target: s, addr: hostport}, nil
}

func parsePassthrough(s string) (endpoint, error) {
	u, ep, err := parseURL(s)
	if err != nil {
		return endpoint{}, err
	}
	if u.Host != "" || u.User != nil {
		return endpoint{}, fmt.Errorf("%q: passthrough takes no authority: write passthrough:///host:port", s)
	}
	hostport, err := checkHostPort(strings.TrimPrefix(ep, "/"), false)
	if err != nil {
		return endpoint{}, fmt.Errorf("%q: %w", s, err)
	}
	return endpoint{target: s, addr: hostport}, nil
}

// checkHostPort checks "host:port" (port 1..65535), or a bare host when
// portOptional (grpc-go's DNS resolver then uses port 443). It returns the
// address as given.
func checkHostPort(s string, portOptional bool) (string, error) {
	host, port, err := net.SplitHostPort(s)
	switch {
	case err == nil:
		if !isPort(port) {
			return "", fmt.Errorf("%q: port must be a number from 1 to 65535", s)
		}
	case !portOptional:
		return "", fmt.Errorf("%q is not host:port (IPv6 addresses go in brackets: [::1]:50051)", s)
	case len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']':
		host = s[1 : len(s)-1]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return "", fmt.Errorf("%q: only an IPv6 address goes in brackets", s)
		}
	case strings.ContainsAny(s, ":[]"):
		return "", fmt.Errorf("%q is not host or host:port (IPv6 addresses go in brackets: [::1]:50051)", s)
	default:
		host = s
	}
	if err := checkHost(host); err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	return s, nil
}

// checkHost accepts an IP address or a DNS name (letters, digits, '-', '_'
// and dots).
func checkHost(h string) error {
	if h == "" {
		return errors.New("missing host")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if strings.Contains(h, ":") {
		return fmt.Errorf("host %q is not an IP address", h)
	}
	for i := 0; i < len(h); i++ {
		b := h[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.') {
			return fmt.Errorf("host %q holds %q: a host is a DNS name or an IP address", h, b)
		}
	}
	return nil
}

// checkAuthority accepts what RFC 3986 allows in an authority, without
// user information.
func checkAuthority(a string) error {
	for i := 0; i < len(a); i++ {
		b := a[i]
		ok := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
			strings.IndexByte("-._~!$&'()*+,;=:[]%", b) >= 0
		if !ok {
			return fmt.Errorf("%q holds %q, which an :authority may not", a, b)
		}
	}
	return nil
}
