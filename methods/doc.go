// Package methods is grpcbench's one model of a gRPC method: its full name,
// its kind (unary, server stream, client stream, bidi) and its input and
// output message descriptors, the same whatever the descriptors came from.
//
// A Set holds the descriptors of one source:
//
//   - Builtin: the compiled-in grpcbench.user.v1.UserService that the fake
//     server implements (the default, so scenarios that name GetUser work
//     without any file);
//   - FromReflection: a server's own descriptors, fetched over gRPC server
//     reflection (grpc.reflection.v1, falling back to v1alpha);
//   - FromProtoset: FileDescriptorSet files, as written by
//     `protoc --descriptor_set_out --include_imports` or `buf build -o`;
//   - FromProtoFiles: .proto sources compiled in-process with
//     bufbuild/protocompile (no protoc at run time), well-known types
//     included.
//
// Set.Lookup resolves the name a user writes — "pkg.Service/Method",
// "pkg.Service.Method", "/pkg.Service/Method", or a short "Service/Method" or
// "Method" when it is unique in the set — into a *Method, or an error that
// lists what the set has and suggests the closest name. Everything here runs
// once, before any load is sent: nothing in this package is on a call's path.
package methods
