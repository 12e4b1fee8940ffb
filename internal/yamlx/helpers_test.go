package yamlx_test

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/internal/yamlx"
)

type yamlNode = yaml.Node

// generic decodes a node tree into plain maps and slices for comparison.
func generic(t *testing.T, n *yaml.Node) any {
	t.Helper()
	var v any
	if err := n.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustParse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	n, err := yamlx.Parse("want.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
