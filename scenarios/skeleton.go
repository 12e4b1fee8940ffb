package scenarios

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/methods"
)

// skeletonDepth bounds how deep a data skeleton follows nested messages
// (recursive types would not end).
const skeletonDepth = 4

// ExampleFor returns a commented scenario, named name, that calls the method
// of sp's first mix entry on sp's server, with a skeleton of the method's
// input message as data: every field with a zero value and a comment naming
// its type. It is what "grpcbench init --call" writes.
func ExampleFor(name string, sp *Spec) (string, error) {
	s := sp.Scenario
	if s.calls == nil || len(s.calls.calls) == 0 {
		return "", fmt.Errorf("scenarios: %s has no resolved call", sp.File)
	}
	c := s.calls.calls[0]
	m := c.method
	root := &yaml.Node{Kind: yaml.MappingNode}
	add := func(parent *yaml.Node, key string, v *yaml.Node, comment string) {
		k := &yaml.Node{Kind: yaml.ScalarNode, Value: key, HeadComment: comment}
		parent.Content = append(parent.Content, k, v)
	}
	scalar := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	add(root, "name", scalar(name), fmt.Sprintf("grpcbench scenario for %s (%s) — run it with: grpcbench run %s.yaml\nThe values below are examples to change; the README describes every field.", m.Name(), m.Kind(), name))
	add(root, "seed", scalar("42"), "")
	server := &yaml.Node{Kind: yaml.MappingNode}
	switch t := s.Server.Target; {
	case t.Target != "":
		add(server, "target", scalar(t.Target), "")
	case len(t.Targets) > 0:
		add(server, "targets", stringList(t.Targets), "")
	}
	switch {
	case len(s.Server.Protoset) > 0:
		add(server, "protoset", stringList(s.Server.Protoset), "")
	case len(s.Server.Proto) > 0:
		add(server, "proto", stringList(s.Server.Proto), "")
		if len(s.Server.ImportPaths) > 0 {
			add(server, "import_paths", stringList(s.Server.ImportPaths), "")
		}
	default:
		add(server, "reflection", scalar("true"), "methods found by server reflection (or give proto: [...] / protoset: [...])")
	}
	add(root, "server", server, "")
	load := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for _, kv := range [][2]string{{"model", "open"}, {"rate", "100"}, {"max_inflight", "64"}, {"duration", "10s"}, {"warmup", "2s"}} {
		add(load, kv[0], scalar(kv[1]), "")
	}
	add(root, "load", load, "open model: calls/s from intended start times (or model: closed, workers: N)")
	entry := &yaml.Node{Kind: yaml.MappingNode}
	add(entry, "call", scalar(m.Name()), "")
	if m.Kind() == methods.ClientStream || m.Kind() == methods.Bidi {
		add(entry, "messages", scalar(strconv.Itoa(defaultMessages)), "requests per stream (bidi: request/reply exchanges)")
	}
	add(entry, "data", dataSkeleton(m.Input()), fmt.Sprintf("%s, as YAML (or JSON); strings may hold templates such as {{randomInt 1 50}} or {{uuid}}", m.Input().FullName()))
	add(root, "mix", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{entry}}, "")
	client := &yaml.Node{Kind: yaml.MappingNode}
	add(client, "timeout", scalar("2s"), "")
	add(client, "pool", &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{scalar("size"), scalar("1")}}, "")
	add(client, "lb", &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{scalar("policy"), scalar("round_robin")}}, "")
	add(root, "client", client, "")
	matrix := &yaml.Node{Kind: yaml.MappingNode}
	add(matrix, "client.pool.size", &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{scalar("1"), scalar("4")}}, "")
	add(root, "matrix", matrix, "any field path; cells are the Cartesian product")
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func stringList(xs []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, x := range xs {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: x})
	}
	return n
}

// dataSkeleton returns md's fields as a YAML mapping of zero values, each
// with a comment naming its type: a starting point for mix[].data that
// validates as written. Only the first member of each oneof is given.
func dataSkeleton(md protoreflect.MessageDescriptor) *yaml.Node {
	return skeleton(md, 0)
}

func skeleton(md protoreflect.MessageDescriptor, depth int) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		comment := fieldType(fd)
		if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() {
			if o.Fields().Get(0) != fd {
				continue
			}
			var names []string
			for j := range o.Fields().Len() {
				names = append(names, string(o.Fields().Get(j).Name()))
			}
			comment += fmt.Sprintf(" — oneof %s: %s", o.Name(), strings.Join(names, " | "))
		}
		v := skeletonValue(fd, depth)
		if v == nil {
			continue
		}
		k := &yaml.Node{Kind: yaml.ScalarNode, Value: string(fd.Name()), LineComment: comment}
		if v.Kind != yaml.ScalarNode {
			k.LineComment, v.HeadComment = "", ""
			k.HeadComment = comment
		}
		n.Content = append(n.Content, k, v)
	}
	if len(n.Content) == 0 {
		n.Style = yaml.FlowStyle
	}
	return n
}

// skeletonValue is a field's zero value as YAML, or nil to leave it out.
func skeletonValue(fd protoreflect.FieldDescriptor, depth int) *yaml.Node {
	one := func() *yaml.Node {
		if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
			return messageSkeleton(fd.Message(), depth)
		}
		return scalarSkeleton(fd)
	}
	switch {
	case fd.IsMap():
		return &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	case fd.IsList():
		e := one()
		if e == nil {
			return &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		}
		return &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{e}}
	}
	return one()
}

func messageSkeleton(md protoreflect.MessageDescriptor, depth int) *yaml.Node {
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		return &yaml.Node{Kind: yaml.ScalarNode, Value: "2026-01-01T00:00:00Z", Style: yaml.DoubleQuotedStyle}
	case "google.protobuf.Duration":
		return &yaml.Node{Kind: yaml.ScalarNode, Value: "1s", Style: yaml.DoubleQuotedStyle}
	case "google.protobuf.Any", "google.protobuf.Value", "google.protobuf.ListValue", "google.protobuf.FieldMask":
		return nil
	}
	if isWrapperMessage(md) {
		return scalarSkeleton(md.Fields().ByNumber(1))
	}
	if depth >= skeletonDepth {
		return nil
	}
	return skeleton(md, depth+1)
}

func isWrapperMessage(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.") && strings.HasSuffix(string(md.Name()), "Value") &&
		md.Fields().Len() == 1 && md.Fields().Get(0).Name() == "value"
}

func scalarSkeleton(fd protoreflect.FieldDescriptor) *yaml.Node {
	v := "0"
	style := yaml.Style(0)
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind:
		v, style = "", yaml.DoubleQuotedStyle
	case protoreflect.BoolKind:
		v = "false"
	case protoreflect.EnumKind:
		v = string(fd.Enum().Values().Get(0).Name())
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: v, Style: style}
}

// fieldType names a field's type for a skeleton comment.
func fieldType(fd protoreflect.FieldDescriptor) string {
	t := fd.Kind().String()
	switch {
	case fd.IsMap():
		return fmt.Sprintf("map<%s, %s>", elemType(fd.MapKey()), elemType(fd.MapValue()))
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		t = string(fd.Message().FullName())
	case fd.Kind() == protoreflect.EnumKind:
		var names []string
		for i := range min(fd.Enum().Values().Len(), 8) {
			names = append(names, string(fd.Enum().Values().Get(i).Name()))
		}
		t = fmt.Sprintf("enum %s: %s", fd.Enum().FullName(), strings.Join(names, ", "))
	case fd.Kind() == protoreflect.BytesKind:
		t = "bytes, base64"
	}
	if fd.IsList() {
		t = "repeated " + t
	}
	return t
}

func elemType(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.MessageKind:
		return string(fd.Message().FullName())
	case protoreflect.EnumKind:
		return string(fd.Enum().FullName())
	}
	return fd.Kind().String()
}
