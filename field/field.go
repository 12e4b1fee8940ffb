package field

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a problem with the value at one field path.
type Error struct {
	// Path is the dotted path of the field, e.g. "retry.max_attempts" or
	// "faults[2].error.rate"; empty for a problem with the whole value.
	Path string
	// Msg says what is wrong.
	Msg string
	// Err is the error behind Msg, if any (see Wrap); errors.Is and
	// errors.As look through it.
	Err error
}

// Unwrap returns the error behind the message, if any.
func (e *Error) Unwrap() error { return e.Err }

// Wrap returns an *Error for path whose message is err's and whose cause
// is err, so callers can still match err with errors.Is.
func Wrap(path string, err error) *Error {
	return &Error{Path: path, Msg: err.Error(), Err: err}
}

// Error implements error as "path: message".
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errorf returns an *Error for path with a formatted message.
func Errorf(path, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
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

// Prefix returns err with prefix put in front of the path of every *Error it
// holds (through errors.Join trees and fmt.Errorf %w wrapping). Other errors
// become an *Error at prefix. Prefix returns nil for nil.
func Prefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range Flatten(err) {
		var fe *Error
		if errors.As(e, &fe) {
			out = append(out, &Error{Path: Join(prefix, fe.Path), Msg: fe.Msg, Err: fe.Err})
		} else {
			out = append(out, &Error{Path: prefix, Msg: e.Error(), Err: e})
		}
	}
	return errors.Join(out...)
}

// Flatten returns the leaves of an errors.Join tree (err itself when it is
// not a join).
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}
