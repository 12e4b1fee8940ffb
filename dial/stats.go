package dial

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
)

// Stats counts what the connections of one client stack did. It is a
// snapshot; Dialer.Stats returns a fresh one.
type Stats struct {
	// Connections counts transport connections opened (TCP or unix
	// dials that succeeded), reconnects and recycled connections included.
	Connections int64 `json:"connections"`
	// DialErrors counts dials that failed (refused, unreachable, no such
	// host, timed out).
	DialErrors int64 `json:"dial_errors,omitempty"`
	// Handshakes counts TLS handshakes completed; 0 over plaintext. Each
	// connection does one, so Handshakes == Connections over TLS when none
	// failed.
	Handshakes int64 `json:"tls_handshakes,omitempty"`
	// HandshakeErrors counts TLS handshakes that failed.
	HandshakeErrors int64 `json:"tls_handshake_errors,omitempty"`
	// TLSVersion ("TLS 1.3") and CipherSuite ("TLS_AES_128_GCM_SHA256")
	// are those of the last completed handshake.
	TLSVersion  string `json:"tls_version,omitempty"`
	CipherSuite string `json:"tls_cipher_suite,omitempty"`
	// LastDialError and LastHandshakeError are the last failures, with
	// the address: "dial tcp 127.0.0.1:1: connect: connection refused",
	// "TLS handshake with 127.0.0.1:8443: tls: failed to verify
	// certificate: x509: certificate signed by unknown authority".
	LastDialError      string `json:"last_dial_error,omitempty"`
	LastHandshakeError string `json:"last_handshake_error,omitempty"`
}

// stats is the live counterpart of Stats: atomics for counts, a mutex for
// the strings (taken once per connection, never per call).
type stats struct {
	conns, dialErrs, handshakes, handshakeErrs atomic.Int64
	// certAsked is set when a server asked for a client certificate and
	// none is configured: over TLS 1.3 the server's refusal arrives after
	// the handshake, as a closed connection, so this is the telling clue.
	certAsked atomic.Bool

	mu               sync.Mutex
	version, cipher  string
	lastDialErr      string
	lastHandshakeErr string
}

func (s *stats) connected() { s.conns.Add(1) }

func (s *stats) dialFailed(err error) {
	s.dialErrs.Add(1)
	s.mu.Lock()
	s.lastDialErr = err.Error()
	s.mu.Unlock()
}

func (s *stats) handshakeDone(st *tls.ConnectionState) {
	s.handshakes.Add(1)
	if st == nil {
		return
	}
	v, c := tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)
	s.mu.Lock()
	s.version, s.cipher = v, c
	s.mu.Unlock()
}

func (s *stats) handshakeFailed(addr net.Addr, err error) {
	s.handshakeErrs.Add(1)
	msg := fmt.Sprintf("TLS handshake with %s: %v", addrString(addr), err)
	s.mu.Lock()
	s.lastHandshakeErr = msg
	s.mu.Unlock()
}

func (s *stats) snapshot() Stats {
	out := Stats{
		Connections:     s.conns.Load(),
		DialErrors:      s.dialErrs.Load(),
		Handshakes:      s.handshakes.Load(),
		HandshakeErrors: s.handshakeErrs.Load(),
	}
	s.mu.Lock()
	out.TLSVersion, out.CipherSuite = s.version, s.cipher
	out.LastDialError, out.LastHandshakeError = s.lastDialErr, s.lastHandshakeErr
	s.mu.Unlock()
	return out
}

// lastError is the most telling recorded failure: a handshake error (the
// dial succeeded) before a dial error.
func (s Stats) lastError() string {
	if s.LastHandshakeError != "" {
		return s.LastHandshakeError
	}
	return s.LastDialError
}

func addrString(a net.Addr) string {
	if a == nil {
		return "?"
	}
	if a.Network() == "unix" {
		name := a.String()
		if strings.HasPrefix(name, "@") {
			return "unix-abstract:" + name[1:]
		}
		return "unix:" + name
	}
	return a.String()
}
