package calldata

// Test hooks: the template parser the black-box tests and the fuzz target
// drive directly; callers outside reach templates through Compile and
// CompileMetadata.

// Template is a parsed template.
type Template = template

// ParseTemplate parses s.
var ParseTemplate = parseTemplate
