// Package deploy holds grpcbench's Kubernetes manifests (kubernetes/) and
// Dockerfile, and the test that checks them: every manifest decodes
// strictly into the Kubernetes API types, and the pieces fit together (the
// Indexed Job's index reaches --shards N with N = completions =
// parallelism, volumes and mounts match, the report Job merges exactly the
// files the shards write, one image everywhere, the scenario in the
// ConfigMap is valid and splits over N shards).
//
// It is a Go module of its own so that the main module does not depend on
// k8s.io/api.
package deploy
