// Package yamlx decodes YAML strictly into Go values and reports every problem
// as "file:line: field.path: message".
//
// yaml.v3's own decoder names a line but not the field path, and its
// KnownFields mode stops at the first unknown key. grpcbench's users write
// scenario and fault files by hand, so a mistake must point at the exact field:
//
//	quickstart.yaml:14: client.retry.max_attempts: must be at least 1
//
// Decode walks a *yaml.Node tree with reflection, rejects unknown keys,
// duplicate keys and wrong types, and records the line of every field path it
// visits (Positions). Validation code elsewhere returns field.Error values that
// name a path; Positions.Locate turns them into located errors. Set edits a
// node tree by dotted path, which is how `--set k=v` overrides and matrix
// dimensions are applied before decoding, so they are checked like any other
// field.
package yamlx
