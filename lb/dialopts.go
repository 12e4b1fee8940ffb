package lb

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	// Register the client-side health checking function used when the
	// service config holds a healthCheckConfig.
	_ "google.golang.org/grpc/health"
)

// DialOptions returns the grpc.DialOptions that carry c: the default service
// config (policy and health checking), keepalive parameters, flow-control
// windows, default call options for message size limits, connect backoff
// and insecure transport credentials (the fake server speaks plaintext on
// 127.0.0.1). It validates c and does not dial; pass the options, with a
// resolver's DialOption, to grpc.NewClient.
func (c Config) DialOptions() ([]grpc.DialOption, error) {
	return c.DialOptionsWith(nil)
}

// DialOptionsWith is DialOptions with methodConfig entries added to the
// service config (see ServiceConfigWith).
func (c Config) DialOptionsWith(methodConfig []any) ([]grpc.DialOption, error) {
	sc, err := c.ServiceConfigWith(methodConfig)
	if err != nil {
		return nil, err
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(sc),
	}
	if !c.Keepalive.IsZero() {
		opts = append(opts, grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                c.Keepalive.Time,
			Timeout:             c.Keepalive.Timeout,
			PermitWithoutStream: c.Keepalive.PermitWithoutStream,
		}))
	}
	if c.InitialWindowSize != 0 {
		opts = append(opts, grpc.WithInitialWindowSize(c.InitialWindowSize))
	}
	if c.InitialConnWindowSize != 0 {
		opts = append(opts, grpc.WithInitialConnWindowSize(c.InitialConnWindowSize))
	}
	var callOpts []grpc.CallOption
	if c.MaxRecvMsgSize != 0 {
		callOpts = append(callOpts, grpc.MaxCallRecvMsgSize(c.MaxRecvMsgSize))
	}
	if c.MaxSendMsgSize != 0 {
		callOpts = append(callOpts, grpc.MaxCallSendMsgSize(c.MaxSendMsgSize))
	}
	if len(callOpts) > 0 {
		opts = append(opts, grpc.WithDefaultCallOptions(callOpts...))
	}
	if !c.ConnectBackoff.IsZero() {
		b := c.ConnectBackoff.WithDefaults()
		opts = append(opts, grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  b.BaseDelay,
				Multiplier: b.Multiplier,
				Jitter:     *b.Jitter,
				MaxDelay:   b.MaxDelay,
			},
			MinConnectTimeout: b.MinConnectTimeout,
		}))
	}
	return opts, nil
}
