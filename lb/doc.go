// Package lb configures client-side load balancing for grpc-go: the
// balancing policy as a service config built in code, the dial options that
// go with it, a resolver for a changing set of backends, and small discovery
// sources that feed that resolver.
//
// A Config names a policy (pick_first, round_robin, weighted_round_robin,
// least_request or ring_hash) and its options. Config.ServiceConfig renders
// the JSON service config ({"loadBalancingConfig": [...]}) and checks it with
// grpc-go's own parsers; Config.DialOptions wraps it in a grpc.DialOption.
// This package is only balancing: transport credentials, keepalive, windows
// and connect backoff come from package dial, message size limits from
// client.CallOptions. Nothing in this package dials: callers pass the
// options to grpc.NewClient.
//
// A Resolver serves one set of addresses ("host:port" or unix sockets) to
// every ClientConn built through it, so a pool of N connections sees the
// same membership and every SetAddrs reaches all of them:
//
//	r := lb.NewStaticResolver(addrs...)
//	opts, err := cfg.DialOptions()
//	creds := grpc.WithTransportCredentials(insecure.NewCredentials())
//	cc, err := grpc.NewClient(r.Target(), append(opts, creds, r.DialOption())...)
//	r.SetAddrs(newAddrs) // add or remove backends mid-run
//
// A Source (Static, File) watches a membership list; Bind copies its updates
// into a Resolver.
//
// grpclb is rejected on purpose: it is grpc-go's deprecated look-aside
// protocol, needs a separate grpc.lb.v1.LoadBalancer service that the fake
// server does not serve, and is superseded by xDS.
package lb
