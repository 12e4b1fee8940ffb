package yamlx

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/field"
)

// Segment is one step of a field path: a mapping key or a list index.
type Segment struct {
	Key   string
	Index int // used when Key is empty
}

// SplitPath splits a dotted path such as "server.faults[1].error.rate" into
// segments. Keys are non-empty; indexes are non-negative integers.
func SplitPath(path string) ([]Segment, error) {
	if path == "" {
		return nil, fmt.Errorf("empty field path")
	}
	var segs []Segment
	for part := range strings.SplitSeq(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key == "" && (rest == "" || len(segs) == 0) {
			return nil, fmt.Errorf("field path %q has an empty segment", path)
		}
		if key != "" {
			segs = append(segs, Segment{Key: key})
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			if !ok {
				return nil, fmt.Errorf("field path %q: missing ]", path)
			}
			i, err := strconv.Atoi(num)
			if err != nil || i < 0 {
				return nil, fmt.Errorf("field path %q: index %q is not a non-negative integer", path, num)
			}
			segs = append(segs, Segment{Index: i})
			if after == "" {
				break
			}
			if !strings.HasPrefix(after, "[") {
				return nil, fmt.Errorf("field path %q: unexpected %q after ]", path, after)
			}
			rest = after[1:]
		}
	}
	return segs, nil
}

// Set puts value at path in the tree under root, creating mappings for keys
// that are missing. A list index must already exist. root must be a document
// or mapping node; an empty document becomes a mapping.
func Set(root *yaml.Node, path string, value *yaml.Node) error {
	segs, err := SplitPath(path)
	if err != nil {
		return err
	}
	n := root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			n.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
		}
		n = n.Content[0]
	}
	for i, s := range segs {
		last := i == len(segs)-1
		where := joinSegments(segs[:i])
		if s.Key == "" {
			if n.Kind != yaml.SequenceNode {
				return fmt.Errorf("%s: is not a list, cannot take [%d]", orTop(where), s.Index)
			}
			if s.Index >= len(n.Content) {
				return fmt.Errorf("%s: has %d items, no [%d]", orTop(where), len(n.Content), s.Index)
			}
			if last {
				n.Content[s.Index] = value
				return nil
			}
			n = resolve(n.Content[s.Index])
			continue
		}
		if isNull(n) || (n.Kind == yaml.ScalarNode && n.Value == "" && n.Tag == "") {
			*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: is not a mapping, cannot set %q in it", orTop(where), s.Key)
		}
		child := -1
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == s.Key {
				child = j + 1
			}
		}
		if child < 0 {
			n.Content = append(n.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.Key, Line: value.Line, Column: value.Column},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: value.Line, Column: value.Column})
			child = len(n.Content) - 1
		}
		if last {
			n.Content[child-1].Line = value.Line
			n.Content[child] = value
			return nil
		}
		n.Content[child] = resolve(n.Content[child])
		n = n.Content[child]
	}
	return nil
}

// get returns the node at path under root, or nil when the path is absent.
func get(root *yaml.Node, path string) *yaml.Node {
	segs, err := SplitPath(path)
	if err != nil {
		return nil
	}
	n := resolve(root)
	for _, s := range segs {
		if n == nil {
			return nil
		}
		switch {
		case s.Key == "" && n.Kind == yaml.SequenceNode && s.Index < len(n.Content):
			n = resolve(n.Content[s.Index])
		case s.Key != "" && n.Kind == yaml.MappingNode:
			var next *yaml.Node
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == s.Key {
					next = resolve(n.Content[j+1])
				}
			}
			n = next
		default:
			return nil
		}
	}
	return n
}

// ParseValue parses s as a YAML value for Set, the way `--set k=v` gives it:
// "8" is an integer, "[1, 2]" a list, "round_robin" a string. The nodes carry
// line 0 (no position in any file).
func ParseValue(s string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		return nil, fmt.Errorf("value %q is not valid YAML: %w", s, err)
	}
	n := resolve(&doc)
	if n == nil {
		n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	clearLines(n)
	return n, nil
}

func clearLines(n *yaml.Node) {
	n.Line, n.Column = 0, 0
	for _, c := range n.Content {
		clearLines(c)
	}
}

// Clone returns a deep copy of the tree under n.
func Clone(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, x := range n.Content {
			c.Content[i] = Clone(x)
		}
	}
	// Aliases point into the original tree; decoding follows them read-only.
	return &c
}

func joinSegments(segs []Segment) string {
	var p string
	for _, s := range segs {
		if s.Key == "" {
			p += fmt.Sprintf("[%d]", s.Index)
		} else {
			p = field.Join(p, s.Key)
		}
	}
	return p
}

func orTop(p string) string {
	if p == "" {
		return "(top level)"
	}
	return p
}
