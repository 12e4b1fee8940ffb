package yamlx

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/statuscode"
	"github.com/grpcbench/grpcbench/internal/suggest"
)

// Unmarshaler is implemented by types that decode themselves from a node.
// It is yaml.v3's own interface, so such types work with yaml.Unmarshal too.
// An error it returns is reported at the node's line and path.
type Unmarshaler interface {
	UnmarshalYAML(value *yaml.Node) error
}

// Positions maps the field paths a decode visited to the line of their value.
type Positions map[string]int

// Line returns the line of path, or of its nearest ancestor that has one, or 0.
func (p Positions) Line(path string) int {
	for {
		if l, ok := p[path]; ok {
			return l
		}
		parent, ok := parentPath(path)
		if !ok {
			return 0
		}
		path = parent
	}
}

// parentPath strips the last segment of a dotted path ("a.b[2]" → "a.b",
// "a.b" → "a"). It reports false for a single segment.
func parentPath(path string) (string, bool) {
	i := strings.LastIndexAny(path, ".[")
	if i <= 0 {
		return "", false
	}
	return path[:i], true
}

// Locate turns the FieldErrors in err into located *Error values in file,
// using the positions to find each path's line. Errors already located keep
// their line. Other errors are kept as they are, with the file named.
// Locate returns nil for nil and an Errors value otherwise.
func (p Positions) Locate(file string, err error) error {
	if err == nil {
		return nil
	}
	var out Errors
	for _, e := range field.Flatten(err) {
		var le *Error
		var les Errors
		var fe *field.Error
		switch {
		case errors.As(e, &les):
			for _, x := range les {
				c := *x
				if c.File == "" {
					c.File = file
				}
				out = append(out, &c)
			}
		case errors.As(e, &le):
			c := *le
			if c.File == "" {
				c.File = file
			}
			out = append(out, &c)
		case errors.As(e, &fe):
			out = append(out, &Error{File: file, Line: p.Line(fe.Path), Path: fe.Path, Msg: fe.Msg, Err: fe.Err})
		default:
			out = append(out, &Error{File: file, Msg: e.Error(), Err: e})
		}
	}
	return out.sorted()
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Parse parses data as one YAML document. Syntax errors are located in file.
// An empty document yields a document node with no content.
func Parse(file string, data []byte) (*yaml.Node, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if err.Error() == "EOF" {
			return &yaml.Node{Kind: yaml.DocumentNode}, nil
		}
		return nil, syntaxError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Errors{{File: file, Line: extra.Line, Msg: "more than one YAML document; put everything in one"}}
	}
	return &root, nil
}

func syntaxError(file string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Errors{{File: file, Line: line, Msg: "invalid YAML: " + m[2]}}
	}
	return Errors{{File: file, Msg: "invalid YAML: " + msg}}
}

// Decode decodes node into out (a non-nil pointer) strictly: every mapping key
// must name a field, every value must fit its field's type, and no key may
// appear twice. It returns the positions of every field it saw and, when
// anything is wrong, an Errors value listing every problem with its line and
// path. Fields not mentioned in the node keep the values they had in out, so
// callers fill defaults first or after.
func Decode(file string, node *yaml.Node, out any) (Positions, error) {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, fmt.Errorf("yamlx: Decode needs a non-nil pointer, got %T", out)
	}
	d := &decoder{file: file, pos: Positions{}}
	if node = resolve(node); node != nil {
		d.decode(node, rv.Elem(), "")
	}
	if len(d.errs) > 0 {
		return d.pos, d.errs.sorted()
	}
	return d.pos, nil
}

type decoder struct {
	file string
	pos  Positions
	errs Errors
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows document and alias nodes to the node holding the value.
// It returns nil for an empty document.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	codeType        = reflect.TypeFor[codes.Code]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if isNull(n) {
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if n == nil {
		return
	}
	d.pos[path] = n.Line

	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
		return
	}
	if d.decodeSelf(n, v, path) {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(n, path, "%s", err.Error())
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.decodeScalar(n, v, path)
	}
}

// decodeSelf decodes the types that say how they are written — an
// Unmarshaler, an encoding.TextUnmarshaler (durations excepted), a status
// code, a duration — and reports whether v was one of them.
func (d *decoder) decodeSelf(n *yaml.Node, v reflect.Value, path string) bool {
	if v.CanAddr() {
		pv := v.Addr()
		if pv.Type().Implements(unmarshalerType) {
			if err := pv.Interface().(Unmarshaler).UnmarshalYAML(n); err != nil {
				d.fail(n, path, "%s", err.Error())
			}
			return true
		}
		if v.Type() != durationType && pv.Type().Implements(textType) {
			if n.Kind != yaml.ScalarNode {
				d.fail(n, path, "expected a single value, got %s", kindName(n))
				return true
			}
			if err := pv.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
				d.fail(n, path, "%s", err.Error())
			}
			return true
		}
	}
	switch v.Type() {
	case codeType:
		if n.Kind != yaml.ScalarNode || isNull(n) {
			d.fail(n, path, "expected a status code name such as UNAVAILABLE, got %s", kindName(n))
			return true
		}
		c, err := statuscode.Parse(n.Value)
		if err != nil {
			d.fail(n, path, "%s", err.Error())
			return true
		}
		v.SetUint(uint64(c))
		return true
	case durationType:
		dur, err := parseDuration(n)
		if err != nil {
			d.fail(n, path, "%s", err.Error())
			return true
		}
		v.SetInt(int64(dur))
		return true
	}
	return false
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		if isNull(n) {
			v.SetZero()
			return
		}
		d.fail(n, path, "expected a list, got %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "expected %s, got %s", typeWord(v.Type()), kindName(n))
		return
	}
	tag := n.ShortTag()
	switch v.Kind() {
	case reflect.String:
		if tag == "!!null" {
			v.SetString("")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if tag != "!!bool" {
			d.fail(n, path, "expected true or false, got %s", kindName(n))
			return
		}
		var b bool
		_ = n.Decode(&b)
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if tag != "!!int" || n.Decode(&i) != nil {
			d.fail(n, path, "expected an integer, got %s", kindName(n))
			return
		}
		if v.OverflowInt(i) {
			d.fail(n, path, "%d is out of range", i)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var i int64
		if tag != "!!int" || n.Decode(&i) != nil {
			d.fail(n, path, "expected a whole number, got %s", kindName(n))
			return
		}
		if i < 0 {
			d.fail(n, path, "must not be negative, got %d", i)
			return
		}
		if v.OverflowUint(uint64(i)) {
			d.fail(n, path, "%d is out of range", i)
			return
		}
		v.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		var f float64
		if (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
			d.fail(n, path, "expected a number, got %s", kindName(n))
			return
		}
		v.SetFloat(f)
	default:
		d.fail(n, path, "yamlx: cannot decode into %s", v.Type())
	}
}

func typeWord(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a single value"
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		if isNull(n) {
			return
		}
		d.fail(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(n, path, "yamlx: map keys must be strings, have %s", v.Type().Key())
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := field.Join(path, k.Value)
		if seen[k.Value] {
			d.fail(k, p, "given twice")
			continue
		}
		seen[k.Value] = true
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, p)
		key := reflect.New(v.Type().Key()).Elem()
		key.SetString(k.Value)
		v.SetMapIndex(key, elem)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		if isNull(n) {
			return
		}
		d.fail(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := field.Join(path, k.Value)
		idx, ok := fields.byName[k.Value]
		if !ok {
			d.fail(k, p, "unknown field%s", didYouMean(k.Value, fields.names))
			continue
		}
		if seen[k.Value] {
			d.fail(k, p, "given twice")
			continue
		}
		seen[k.Value] = true
		f := v
		for _, j := range idx {
			if f.Kind() == reflect.Pointer {
				if f.IsNil() {
					f.Set(reflect.New(f.Type().Elem()))
				}
				f = f.Elem()
			}
			f = f.Field(j)
		}
		d.decode(val, f, p)
		d.pos[p] = k.Line // the key's line: it is where a reader looks
	}
}

type structFields struct {
	byName map[string][]int
	names  []string
}

var fieldCache sync.Map // reflect.Type → *structFields

// fieldsOf lists the YAML names of a struct's fields, following ",inline".
// Fields without a yaml tag use their lower-cased Go name; "-" skips a field.
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	sf := &structFields{byName: map[string][]int{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			if tag == "-" || (!f.IsExported() && !(f.Anonymous && strings.Contains(opts, "inline"))) {
				continue
			}
			idx := append(append([]int{}, prefix...), i)
			if strings.Contains(opts, "inline") {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				walk(ft, idx)
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			sf.byName[name] = idx
			sf.names = append(sf.names, name)
		}
	}
	walk(t, nil)
	sort.Strings(sf.names)
	fieldCache.Store(t, sf)
	return sf
}

// didYouMean names the closest known field, or lists them all when none is close.
func didYouMean(got string, known []string) string {
	if best, ok := suggest.Closest(got, known); ok {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(known) == 0 {
		return ""
	}
	return " (known fields: " + strings.Join(known, ", ") + ")"
}

// parseDuration reads a duration scalar such as "250ms" or "1m30s". A bare 0
// is accepted; any other bare number is an error because its unit is unknown.
func parseDuration(n *yaml.Node) (time.Duration, error) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return 0, fmt.Errorf("expected a duration such as 250ms, got %s", kindName(n))
	}
	s := strings.TrimSpace(n.Value)
	if s == "0" {
		return 0, nil
	}
	if n.ShortTag() == "!!int" || n.ShortTag() == "!!float" {
		return 0, fmt.Errorf("duration %s needs a unit, e.g. %sms or %ss", s, s, s)
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("expected a duration such as 250ms, got %q", s)
	}
	return dur, nil
}
