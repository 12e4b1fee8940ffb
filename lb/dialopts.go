package lb

import (
	"google.golang.org/grpc"

	// Register the client-side health checking function used when the
	// service config holds a healthCheckConfig.
	_ "google.golang.org/grpc/health"
)

// DialOptions returns the grpc.DialOption that carries c: the default
// service config (policy and health checking). It validates c and does not
// dial. Transport credentials and connection knobs come from package dial;
// pass everything, with a resolver's DialOption, to grpc.NewClient.
func (c Config) DialOptions() ([]grpc.DialOption, error) {
	return c.DialOptionsWith(nil)
}

// DialOptionsWith is DialOptions with methodConfig entries added to the
// service config (see ServiceConfigWith).
func (c Config) DialOptionsWith(methodConfig []any) ([]grpc.DialOption, error) {
	return c.DialOptionsFor(methodConfig, nil)
}

// DialOptionsFor is DialOptionsWith with gRPC's retryThrottling (see
// ServiceConfigFor).
func (c Config) DialOptionsFor(methodConfig []any, retryThrottling any) ([]grpc.DialOption, error) {
	sc, err := c.ServiceConfigFor(methodConfig, retryThrottling)
	if err != nil {
		return nil, err
	}
	return []grpc.DialOption{grpc.WithDefaultServiceConfig(sc)}, nil
}
