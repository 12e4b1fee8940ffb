// Package version reports what build of grpcbench is running, for the
// version subcommand and the provenance of every results file.
package version
