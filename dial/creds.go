package dial

import (
	"context"
	"crypto/tls"
	"net"
	"strings"

	"google.golang.org/grpc/credentials"
)

// headerCreds sends a fixed set of headers with every call as per-RPC
// credentials. The map is built once and handed to grpc-go as is (grpc-go
// only reads it), so a call costs no allocation here.
type headerCreds struct {
	md       map[string]string
	insecure bool
}

func newHeaderCreds(md map[string]string, insecure bool) *headerCreds {
	h := &headerCreds{md: make(map[string]string, len(md)), insecure: insecure}
	for k, v := range md {
		h.md[strings.ToLower(k)] = v
	}
	return h
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (h *headerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return h.md, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials:
// grpc-go refuses to send these headers over plaintext unless the scenario
// said insecure_credentials: true.
func (h *headerCreds) RequireTransportSecurity() bool { return !h.insecure }

// countingCreds wraps transport credentials (TLS or insecure) to count
// handshakes into a Stats and to verify the server against ServerName
// whatever authority grpc-go passes.
type countingCreds struct {
	inner      credentials.TransportCredentials
	st         *stats
	isTLS      bool
	serverName string // tls.server_name: the name verified, overriding the authority
	infoName   string // what Info reports as ServerName (grpc-go's default :authority)
}

// ClientHandshake implements credentials.TransportCredentials.
func (c *countingCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if c.serverName != "" {
		authority = c.serverName
	}
	conn, info, err := c.inner.ClientHandshake(ctx, authority, raw)
	if !c.isTLS {
		return conn, info, err
	}
	if err != nil {
		if ctx.Err() == nil { // not a handshake cut short by Close
			c.st.handshakeFailed(raw.RemoteAddr(), err)
		}
		return nil, nil, err
	}
	var state *tls.ConnectionState
	if ti, ok := info.(credentials.TLSInfo); ok {
		state = &ti.State
	}
	c.st.handshakeDone(state)
	return conn, info, nil
}

// ServerHandshake implements credentials.TransportCredentials.
func (c *countingCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.inner.ServerHandshake(raw)
}

// Info implements credentials.TransportCredentials.
func (c *countingCreds) Info() credentials.ProtocolInfo {
	info := c.inner.Info()
	info.ServerName = c.infoName //nolint:staticcheck // grpc-go still reads it for the default authority
	return info
}

// Clone implements credentials.TransportCredentials; the clone counts into
// the same Stats.
func (c *countingCreds) Clone() credentials.TransportCredentials {
	cl := *c
	cl.inner = c.inner.Clone()
	return &cl
}

// OverrideServerName implements credentials.TransportCredentials (unused
// by grpc-go).
func (c *countingCreds) OverrideServerName(name string) error {
	c.serverName, c.infoName = name, name
	return nil
}
