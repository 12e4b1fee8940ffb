// Package certs makes throw-away certificate authorities and certificates in
// memory with crypto/x509, for tests, demos and the fake server's
// self-signed mode.
//
// Every key is a fresh ECDSA P-256 key generated at call time; nothing is
// read from or meant to be committed to the repository. A CA signs server
// certificates (with DNS and IP subject alternative names) and client
// certificates (for mTLS). Pair.Write stores a certificate and its key as
// PEM files (the key with mode 0600) in a directory the caller owns, usually
// t.TempDir().
//
// Invariants: certificates are valid from one hour before creation (clock
// skew) for 24 hours; serial numbers are random 128-bit values; a server
// certificate carries ExtKeyUsageServerAuth, a client certificate
// ExtKeyUsageClientAuth, so crypto/tls refuses to use one as the other.
package certs
