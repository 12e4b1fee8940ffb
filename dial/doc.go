// Package dial owns everything about a client's connections except
// balancing: where they go (one gRPC target or a list of addresses behind
// one resolver), transport security (TLS, mutual TLS), per-call
// credentials (a bearer token, metadata values from the environment or
// files), transport knobs (keepalive, HTTP/2 windows, connect backoff, user
// agent), counters of connections and handshakes, and a prompt
// reachability check. Balancing policies are package lb's; per-call options
// (timeout, message sizes, plain metadata) are package client's.
//
// # YAML
//
// A scenario carries Target under server: and Config's fields directly
// under client:
//
//	server:
//	  target: checkout.internal:8443     # host:port, a DNS name (port 443),
//	                                     # dns:///name:port, unix:///abs/path,
//	                                     # unix:relative, unix-abstract:name,
//	                                     # passthrough:///host:port
//	  # targets: [10.0.0.5:8443, 10.0.0.6:8443, unix:///run/b.sock]
//	  #                                  # a list behind one resolver (not with target)
//	  authority: checkout.internal       # :authority override (and TLS name)
//	client:
//	  tls:                               # absent: plaintext; tls: {} = system roots
//	    ca_file: ca.pem                  # CAs verifying the server (default: system roots)
//	    cert_file: client.pem            # client certificate for mutual TLS ...
//	    key_file: client-key.pem         # ... and its key: both or neither
//	    server_name: checkout.internal   # name verified and sent as SNI
//	    insecure_skip_verify: false      # tests only; not with ca_file
//	    min_version: "1.2"               # "1.2" (default) or "1.3"
//	  credentials:
//	    bearer_token_env: API_TOKEN      # or bearer_token_file: token.txt
//	  insecure_credentials: false        # allow credentials over plaintext
//	  metadata:                          # (client.CallOptions) values may reference secrets
//	    authorization: "Bearer ${env:API_TOKEN}"
//	    x-api-key: "${file:/run/secrets/key}"
//	  conn:
//	    keepalive: {time: 30s, timeout: 10s, permit_without_stream: false}
//	    initial_window_size: 1048576     # 0: grpc-go's dynamic (BDP) windows; else >= 65535
//	    initial_conn_window_size: 1048576
//	    connect_backoff: {base_delay: 1s, multiplier: 1.6, jitter: 0.2, max_delay: 120s, min_connect_timeout: 20s}
//	    user_agent: checkout-bench/1.0
//	  redact: [x-session-id, "*-secret"] # added to authorization, cookie, x-api-key, *-token
//
// # Invariants
//
//   - Validate reads every file and environment variable it names (TLS
//     files, token source), so a bad input is refused with its field path
//     before any load is sent. Errors never quote a secret.
//   - A credential — the bearer token, or a metadata value containing a
//     ${env:NAME} or ${file:path} reference — is sent as per-RPC
//     credentials and refused over plaintext unless insecure_credentials
//     is true (Validate, CheckMetadata, NewDialer and grpc-go itself each
//     refuse it). "$${" writes a literal "${".
//   - A list of targets is one lb.Resolver serving every connection of a
//     stack, so a balancing policy spreads calls over the addresses; each
//     address carries its own TLS server name. Unix socket entries work in
//     a list: the Dialer's context dialer dials "unix" for unix: addresses
//     and "tcp" otherwise. Because it dials directly, grpc-go's HTTP
//     CONNECT proxy support (HTTPS_PROXY) is not used.
//   - Stats counts per Dialer (one per client stack): connections opened,
//     dial errors, TLS handshakes done and failed, the negotiated version
//     and cipher, the last errors. It costs atomics per connection, nothing
//     per call. Over TLS, Handshakes == Connections when none failed.
//   - Probe opens its own connections (not counted in Stats), waits for
//     READY within a deadline and otherwise returns ErrUnreachable with the
//     reason: the dial or handshake error, or grpc-go's connection error
//     (learnt from a fail-fast call that fails inside the client).
//   - The tls.server_name is the name verified whatever the authority;
//     the authority (server.authority) is the :authority header and, when
//     server_name is absent, the name verified.
//
// Redaction of secrets in what grpcbench writes is package
// internal/redact; Config.Redactor builds one from Config.Redact and the
// secret values (Metadata.SecretValues, Dialer.SecretValues).
package dial
