package lb_test

import (
	"fmt"
	"time"

	"github.com/grpcbench/grpcbench/lb"
)

// ServiceConfig renders a policy as the JSON service config grpc-go reads
// (checked by grpc-go's own parsers); DialOptions wraps it for
// grpc.NewClient.
func ExampleConfig_ServiceConfig() {
	period := 500 * time.Millisecond
	for _, cfg := range []lb.Config{
		{},
		{Policy: lb.LeastRequest, ChoiceCount: 3},
		{Policy: lb.RoundRobin, HealthCheck: true},
		{Policy: lb.WeightedRoundRobin, WeightUpdatePeriod: &period},
		{Policy: lb.RingHash, HashHeader: "x-user-key"},
	} {
		js, err := cfg.ServiceConfig()
		fmt.Println(js, err)
	}
	// Output:
	// {"loadBalancingConfig":[{"round_robin":{}}]} <nil>
	// {"loadBalancingConfig":[{"least_request_experimental":{"choiceCount":3}}]} <nil>
	// {"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":""}} <nil>
	// {"loadBalancingConfig":[{"weighted_round_robin":{"weightUpdatePeriod":"0.5s"}}]} <nil>
	// {"loadBalancingConfig":[{"ring_hash_experimental":{"requestHashHeader":"x-user-key"}}]} <nil>
}
