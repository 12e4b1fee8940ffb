package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/grpcbench/grpcbench/internal/version"
)

func runVersion(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "version", "[--json]", "Print the version, commit, Go and grpc-go versions.")
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("version takes no arguments, got %q", fs.Args())
	}
	i := version.Get()
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(i)
	}
	commit := i.Commit
	if i.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(e.stdout, "grpcbench %s\ncommit    %s\ngo        %s\ngrpc-go   %s\n", i.Version, commit, i.GoVersion, i.GRPCVersion)
	return nil
}
