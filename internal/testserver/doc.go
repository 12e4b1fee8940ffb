// Package testserver starts the servers grpcbench's tests call and stops
// them when the test ends: the fake server cluster, grpc-go's own interop
// TestService, any *grpc.Server a test builds (over TCP on 127.0.0.1, or
// bufconn for unit tests), and external servers run as child processes
// (etcd, Prometheus). It is the one copy of the "start a server and dial
// it" setup the package tests share, in the manner of grpc-go's
// internal/stubserver: every helper takes the test's testing.TB, fails it
// on error and registers its own cleanup, so a test never stops anything by
// hand.
//
// Everything listens on 127.0.0.1 (or in memory): tests send no load
// anywhere else. Waiting for a condition and checking field errors are in
// package internal/testutil, which fakeserver's own tests can import.
package testserver
