package dial_test

import (
	"fmt"

	"github.com/grpcbench/grpcbench/dial"
)

// A target as a user writes it becomes the gRPC target a client stack
// dials: host:port and bare names go through grpc-go's DNS resolver (port
// 443 when none is given), unix sockets and explicit schemes keep their
// meaning. Mistakes are refused with the field and the forms accepted.
func ExampleTarget() {
	for _, s := range []string{
		"10.0.0.5:8443",
		"checkout.internal",
		"dns:///checkout.internal:8443",
		"unix:///run/checkout.sock",
		"unix-abstract:checkout",
		"[::1]:50051",
		"http://checkout:80",
		"checkout.internal:99999",
	} {
		d, err := dial.Config{}.NewDialer(dial.Target{Target: s}, nil)
		if err != nil {
			fmt.Printf("%-31s error: %v\n", s, err)
			continue
		}
		fmt.Printf("%-31s %s\n", s, d.Target())
	}
	// Output:
	// 10.0.0.5:8443                   dns:///10.0.0.5:8443
	// checkout.internal               dns:///checkout.internal
	// dns:///checkout.internal:8443   dns:///checkout.internal:8443
	// unix:///run/checkout.sock       unix:///run/checkout.sock
	// unix-abstract:checkout          unix-abstract:checkout
	// [::1]:50051                     dns:///[::1]:50051
	// http://checkout:80              error: dial: target: "http://checkout:80": unknown scheme "http" (want host:port, dns:///name:port, unix:///abs/path, unix:relative/path, unix-abstract:name or passthrough:///host:port)
	// checkout.internal:99999         error: dial: target: "checkout.internal:99999": port must be a number from 1 to 65535
}
