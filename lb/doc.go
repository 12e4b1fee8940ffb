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
// # Live discovery
//
// A Source (static, file or etcd) watches a membership list; Bind copies
// its updates into a Resolver, applying the first set before it returns.
// The file source polls an address file (every 250ms by default); the etcd
// source lists the keys under a prefix and follows etcd's watch, so a put
// or delete reaches the Resolver within milliseconds. A Publisher writes
// where a Source reads (a file, atomically; etcd, one transaction per
// change, in the format of etcd's naming/endpoints manager).
// DiscoveryConfig (client.discovery in a scenario) builds the pair:
//
//	pub, err := dc.NewPublisher(ctx)         // etcd: connect check
//	err = pub.Publish(ctx, addrs)            // the membership now
//	src, err := dc.NewSource(addrs)          // addrs used by static only
//	b, err := lb.Bind(ctx, src, r, onError)  // etcd unreachable: errors.Is(err, lb.ErrUnreachable)
//
// Invariants: a source's first update is a non-empty, valid set (otherwise
// Watch fails); later, an empty or unreadable membership is an Update with
// Err and the previous set stays in force; a Resolver never holds an
// invalid or repeated address.
//
// # Outlier ejection
//
// Config.OutlierDetection runs the chosen policy as the child of the
// grpcbench_outlier_detection balancer, grpcbench's implementation of gRFC
// A50 (grpc-go's own is internal to its xds package and reports no
// per-endpoint events). The balancer wraps every SubConn the child creates
// and every picker it produces. Each finished call adds one to its endpoint's success or
// failure count — one atomic add on a packed 64-bit word, no lock, no
// allocation. Every Interval a sweep swaps the counts to zero and judges
// them:
//
//   - success rate: among endpoints with ≥ request_volume calls (at least
//     minimum_hosts of them), eject those with rate < mean − stdev_factor·σ
//     (σ the population standard deviation of the rates);
//   - failure percentage: among ≥ minimum_hosts endpoints, eject those with
//     ≥ request_volume calls and 100·failures/calls > threshold;
//   - each detected outlier is ejected with probability
//     enforcement_percentage/100, while (ejected+1)·100 ≤
//     max_ejection_percent·endpoints, or when none is ejected yet (Envoy's
//     rule; A50's text would let 2 of 3 go at 34 %);
//   - the n-th ejection in a row lasts min(base·n, max(base, max)); an
//     endpoint returns at the first sweep after that, and n decreases by one
//     at each sweep it spends in service.
//
// An ejected endpoint's SubConns report TRANSIENT_FAILURE to the child's
// health listeners (A61), so the child picks other endpoints; its real
// health state is replayed on return. pick_first ignores health listeners,
// so Validate rejects outlier detection under it. Every ejection and return
// is appended to the EjectionLog the service config names (see
// Config.WithEjectionLog), with its time, ClientConn, address and reason.
//
// grpclb is rejected on purpose: it is grpc-go's deprecated look-aside
// protocol, needs a separate grpc.lb.v1.LoadBalancer service that the fake
// server does not serve, and is superseded by xDS.
package lb
