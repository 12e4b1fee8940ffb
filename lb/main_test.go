package lb_test

import (
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// insecureCreds is the plaintext transport the tests dial the fake server
// with (lb itself sets no transport credentials).
var insecureCreds = grpc.WithTransportCredentials(insecure.NewCredentials())

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
