package main

import (
	"context"
	"fmt"

	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/scenarios"
)

// checkThresholds validates the scenario's thresholds before any load.
func checkThresholds(sp *scenarios.Spec) error {
	if !sp.Scenario.Thresholds.IsZero() {
		return fmt.Errorf("%s: thresholds: not supported yet", sp.File)
	}
	return nil
}

// evaluateThresholds checks the run against the scenario's thresholds.
func evaluateThresholds(_ *env, _ *scenarios.Spec, _ *results.Run) error { return nil }

// writeReport renders the HTML/PNG report.
func writeReport(_ context.Context, _ string, _ []*results.Run) error {
	return fmt.Errorf("the report command has not landed yet")
}
