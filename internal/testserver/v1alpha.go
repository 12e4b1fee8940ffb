package testserver

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
	v1alphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
)

// registerV1Alpha registers only the old v1alpha reflection service, as
// servers built with older grpc releases do.
func registerV1Alpha(s *grpc.Server) {
	v1alphagrpc.RegisterServerReflectionServer(s, reflection.NewServer(reflection.ServerOptions{Services: s}))
}
