package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/grpcbench/grpcbench/field"
)

// Paths inside a results file are written as in the scenario's field
// errors: keys joined by dots, array indexes in brackets
// ("cells[3].methods.GetUser.latency.hdr"). A key that would be ambiguous
// there (empty, or holding '.', '[', ']', '"' or a space) is written quoted
// in brackets: methods["pkg.Svc/Get"].

// pathKey returns path extended by an object key.
func pathKey(path, key string) string {
	if key == "" || strings.ContainsAny(key, `.[]" `) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	return field.Join(path, key)
}

// pathIndex returns path extended by an array index.
func pathIndex(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// maxJSONDepth bounds the nesting of a results file (its own structure is
// at most 7 levels deep; the scenario echoed in it a few more).
const maxJSONDepth = 64

// shortPath shortens a path longer than 120 bytes in its middle.
func shortPath(p string) string {
	if len(p) <= 120 {
		return p
	}
	return p[:60] + "…" + p[len(p)-60:]
}

// jsonFrame is one open object or array while walking a document.
type jsonFrame struct {
	array   bool
	index   int    // current element (arrays)
	key     []byte // current member, still escaped (objects)
	wantKey bool   // the next string is a key (objects)
}

// jsonWalker walks the bytes of a JSON document, keeping the path of the
// value it is on, without decoding anything. It trusts the syntax: run it
// on a document json.Valid accepts, or on the prefix of one that precedes a
// syntax error, to learn where that error is.
type jsonWalker struct {
	data   []byte
	frames []jsonFrame
}

// path returns the path of the value the walker is on.
func (w *jsonWalker) path() string {
	var p string
	for _, f := range w.frames {
		if f.array {
			p = pathIndex(p, f.index)
		} else if !f.wantKey {
			p = pathKey(p, unescape(f.key))
		}
	}
	return p
}

// member reports whether the value the walker is on is the member name
// (compared as encoding/json does, case-insensitively) of an object at
// depth (1: the top-level object).
func (w *jsonWalker) member(name string, depth int) bool {
	n := len(w.frames)
	return n == depth && !w.frames[n-1].array && keyIs(w.frames[n-1].key, name)
}

// inCells reports whether the walker is inside the top-level member
// "cells", where every histogram of a results file is (the scenario echoed
// beside it may hold anything, a member named "hdr" included).
func (w *jsonWalker) inCells() bool {
	return len(w.frames) > 1 && !w.frames[0].array && keyIs(w.frames[0].key, "cells")
}

// inArray reports whether the value the walker is on is a member of an
// object that is an element of the array member name, as
// cells[0].series[4].hdr is for "series".
func (w *jsonWalker) inArray(name string) bool {
	n := len(w.frames)
	return n >= 3 && !w.frames[n-1].array && w.frames[n-2].array && !w.frames[n-3].array &&
		keyIs(w.frames[n-3].key, name)
}

// walk reads data[:end] and calls visit at the start of every value, after
// its key is known: kind is '"' for a string (raw is its contents, still
// escaped), '{' or '[' for an object or array (before entering it), and 0
// for a number or literal. It stops at the first error visit returns, or
// when an object or array is nested deeper than maxJSONDepth.
func (w *jsonWalker) walk(end int, visit func(kind byte, raw []byte) error) error {
	data := w.data[:end]
	for i := 0; i < len(data); i++ {
		var top *jsonFrame
		if n := len(w.frames); n > 0 {
			top = &w.frames[n-1]
		}
		switch c := data[i]; c {
		case ' ', '\t', '\r', '\n', ':':
		case ',':
			if top.array {
				top.index++
			} else {
				top.wantKey = true
			}
		case '{', '[':
			if err := visit(c, nil); err != nil {
				return err
			}
			if len(w.frames) >= maxJSONDepth {
				return fmt.Errorf("%s: nested deeper than %d levels", shortPath(w.path()), maxJSONDepth)
			}
			w.frames = append(w.frames, jsonFrame{array: c == '[', wantKey: c == '{'})
		case '}', ']':
			w.frames = w.frames[:len(w.frames)-1]
		case '"':
			j := stringEnd(data, i+1)
			if j == len(data) { // unterminated: the prefix ends inside it
				return nil
			}
			raw := data[i+1 : j]
			if top != nil && top.wantKey {
				top.key, top.wantKey = raw, false
			} else if err := visit('"', raw); err != nil {
				return err
			}
			i = j
		default:
			if err := visit(0, nil); err != nil {
				return err
			}
			for i+1 < len(data) && !strings.ContainsRune(",}] \t\r\n", rune(data[i+1])) {
				i++
			}
		}
	}
	return nil
}

// keyIs reports whether the raw (escaped) key names the member name the
// way encoding/json matches it: exactly or case-insensitively.
func keyIs(raw []byte, name string) bool {
	if bytes.IndexByte(raw, '\\') >= 0 {
		return strings.EqualFold(unescape(raw), name)
	}
	return strings.EqualFold(string(raw), name)
}

// stringEnd returns the index of the quote closing the string whose
// contents start at i, or len(data).
func stringEnd(data []byte, i int) int {
	for ; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(data)
}

// unescape returns the contents of a JSON string with escapes undone.
func unescape(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	var s string
	if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s); err != nil {
		return string(raw)
	}
	return s
}

// syntaxError describes why data is not valid JSON, naming the path of the
// value where it breaks and its line.
func syntaxError(data []byte) error {
	err := json.Unmarshal(data, &struct{}{})
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	off := int(min(max(se.Offset, 0), int64(len(data))))
	truncated := strings.Contains(se.Error(), "unexpected end of JSON input")
	// Walk the valid prefix, up to the offending byte.
	w := &jsonWalker{data: data}
	end := off
	if !truncated && end > 0 {
		end--
	}
	if err := w.walk(end, func(byte, []byte) error { return nil }); err != nil {
		return err
	}
	where := fmt.Sprintf("line %d", 1+bytes.Count(data[:off], []byte{'\n'}))
	if p := w.path(); p != "" {
		where = shortPath(p) + " (" + where + ")"
	}
	if truncated {
		return fmt.Errorf("%s: truncated: the file ends inside this value", where)
	}
	if len(w.frames) == 0 {
		return fmt.Errorf("%s: trailing data after the results object (byte %d)", where, off)
	}
	return fmt.Errorf("%s: invalid JSON at byte %d: %s", where, off, strings.TrimPrefix(se.Error(), "json: "))
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// locate finds where decoding raw into a value of type t fails. It decodes
// the document again, value by value along t, and returns the first error
// (in field order) as a *field.Error with the value's path, or nil if every
// value decodes. It is slow and meant for the error path only.
func locate(raw []byte, t reflect.Type, path string) error {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			return field.Prefix(path, describeJSONError(err, t))
		}
		return nil
	}
	null := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	switch t.Kind() {
	case reflect.Interface:
		return nil
	case reflect.Pointer:
		if null {
			return nil
		}
		return locate(raw, t.Elem(), path)
	case reflect.Struct, reflect.Map:
		if null {
			return nil
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			return field.Errorf(path, "want an object, got %s", jsonKind(raw))
		}
		if t.Kind() == reflect.Map {
			return locateMap(members, t, path)
		}
		return locateStruct(members, t, path)
	case reflect.Slice:
		if null {
			return nil
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return field.Errorf(path, "want an array, got %s", jsonKind(raw))
		}
		for i, e := range elems {
			if err := locate(e, t.Elem(), pathIndex(path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
		return field.Errorf(path, "%v", describeJSONError(err, t))
	}
	return nil
}

func locateMap(members map[string]json.RawMessage, t reflect.Type, path string) error {
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := locate(members[k], t.Elem(), pathKey(path, k)); err != nil {
			return err
		}
	}
	return nil
}

func locateStruct(members map[string]json.RawMessage, t reflect.Type, path string) error {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		raw, ok := members[name]
		if !ok { // encoding/json matches keys case-insensitively
			for k, v := range members {
				if strings.EqualFold(k, name) {
					raw, ok = v, true
					break
				}
			}
		}
		if !ok {
			continue
		}
		if err := locate(raw, f.Type, pathKey(path, name)); err != nil {
			return err
		}
	}
	return nil
}

// describeJSONError rewrites encoding/json's type errors for people: "want
// an integer, got string" instead of Go type names. A type error inside a
// value (a member of a time or histogram object) becomes a *field.Error
// naming the member.
func describeJSONError(err error, t reflect.Type) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" && te.Type != t {
			return field.Errorf(te.Field, "%s", typeMessage(te))
		}
		return errors.New(typeMessage(te))
	}
	return err
}

// typeMessage says what a value should have been.
func typeMessage(te *json.UnmarshalTypeError) string {
	want := te.Type.String()
	switch te.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		want = "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "true or false"
	case reflect.Struct, reflect.Map:
		want = "an object"
	case reflect.Slice, reflect.Array:
		want = "an array"
	}
	return fmt.Sprintf("want %s, got %s", want, te.Value)
}

// jsonKind names the kind of a JSON value for messages.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
