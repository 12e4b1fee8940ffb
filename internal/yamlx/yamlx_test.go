package yamlx_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/yamlx"
)

type level string

func (l *level) UnmarshalYAML(n *yamlNode) error {
	switch n.Value {
	case "low", "high":
		*l = level(n.Value)
		return nil
	}
	return errors.New(`must be "low" or "high"`)
}

type window struct {
	At  time.Duration `yaml:"at"`
	For time.Duration `yaml:"for"`
}

type inner struct {
	Size  int     `yaml:"size"`
	Ratio float64 `yaml:"ratio"`
	On    bool    `yaml:"on"`
	Level level   `yaml:"level"`
}

type doc struct {
	Name   string            `yaml:"name"`
	Count  uint8             `yaml:"count"`
	Wait   time.Duration     `yaml:"wait"`
	Inner  *inner            `yaml:"inner"`
	Items  []inner           `yaml:"items"`
	Labels map[string]string `yaml:"labels"`
	Any    any               `yaml:"any"`
	window `yaml:",inline"`
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // substrings, one per expected error, in line order
	}{
		{"ok", "name: a\ncount: 3\nwait: 250ms\ninner: {size: 2, ratio: 0.5, on: true, level: low}\nat: 1s\n", nil},
		{"unknown field with suggestion", "name: a\ncuont: 3\n", []string{"f.yaml:2: cuont: unknown field (did you mean \"count\"?)"}},
		{"unknown nested field", "inner:\n  size: 1\n  bogus: 2\n", []string{"f.yaml:3: inner.bogus: unknown field (known fields: level, on, ratio, size)"}},
		{"wrong type int", "inner:\n  size: big\n", []string{"f.yaml:2: inner.size: expected an integer, got \"big\""}},
		{"float for int", "inner: {size: 1.5}\n", []string{"f.yaml:1: inner.size: expected an integer, got \"1.5\""}},
		{"uint overflow", "count: 300\n", []string{"f.yaml:1: count: 300 is out of range"}},
		{"negative uint", "count: -1\n", []string{"f.yaml:1: count: must not be negative"}},
		{"bool", "inner: {on: yes please}\n", []string{"inner.on: expected true or false"}},
		{"duration without unit", "wait: 250\n", []string{"f.yaml:1: wait: duration 250 needs a unit"}},
		{"bad duration", "wait: soon\n", []string{"wait: expected a duration such as 250ms, got \"soon\""}},
		{"inline duration", "at: x\n", []string{"f.yaml:1: at: expected a duration"}},
		{"list for mapping", "inner: [1, 2]\n", []string{"inner: expected a mapping, got a list"}},
		{"mapping for list", "items: {size: 1}\n", []string{"items: expected a list, got a mapping"}},
		{"list item path", "items:\n  - size: 1\n  - size: x\n", []string{"f.yaml:3: items[1].size: expected an integer"}},
		{"duplicate key", "name: a\nname: b\n", []string{"f.yaml:2: name: given twice"}},
		{"unmarshaler error", "inner: {level: medium}\n", []string{"f.yaml:1: inner.level: must be \"low\" or \"high\""}},
		{"several errors, sorted", "inner: {size: x}\nbogus: 1\n", []string{"f.yaml:1: inner.size", "f.yaml:2: bogus: unknown field"}},
		{"top level list", "- a\n", []string{"f.yaml:1: expected a mapping, got a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := yamlx.Parse("f.yaml", []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var d doc
			_, err = yamlx.Decode("f.yaml", root, &d)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var es yamlx.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %v (%T) is not yamlx.Errors", err, err)
			}
			if len(es) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(es), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(es[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, es[i].Error(), w)
				}
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	src := `
name: svc
count: 7
wait: 1m30s
inner: {size: 2, ratio: 0.25, on: true, level: high}
items: [{size: 1}, {size: 2}]
labels: {a: x, b: y}
any: [1, two]
at: 2s
for: 500ms
`
	root, err := yamlx.Parse("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	pos, err := yamlx.Decode("f.yaml", root, &d)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "svc" || d.Count != 7 || d.Wait != 90*time.Second || d.Inner.Size != 2 ||
		d.Inner.Ratio != 0.25 || !d.Inner.On || d.Inner.Level != "high" || len(d.Items) != 2 ||
		d.Items[1].Size != 2 || d.Labels["b"] != "y" || d.At != 2*time.Second || d.For != 500*time.Millisecond {
		t.Fatalf("decoded %+v", d)
	}
	if got, ok := d.Any.([]any); !ok || len(got) != 2 {
		t.Fatalf("any = %#v", d.Any)
	}
	for path, line := range map[string]int{"name": 2, "inner.level": 5, "items[1].size": 6, "at": 9, "inner.nope": 5, "labels.a": 7} {
		if got := pos.Line(path); got != line {
			t.Errorf("Line(%q) = %d, want %d", path, got, line)
		}
	}
}

func TestLocateFieldErrors(t *testing.T) {
	root, _ := yamlx.Parse("s.yaml", []byte("client:\n  retry:\n    max_attempts: 0\n"))
	var v struct {
		Client struct {
			Retry struct {
				MaxAttempts int `yaml:"max_attempts"`
			} `yaml:"retry"`
		} `yaml:"client"`
	}
	pos, err := yamlx.Decode("s.yaml", root, &v)
	if err != nil {
		t.Fatal(err)
	}
	verr := errors.Join(field.Prefix("client.retry", field.Errorf("max_attempts", "must be at least 1")),
		field.Errorf("client.pool.size", "must be at least 1"))
	got := pos.Locate("s.yaml", verr).Error()
	want := "s.yaml:1: client.pool.size: must be at least 1\ns.yaml:3: client.retry.max_attempts: must be at least 1"
	if got != want {
		t.Fatalf("Locate:\n got %q\nwant %q", got, want)
	}
}

func TestSyntaxErrorIsLocated(t *testing.T) {
	_, err := yamlx.Parse("bad.yaml", []byte("a: 1\nb: [1, 2\nc: 3\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "bad.yaml:") || !strings.Contains(err.Error(), "invalid YAML") {
		t.Fatalf("err = %v", err)
	}
	_, err = yamlx.Parse("two.yaml", []byte("a: 1\n---\nb: 2\n"))
	if err == nil || !strings.Contains(err.Error(), "two.yaml:2: more than one YAML document") {
		t.Fatalf("err = %v", err)
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name, src, path, value, want, wantErr string
	}{
		{"replace", "a: {b: 1}\n", "a.b", "2", "a:\n    b: 2\n", ""},
		{"create", "a: {b: 1}\n", "a.c.d", "x", "a:\n    b: 1\n    c:\n        d: x\n", ""},
		{"empty doc", "", "x.y", "[1, 2]", "x:\n    y:\n        - 1\n        - 2\n", ""},
		{"index", "l: [{v: 1}, {v: 2}]\n", "l[1].v", "9", "l:\n    - v: 1\n    - v: 9\n", ""},
		{"null becomes mapping", "a:\n", "a.b", "1", "a:\n    b: 1\n", ""},
		{"index out of range", "l: [1]\n", "l[3]", "1", "", "l: has 1 items, no [3]"},
		{"not a mapping", "a: 1\n", "a.b", "1", "", "a: is not a mapping"},
		{"bad path", "a: 1\n", "a..b", "1", "", "empty segment"},
		{"bad index", "a: 1\n", "a[x]", "1", "", "not a non-negative integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := yamlx.Parse("f.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			v, err := yamlx.ParseValue(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			err = yamlx.Set(root, tt.path, v)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := generic(t, root), generic(t, mustParse(t, tt.want)); !reflect.DeepEqual(got, want) {
				t.Fatalf("after Set: %#v, want %#v", got, want)
			}
			if yamlx.Get(root, tt.path) == nil {
				t.Fatalf("Get(%q) = nil after Set", tt.path)
			}
		})
	}
}

func TestSetValueIsStrictlyChecked(t *testing.T) {
	root, _ := yamlx.Parse("f.yaml", []byte("inner: {size: 1}\n"))
	v, _ := yamlx.ParseValue("lots")
	if err := yamlx.Set(root, "inner.size", v); err != nil {
		t.Fatal(err)
	}
	var d doc
	pos, err := yamlx.Decode("f.yaml", root, &d)
	if err == nil || !strings.Contains(err.Error(), "inner.size: expected an integer, got \"lots\"") {
		t.Fatalf("err = %v", err)
	}
	if pos.Line("inner.size") != 0 {
		t.Fatalf("a value from --set has no line, got %d", pos.Line("inner.size"))
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"name: a\ncount: 3\nwait: 250ms\n",
		"inner: {size: 2, ratio: 0.5, on: true, level: low}\nitems: [{size: 1}]\n",
		"labels: {a: b}\nany: [1, {x: y}]\nat: 1s\nfor: 2s\n",
		"a: &x {b: 1}\nc: *x\n",
		"- 1\n- 2\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		root, err := yamlx.Parse("fuzz.yaml", []byte(src))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("parse error not located: %v", err)
			}
			return
		}
		var d doc
		_, err = yamlx.Decode("fuzz.yaml", root, &d)
		if err != nil {
			var es yamlx.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("decode error is not a non-empty Errors: %T %v", err, err)
			}
			for _, e := range es {
				if e.File != "fuzz.yaml" || e.Msg == "" {
					t.Fatalf("bad error %#v", e)
				}
			}
		}
	})
}
