package redact

// Match is match, for the black-box tests and the fuzz target.
var Match = match
