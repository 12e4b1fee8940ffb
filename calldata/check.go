package calldata

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/suggest"
)

// step is one field on the way from a message to a templated value.
type step struct {
	fd    protoreflect.FieldDescriptor
	multi bool // inside a list element or a map value
}

// hole is one templated scalar value found in the data.
type hole struct {
	path  string // in the data, for errors
	steps []step // the last step is the scalar field
	tmpl  *template
	fast  bool // can be appended to the pre-encoded constant part
}

// checker walks data against a message descriptor, collecting errors and
// holes and building the placeholder tree protojson will decode.
type checker struct {
	errs  []error
	holes []*hole
}

func (c *checker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, field.Errorf(path, format, args...))
}

// message checks v as a message of type md and returns its placeholder.
func (c *checker) message(v any, md protoreflect.MessageDescriptor, path string, steps []step) any {
	if isWKT(md) {
		return c.wellKnown(v, md, path, steps)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "expected an object (fields of %s), got %s", md.FullName(), describe(v))
		return v
	}
	out := make(map[string]any, len(obj))
	for _, k := range sortedKeys(obj) {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(k))
		}
		p := field.Join(path, k)
		if fd == nil {
			c.fail(p, "the message %s has no field %q%s", md.FullName(), k, fieldHint(k, md))
			continue
		}
		out[k] = c.field(obj[k], fd, p, append(steps[:len(steps):len(steps)], step{fd: fd}))
	}
	return out
}

// field checks the value of one field.
func (c *checker) field(v any, fd protoreflect.FieldDescriptor, path string, steps []step) any {
	if v == nil {
		return nil
	}
	switch {
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			c.fail(path, "expected an object (the map %s), got %s", fd.Name(), describe(v))
			return v
		}
		steps[len(steps)-1].multi = true
		out := make(map[string]any, len(obj))
		for _, k := range sortedKeys(obj) {
			p := path + "[" + strconv.Quote(k) + "]"
			if hasActions(k) {
				c.fail(p, "templates are not allowed in map keys")
				continue
			}
			c.mapKey(k, fd.MapKey(), p)
			out[k] = c.single(obj[k], fd.MapValue(), p, steps)
		}
		return out
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			c.fail(path, "expected a list (the repeated field %s), got %s", fd.Name(), describe(v))
			return v
		}
		steps[len(steps)-1].multi = true
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = c.single(e, fd, fmt.Sprintf("%s[%d]", path, i), steps)
		}
		return out
	}
	return c.single(v, fd, path, steps)
}

// single checks one value of a field's type (a list element, a map value or
// a singular field).
func (c *checker) single(v any, fd protoreflect.FieldDescriptor, path string, steps []step) any {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		if v == nil {
			return nil
		}
		return c.message(v, fd.Message(), path, steps)
	}
	return c.scalar(v, fd, path, steps)
}

// scalar checks a scalar value; a string with template actions becomes a
// hole and its placeholder.
func (c *checker) scalar(v any, fd protoreflect.FieldDescriptor, path string, steps []step) any {
	if s, ok := v.(string); ok && hasActions(s) {
		t, err := parseTemplate(s)
		if err != nil {
			c.fail(path, "%v", err)
			return v
		}
		c.holes = append(c.holes, &hole{path: path, steps: append([]step(nil), steps...), tmpl: t})
		return placeholder(fd)
	}
	if msg := scalarProblem(v, fd); msg != "" {
		c.fail(path, "%s", msg)
	}
	return v
}

// mapKey checks a map key against the key field's type.
func (c *checker) mapKey(k string, fd protoreflect.FieldDescriptor, path string) {
	switch fd.Kind() {
	case protoreflect.StringKind:
	case protoreflect.BoolKind:
		if k != "true" && k != "false" {
			c.fail(path, "map key must be true or false")
		}
	default:
		if _, err := strconv.ParseInt(k, 10, 64); err != nil {
			if _, err := strconv.ParseUint(k, 10, 64); err != nil {
				c.fail(path, "map key must be an integer (%s)", fd.Kind())
			}
		}
	}
}

// wellKnown checks a google.protobuf.* value loosely: wrappers as their
// scalar, the others are left to protojson. Templates inside them make the
// message re-encoded per call.
func (c *checker) wellKnown(v any, md protoreflect.MessageDescriptor, path string, steps []step) any {
	if isWrapper(md) {
		vf := md.Fields().ByNumber(1)
		st := append(steps[:len(steps):len(steps)], step{fd: vf})
		return c.scalar(v, vf, path, st)
	}
	return c.templatesIn(v, path, steps)
}

// templatesIn finds templated strings anywhere in v (inside a well-known
// type); each becomes a slow hole rendered as a JSON string.
func (c *checker) templatesIn(v any, path string, steps []step) any {
	switch x := v.(type) {
	case string:
		if !hasActions(x) {
			return x
		}
		t, err := parseTemplate(x)
		if err != nil {
			c.fail(path, "%v", err)
			return x
		}
		c.holes = append(c.holes, &hole{path: path, steps: append(append([]step(nil), steps...), step{multi: true}), tmpl: t})
		return ""
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			out[k] = c.templatesIn(x[k], field.Join(path, k), steps)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.templatesIn(e, fmt.Sprintf("%s[%d]", path, i), steps)
		}
		return out
	}
	return v
}

// placeholder is a valid JSON value for a templated field while the data is
// checked and its constant part encoded.
func placeholder(fd protoreflect.FieldDescriptor) any {
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind:
		return ""
	case protoreflect.BoolKind:
		return false
	default:
		return 0
	}
}

// scalarProblem says why v cannot be a value of fd, or "".
func scalarProblem(v any, fd protoreflect.FieldDescriptor) string {
	kind := fd.Kind()
	want := func(w string) string {
		return fmt.Sprintf("expected %s for %s field %s, got %s", w, kind, fd.Name(), describe(v))
	}
	switch kind {
	case protoreflect.StringKind:
		if _, ok := v.(string); !ok {
			return want("a string")
		}
	case protoreflect.BytesKind:
		s, ok := v.(string)
		if !ok {
			return want("base64 text")
		}
		if !isBase64(s) {
			return fmt.Sprintf("bytes field %s takes base64 text, got %q", fd.Name(), truncate(s))
		}
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			return want("true or false")
		}
	case protoreflect.EnumKind:
		return enumProblem(v, fd)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		switch x := v.(type) {
		case float64, int, int64, uint64, json.Number:
		case string:
			if _, err := strconv.ParseFloat(x, 64); err != nil && x != "NaN" && x != "Infinity" && x != "-Infinity" {
				return want("a number")
			}
		default:
			return want("a number")
		}
	default: // integers
		if !isInteger(v, kind) {
			return want("an integer in range")
		}
	}
	return ""
}

func enumProblem(v any, fd protoreflect.FieldDescriptor) string {
	ed := fd.Enum()
	switch x := v.(type) {
	case string:
		if ed.Values().ByName(protoreflect.Name(x)) != nil {
			return ""
		}
		var names []string
		for i := range ed.Values().Len() {
			names = append(names, string(ed.Values().Get(i).Name()))
		}
		hint := ""
		if best, ok := suggest.Closest(x, names); ok {
			hint = fmt.Sprintf(" (did you mean %q?)", best)
		}
		return fmt.Sprintf("%q is not a value of the enum %s%s; it has: %s", x, ed.FullName(), hint, strings.Join(names, ", "))
	case int, int64, uint64, float64, json.Number:
		if isInteger(v, protoreflect.Int32Kind) {
			return ""
		}
	}
	return fmt.Sprintf("expected a value name or number of the enum %s, got %s", ed.FullName(), describe(v))
}

// isInteger reports whether v is an integer that fits kind (numbers, or
// strings holding one, as protojson accepts).
func isInteger(v any, kind protoreflect.Kind) bool {
	var lo, hi float64
	switch kind {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		lo, hi = math.MinInt32, math.MaxInt32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		lo, hi = 0, math.MaxUint32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		lo, hi = 0, math.MaxUint64
	default:
		lo, hi = math.MinInt64, math.MaxInt64
	}
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case float64:
		f = x
	case json.Number:
		g, err := x.Float64()
		if err != nil {
			return false
		}
		f = g
	case string:
		if i, err := strconv.ParseInt(x, 10, 64); err == nil {
			f = float64(i)
		} else if u, err := strconv.ParseUint(x, 10, 64); err == nil {
			f = float64(u)
		} else {
			return false
		}
	default:
		return false
	}
	return f == math.Trunc(f) && f >= lo && f <= hi
}

func isBase64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}

func fieldHint(k string, md protoreflect.MessageDescriptor) string {
	var names []string
	for i := range md.Fields().Len() {
		names = append(names, string(md.Fields().Get(i).Name()))
	}
	if best, ok := suggest.Closest(k, names); ok {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(names) == 0 {
		return "; it has no fields"
	}
	return "; it has: " + strings.Join(names, ", ")
}

func isWKT(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.") && md.ParentFile().Path() != "" &&
		strings.HasPrefix(md.ParentFile().Path(), "google/protobuf/")
}

func isWrapper(md protoreflect.MessageDescriptor) bool {
	switch md.FullName() {
	case "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
		"google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
		"google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		return true
	}
	return false
}

// describe names a value's JSON type for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", truncate(x))
	case bool:
		return fmt.Sprintf("%v", x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("the number %v", x)
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
