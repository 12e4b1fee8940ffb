package calldata

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcbench/grpcbench/field"
)

// buildSlow compiles the message into a JSON template: literal JSON between
// the holes, rendered and re-encoded on every call.
func (m *message) buildSlow(data any, holes []*hole, path string) error {
	byPath := make(map[string]*hole, len(holes))
	for _, h := range holes {
		byPath[h.path] = h
	}
	var segs []segment
	lit := []byte{}
	flush := func() {
		if len(lit) > 0 {
			segs = append(segs, segment{op: opLit, lit: string(lit)})
			lit = lit[:0]
		}
	}
	var walk func(v any, p string) error
	walk = func(v any, p string) error {
		switch x := v.(type) {
		case map[string]any:
			lit = append(lit, '{')
			for i, k := range sortedKeys(x) {
				if i > 0 {
					lit = append(lit, ',')
				}
				kb, _ := json.Marshal(k)
				lit = append(append(lit, kb...), ':')
				if err := walk(x[k], field.Join(p, k)); err != nil {
					return err
				}
			}
			lit = append(lit, '}')
		case []any:
			lit = append(lit, '[')
			for i, e := range x {
				if i > 0 {
					lit = append(lit, ',')
				}
				if err := walk(e, fmt.Sprintf("%s[%d]", p, i)); err != nil {
					return err
				}
			}
			lit = append(lit, ']')
		default:
			if h, ok := byPath[p]; ok {
				flush()
				segs = append(segs, segment{op: opSlowHole, a: int64(len(m.slowHoles))})
				m.slowHoles = append(m.slowHoles, jsonHole{tmpl: h.tmpl, mode: jsonMode(h)})
				return nil
			}
			b, err := json.Marshal(x)
			if err != nil {
				return field.Errorf(p, "%v", err)
			}
			lit = append(lit, b...)
		}
		return nil
	}
	// Map keys of the data tree are walked under their plain names; map
	// fields' keys appear in hole paths as ["key"], so normalise those.
	for _, h := range holes {
		byPath[plainPath(h.path)] = h
	}
	if err := walk(data, plainPath(path)); err != nil {
		return err
	}
	flush()
	m.slow = segs
	return nil
}

// plainPath rewrites map keys written as ["k"] into .k, as the JSON walk
// names them.
func plainPath(p string) string {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '[' && i+1 < len(p) && p[i+1] == '"' {
			if q, err := strconv.QuotedPrefix(p[i+1:]); err == nil {
				k, _ := strconv.Unquote(q)
				if len(out) > 0 {
					out = append(out, '.')
				}
				out = append(out, k...)
				i += len(q) + 1 // the quoted key and the closing ]
				continue
			}
		}
		out = append(out, p[i])
	}
	return string(out)
}

func jsonMode(h *hole) byte {
	last := h.steps[len(h.steps)-1]
	switch {
	case last.fd == nil:
		return 'q'
	case last.fd.Kind() == protoreflect.BoolKind:
		return 'r'
	case last.fd.Kind() == protoreflect.BytesKind:
		return 'b'
	}
	return 'q'
}

// opSlowHole marks a hole of the slow path's JSON template (segment.a is
// its index in message.slowHoles).
const opSlowHole op = 255

// Encoder encodes a Request's messages for one worker, reusing its buffers.
// It is not safe for concurrent use.
type Encoder struct {
	r       *Request
	scratch []byte
	js      []byte
	dyn     map[int]*dynamicpb.Message
}

// NewEncoder returns an encoder for one worker.
func (r *Request) NewEncoder() *Encoder { return &Encoder{r: r} }

// Append encodes message i (modulo Len) for the call described by v after
// dst. For constant data it copies the bytes encoded at compile time.
// Errors come only from templates whose output does not fit the field
// (e.g. "abc" for an int32).
func (e *Encoder) Append(dst []byte, i int, v *Vars) ([]byte, error) {
	m := e.r.msgs[i%len(e.r.msgs)]
	if m.slow != nil {
		return e.appendSlow(dst, i%len(e.r.msgs), m, v)
	}
	dst = append(dst, m.base...)
	for _, h := range m.fast {
		var err error
		if dst, err = e.appendHole(dst, h, v); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendHole renders h and appends it as a field, wrapped in its enclosing
// message fields.
func (e *Encoder) appendHole(dst []byte, h *fastHole, v *Vars) ([]byte, error) {
	e.scratch = h.tmpl.Append(e.scratch[:0], v)
	text := e.scratch
	var wt protowire.Type
	var num uint64 // varint and fixed values
	switch h.kind {
	case protoreflect.StringKind:
		if !utf8.Valid(text) {
			return dst, fmt.Errorf("%s: template output is not valid UTF-8", h.path)
		}
		wt = protowire.BytesType
	case protoreflect.BytesKind:
		wt = protowire.BytesType
	default:
		var err error
		if wt, num, err = scalarBits(h, text); err != nil {
			return dst, fmt.Errorf("%s: template output %q: %w", h.path, string(text), err)
		}
	}
	var valSize int
	switch wt {
	case protowire.BytesType:
		valSize = protowire.SizeBytes(len(text))
	case protowire.VarintType:
		valSize = protowire.SizeVarint(num)
	case protowire.Fixed32Type:
		valSize = protowire.SizeFixed32()
	case protowire.Fixed64Type:
		valSize = protowire.SizeFixed64()
	}
	// Sizes of the enclosing messages, innermost first.
	var sizes [16]int
	size := protowire.SizeTag(h.num) + valSize
	for k := len(h.wrappers) - 1; k >= 0; k-- {
		if k < len(sizes) {
			sizes[k] = size
		}
		size = protowire.SizeTag(h.wrappers[k]) + protowire.SizeBytes(size)
	}
	if len(h.wrappers) > len(sizes) {
		return dst, fmt.Errorf("%s: nested deeper than %d messages", h.path, len(sizes))
	}
	for k, n := range h.wrappers {
		dst = protowire.AppendTag(dst, n, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(sizes[k]))
	}
	dst = protowire.AppendTag(dst, h.num, wt)
	switch wt {
	case protowire.BytesType:
		dst = protowire.AppendBytes(dst, text)
	case protowire.VarintType:
		dst = protowire.AppendVarint(dst, num)
	case protowire.Fixed32Type:
		dst = protowire.AppendFixed32(dst, uint32(num))
	case protowire.Fixed64Type:
		dst = protowire.AppendFixed64(dst, num)
	}
	return dst, nil
}

// scalarBits converts a rendered template into a non-bytes scalar's wire
// type and bits.
func scalarBits(h *fastHole, text []byte) (protowire.Type, uint64, error) {
	s := unsafe.String(unsafe.SliceData(text), len(text)) // not kept beyond this call
	switch h.kind {
	case protoreflect.BoolKind:
		switch s {
		case "true":
			return protowire.VarintType, 1, nil
		case "false":
			return protowire.VarintType, 0, nil
		}
		return 0, 0, fmt.Errorf("not true or false")
	case protoreflect.EnumKind:
		if ev := h.enum.Values().ByName(protoreflect.Name(s)); ev != nil {
			return protowire.VarintType, uint64(int64(ev.Number())), nil
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("not a value of the enum %s", h.enum.FullName())
		}
		return protowire.VarintType, uint64(n), nil
	case protoreflect.FloatKind:
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("not a number")
		}
		return protowire.Fixed32Type, uint64(math.Float32bits(float32(f))), nil
	case protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("not a number")
		}
		return protowire.Fixed64Type, math.Float64bits(f), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		bits := 64
		if h.kind == protoreflect.Uint32Kind || h.kind == protoreflect.Fixed32Kind {
			bits = 32
		}
		u, err := strconv.ParseUint(s, 10, bits)
		if err != nil {
			return 0, 0, fmt.Errorf("not an unsigned integer of %d bits", bits)
		}
		switch h.kind {
		case protoreflect.Fixed32Kind:
			return protowire.Fixed32Type, u, nil
		case protoreflect.Fixed64Kind:
			return protowire.Fixed64Type, u, nil
		}
		return protowire.VarintType, u, nil
	}
	bits := 64
	switch h.kind {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		bits = 32
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, 0, fmt.Errorf("not an integer of %d bits", bits)
	}
	switch h.kind {
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return protowire.VarintType, protowire.EncodeZigZag(n), nil
	case protoreflect.Sfixed32Kind:
		return protowire.Fixed32Type, uint64(uint32(int32(n))), nil
	case protoreflect.Sfixed64Kind:
		return protowire.Fixed64Type, uint64(n), nil
	}
	return protowire.VarintType, uint64(n), nil
}

// appendSlow renders the message's JSON template, decodes it with protojson
// and encodes the result.
func (e *Encoder) appendSlow(dst []byte, i int, m *message, v *Vars) ([]byte, error) {
	e.js = e.js[:0]
	for k := range m.slow {
		s := &m.slow[k]
		if s.op == opLit {
			e.js = append(e.js, s.lit...)
			continue
		}
		h := &m.slowHoles[s.a]
		e.scratch = h.tmpl.Append(e.scratch[:0], v)
		switch h.mode {
		case 'r':
			e.js = append(e.js, e.scratch...)
		case 'b':
			e.js = append(e.js, '"')
			e.js = base64.StdEncoding.AppendEncode(e.js, e.scratch)
			e.js = append(e.js, '"')
		default:
			e.js = appendJSONString(e.js, e.scratch)
		}
	}
	if e.dyn == nil {
		e.dyn = map[int]*dynamicpb.Message{}
	}
	dm, ok := e.dyn[i]
	if !ok {
		dm = dynamicpb.NewMessage(m.md)
		e.dyn[i] = dm
	}
	if err := (protojson.UnmarshalOptions{Resolver: e.r.res}).Unmarshal(e.js, dm); err != nil {
		return dst, fmt.Errorf("templated data does not convert to %s: %w", m.md.FullName(), err)
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, dm)
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
