// Package redact keeps secrets out of everything grpcbench writes: results
// JSON, reports, terminal output, Markdown and JUnit.
//
// A Redactor knows two things: key patterns and secret values.
//
//   - Keys: a map key (a metadata header name, or any key of a generic tree)
//     that matches a pattern has its value replaced by Placeholder. Patterns
//     are DefaultKeys (authorization, cookie, x-api-key, *-token) plus the
//     configured ones; matching is case-insensitive and '*' matches any run
//     of characters. A value that is only references (${env:NAME},
//     ${file:path}) is kept as written: the reference names where the
//     secret lives, it is not the secret, and keeping it lets a reader see
//     how a run was configured.
//   - Values: every secret value the Redactor was given (a token read from
//     an environment variable or a file) is replaced by Placeholder
//     wherever it occurs in a string, under any key, in any text passed to
//     String. Values shorter than 6 bytes are redacted by key only,
//     since searching for them in free text would mangle unrelated words.
//
// Redactor methods never modify their input; they return copies. A nil
// *Redactor redacts by DefaultKeys only.
package redact
