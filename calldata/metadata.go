package calldata

import (
	"errors"
	"sort"
	"strings"

	"github.com/grpcbench/grpcbench/field"
)

// Metadata is per-call request metadata whose values may hold templates.
// Keys are lower-cased and sorted. It is immutable and shared by workers.
type Metadata struct {
	keys  []string
	vals  []*template
	fixed []string // the value of a constant template, "" otherwise
}

// CompileMetadata parses the template in each value. Errors name the key.
// Key and value syntax are checked by the client's call options.
func CompileMetadata(md map[string]string) (*Metadata, error) {
	m := &Metadata{}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return strings.ToLower(keys[i]) < strings.ToLower(keys[j]) })
	var errs []error
	for _, k := range keys {
		t, err := parseTemplate(md[k])
		if err != nil {
			errs = append(errs, field.Errorf(k, "%v", err))
			continue
		}
		m.keys = append(m.keys, strings.ToLower(k))
		m.vals = append(m.vals, t)
		fixed := ""
		if t.Constant() {
			fixed = md[k]
		}
		m.fixed = append(m.fixed, fixed)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// Len is the number of keys.
func (m *Metadata) Len() int {
	if m == nil {
		return 0
	}
	return len(m.keys)
}

// Constant reports whether no value has a template.
func (m *Metadata) Constant() bool {
	for _, t := range m.vals {
		if !t.Constant() {
			return false
		}
	}
	return true
}

// AppendPairs appends key, value pairs for one call after dst (the form
// metadata.AppendToOutgoingContext takes). Templated values are rendered
// into *scratch, a buffer the caller keeps between calls (scratch must not
// be nil). A templated value costs one string allocation; a constant one
// none.
func (m *Metadata) AppendPairs(dst []string, v *Vars, scratch *[]byte) []string {
	if m == nil {
		return dst
	}
	for i, k := range m.keys {
		val := m.fixed[i]
		if !m.vals[i].Constant() {
			*scratch = m.vals[i].Append((*scratch)[:0], v)
			val = string(*scratch)
		}
		dst = append(dst, k, val)
	}
	return dst
}
