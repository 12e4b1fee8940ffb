package calldata

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/methods"
)

// Resolver finds message types by name for google.protobuf.Any values
// (methods.Set.Types is one).
type Resolver interface {
	protoregistry.MessageTypeResolver
	protoregistry.ExtensionTypeResolver
}

// Request is the compiled request data of one method: one message for
// unary and server-streaming methods, one or more (cycled) for
// client-streaming and bidi methods. It is immutable and shared by workers;
// each worker encodes through its own Encoder.
type Request struct {
	method *methods.Method
	msgs   []*message
	res    Resolver
}

// message is one compiled request message.
type message struct {
	md   protoreflect.MessageDescriptor
	base []byte      // the constant part, encoded once
	fast []*fastHole // appended per call after base
	slow []segment   // JSON template rendered and re-encoded per call (when not nil)
	// slowHoles are the holes of the JSON template, by index.
	slowHoles []jsonHole
}

// fastHole is a templated scalar reached through singular message fields.
type fastHole struct {
	wrappers []protowire.Number // enclosing message fields, outermost first
	num      protowire.Number
	kind     protoreflect.Kind
	enum     protoreflect.EnumDescriptor
	tmpl     *template
	path     string
}

// jsonHole is a templated value of the slow path's JSON template.
type jsonHole struct {
	tmpl *template
	mode byte // 'q' quoted string, 'b' base64 in quotes, 'r' raw (bool)
}

// Compile checks data against m's input type and compiles it. data is one
// message — a map (from YAML or JSON), or a string holding JSON — or, for
// client-streaming and bidi methods, a list of messages. nil is one empty
// message. Errors are *field.Error values with paths inside the data
// ("user.name", "[2].id").
func Compile(m *methods.Method, data any, res Resolver) (*Request, error) {
	if res == nil {
		res = protoregistry.GlobalTypes
	}
	data, err := normalize(data)
	if err != nil {
		return nil, err
	}
	r := &Request{method: m, res: res}
	var items []any
	prefix := func(i int) string { return "" }
	switch x := data.(type) {
	case []any:
		if m.Kind() != methods.ClientStream && m.Kind() != methods.Bidi {
			return nil, field.Errorf("", "a list of messages is for client-streaming and bidi methods; %s (%s) takes one message", m.Short(), m.Kind())
		}
		if len(x) == 0 {
			return nil, field.Errorf("", "the list of messages is empty: give at least one (or leave data out for an empty message)")
		}
		items = x
		prefix = func(i int) string { return fmt.Sprintf("[%d]", i) }
	default:
		items = []any{data}
	}
	var errs []error
	for i, it := range items {
		msg, err := r.compileMessage(it, prefix(i))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.msgs = append(r.msgs, msg)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// FromMessages compiles ready messages (for example the built-in service's
// default requests): each is encoded once.
func FromMessages(m *methods.Method, msgs ...proto.Message) (*Request, error) {
	if len(msgs) == 0 {
		return nil, errors.New("calldata: no messages")
	}
	r := &Request{method: m, res: protoregistry.GlobalTypes}
	for _, pm := range msgs {
		if pm.ProtoReflect().Descriptor().FullName() != m.Input().FullName() {
			return nil, fmt.Errorf("calldata: %s takes %s, got %s", m.Name(), m.Input().FullName(), pm.ProtoReflect().Descriptor().FullName())
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pm)
		if err != nil {
			return nil, err
		}
		r.msgs = append(r.msgs, &message{md: m.Input(), base: b})
	}
	return r, nil
}

// Len is the number of distinct messages (cycled over a stream).
func (r *Request) Len() int { return len(r.msgs) }

// Constant reports whether every call sends the same bytes.
func (r *Request) Constant() bool {
	for _, m := range r.msgs {
		if len(m.fast) > 0 || m.slow != nil {
			return false
		}
	}
	return true
}

// compileMessage checks one message and builds its encoding.
func (r *Request) compileMessage(data any, path string) (*message, error) {
	md := r.method.Input()
	c := &checker{}
	ph := c.message(orEmpty(data), md, path, nil)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	js, err := json.Marshal(ph)
	if err != nil {
		return nil, field.Errorf(path, "%v", err)
	}
	dm := dynamicpb.NewMessage(md)
	if err := (protojson.UnmarshalOptions{Resolver: r.res}).Unmarshal(js, dm); err != nil {
		return nil, field.Errorf(path, "does not convert to %s: %v", md.FullName(), err)
	}
	msg := &message{md: md}
	allFast := true
	for _, h := range c.holes {
		h.fast = isFast(h.steps)
		allFast = allFast && h.fast
	}
	if !allFast {
		if err := msg.buildSlow(orEmpty(data), c.holes, path); err != nil {
			return nil, err
		}
		return msg, nil
	}
	for _, h := range c.holes {
		clearField(dm, h.steps)
		msg.fast = append(msg.fast, newFastHole(h))
	}
	msg.base, err = proto.MarshalOptions{Deterministic: true}.Marshal(dm)
	if err != nil {
		return nil, field.Errorf(path, "%v", err)
	}
	return msg, nil
}

func orEmpty(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

// isFast reports whether a hole sits in a singular scalar field reached
// through singular, non-group message fields.
func isFast(steps []step) bool {
	for i, s := range steps {
		if s.multi || s.fd == nil || s.fd.Kind() == protoreflect.GroupKind {
			return false
		}
		isMsg := s.fd.Kind() == protoreflect.MessageKind
		if (i < len(steps)-1) != isMsg {
			return false
		}
	}
	return len(steps) > 0
}

func newFastHole(h *hole) *fastHole {
	last := h.steps[len(h.steps)-1].fd
	f := &fastHole{num: last.Number(), kind: last.Kind(), tmpl: h.tmpl, path: h.path}
	if last.Kind() == protoreflect.EnumKind {
		f.enum = last.Enum()
	}
	for _, s := range h.steps[:len(h.steps)-1] {
		f.wrappers = append(f.wrappers, s.fd.Number())
	}
	return f
}

// clearField clears the hole's field in m, so the appended value is the
// only one.
func clearField(m protoreflect.Message, steps []step) {
	for _, s := range steps[:len(steps)-1] {
		m = m.Mutable(s.fd).Message()
	}
	m.Clear(steps[len(steps)-1].fd)
}

// normalize turns YAML- or JSON-decoded data into maps with string keys,
// lists and JSON scalars. A string is parsed as JSON.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return nil, nil
		}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var out any
		if err := dec.Decode(&out); err != nil {
			return nil, field.Errorf("", "is a string but not JSON (%v); write the data as a mapping or a JSON object", err)
		}
		if dec.More() {
			return nil, field.Errorf("", "holds more than one JSON value")
		}
		return normalizeTree(out), nil
	}
	return normalizeTree(v), nil
}

func normalizeTree(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeTree(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalizeTree(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeTree(e)
		}
		return out
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case int8, int16, int32, uint8, uint16, uint32, uint:
		var n json.Number
		n = json.Number(fmt.Sprint(x))
		return n
	}
	return v
}
