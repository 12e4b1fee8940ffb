package yamlx

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// FieldError is a problem with the value at one field path, before it is
// located in a file. Validation functions return it (or several, joined with
// errors.Join) so a loader can attach the file and line.
type FieldError struct {
	Path string // dotted path, e.g. "client.retry.max_attempts" or "faults[2].error.rate"
	Msg  string
}

// Error implements error as "path: message".
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Fieldf returns a *FieldError for path with a formatted message.
func Fieldf(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Join joins two path segments with a dot, leaving out empty ones. A segment
// that starts with "[" (an index) is appended without a dot.
func Join(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case name == "":
		return prefix
	case strings.HasPrefix(name, "["):
		return prefix + name
	}
	return prefix + "." + name
}

// Prefix returns err with prefix put in front of the path of every FieldError
// it holds (through errors.Join trees and fmt.Errorf %w wrapping). Other
// errors are turned into a FieldError at prefix. Prefix returns nil for nil.
//
// Errors from other packages that name a field (the Field/Msg shape of the
// retry and breaker packages) are recognised through the FieldNamer interface.
func Prefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range flatten(err) {
		var fe *FieldError
		var fn FieldNamer
		switch {
		case errors.As(e, &fe):
			out = append(out, &FieldError{Path: Join(prefix, fe.Path), Msg: fe.Msg})
		case errors.As(e, &fn):
			out = append(out, &FieldError{Path: Join(prefix, fn.FieldName()), Msg: fn.FieldMessage()})
		default:
			out = append(out, &FieldError{Path: prefix, Msg: e.Error()})
		}
	}
	return errors.Join(out...)
}

// FieldNamer is implemented by validation errors of other packages that name
// the field at fault relative to their own configuration value.
type FieldNamer interface {
	error
	FieldName() string    // the field's name or relative path
	FieldMessage() string // what is wrong with it
}

// flatten returns the leaves of an errors.Join tree.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Error is a problem located in a file: "file:line: path: message".
type Error struct {
	File string
	Line int // 1-based; 0 when unknown
	Path string
	Msg  string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is a list of located errors, sorted by line. Its Error method puts
// one error per line.
type Errors []*Error

// Error implements error.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Path < es[j].Path
	})
	return es
}
