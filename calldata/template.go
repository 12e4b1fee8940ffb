package calldata

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/internal/suggest"
)

// Vars are the values a call's templates may use. The worker that makes the
// call owns them and updates them before each call.
type Vars struct {
	// Call is the call's number in the cell, from 0.
	Call int64
	// Worker is the worker's number, from 0.
	Worker int
	// Cell is the cell's ID.
	Cell string
	// Repeat is the cell's repeat, from 1.
	Repeat int
	// Intended is the call's intended start time.
	Intended time.Time
	// Rand is the worker's seeded generator.
	Rand *rand.Rand
}

// op is one kind of template action.
type op uint8

const (
	opLit op = iota
	opCall
	opWorker
	opCell
	opRepeat
	opRandInt
	opRandString
	opUUID
	opIntended
	opIntendedMilli
)

// actions maps each action's name to its op and number of arguments.
var actions = map[string]struct {
	op   op
	args int
}{
	"call": {opCall, 0}, "worker": {opWorker, 0}, "cell": {opCell, 0}, "repeat": {opRepeat, 0},
	"randomInt": {opRandInt, 2}, "randomString": {opRandString, 1}, "uuid": {opUUID, 0},
	"intended": {opIntended, 0}, "intendedUnixMilli": {opIntendedMilli, 0},
}

// Limits on template arguments, so a typo cannot ask for gigabytes.
const maxRandomString = 1 << 20

type segment struct {
	op   op
	lit  string
	a, b int64
}

// template is a string with actions, parsed once.
type template struct {
	segs []segment
	src  string
}

// hasActions reports whether s holds a template action.
func hasActions(s string) bool { return strings.Contains(s, "{{") }

// parseTemplate parses s. An unknown action (with a did-you-mean), a wrong
// number of arguments, a bad argument or an unclosed "{{" is an error.
func parseTemplate(s string) (*template, error) {
	t := &template{src: s}
	rest := s
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.segs = append(t.segs, segment{op: opLit, lit: rest})
			break
		}
		if i > 0 {
			t.segs = append(t.segs, segment{op: opLit, lit: rest[:i]})
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("template %q: %q is not closed with }}", s, rest[i:])
		}
		seg, err := parseAction(strings.TrimSpace(rest[i+2 : i+j]))
		if err != nil {
			return nil, fmt.Errorf("template %q: %w", s, err)
		}
		t.segs = append(t.segs, seg)
		rest = rest[i+j+2:]
	}
	return t, nil
}

func parseAction(text string) (segment, error) {
	words := strings.Fields(text)
	if len(words) == 0 {
		return segment{}, errors.New("empty action {{}}")
	}
	name := strings.TrimPrefix(words[0], ".")
	a, ok := actions[name]
	if !ok {
		known := make([]string, 0, len(actions))
		for k := range actions {
			known = append(known, k)
		}
		hint := ""
		if best, ok := suggest.Closest(name, known); ok {
			hint = fmt.Sprintf(" (did you mean %q?)", best)
		}
		return segment{}, fmt.Errorf("unknown template variable %q%s; known: call, worker, cell, repeat, randomInt A B, randomString N, uuid, intended, intendedUnixMilli", name, hint)
	}
	if len(words)-1 != a.args {
		return segment{}, fmt.Errorf("{{%s}} takes %d argument(s), got %d", name, a.args, len(words)-1)
	}
	seg := segment{op: a.op}
	nums := make([]int64, a.args)
	for k, w := range words[1:] {
		n, err := strconv.ParseInt(w, 10, 64)
		if err != nil {
			return segment{}, fmt.Errorf("{{%s}}: argument %q is not an integer", name, w)
		}
		nums[k] = n
	}
	switch a.op {
	case opRandInt:
		seg.a, seg.b = nums[0], nums[1]
		if seg.a > seg.b {
			return segment{}, fmt.Errorf("{{randomInt %d %d}}: the minimum is above the maximum", seg.a, seg.b)
		}
	case opRandString:
		seg.a = nums[0]
		if seg.a < 1 || seg.a > maxRandomString {
			return segment{}, fmt.Errorf("{{randomString %d}}: length must be between 1 and %d", seg.a, maxRandomString)
		}
	}
	return seg, nil
}

// Constant reports whether the template has no action.
func (t *template) Constant() bool {
	for _, s := range t.segs {
		if s.op != opLit {
			return false
		}
	}
	return true
}

// String returns the template's source.
func (t *template) String() string { return t.src }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Append renders the template for v after dst. It allocates nothing beyond
// growing dst.
func (t *template) Append(dst []byte, v *Vars) []byte {
	for i := range t.segs {
		s := &t.segs[i]
		switch s.op {
		case opLit:
			dst = append(dst, s.lit...)
		case opCall:
			dst = strconv.AppendInt(dst, v.Call, 10)
		case opWorker:
			dst = strconv.AppendInt(dst, int64(v.Worker), 10)
		case opCell:
			dst = append(dst, v.Cell...)
		case opRepeat:
			dst = strconv.AppendInt(dst, int64(v.Repeat), 10)
		case opRandInt:
			span := uint64(s.b - s.a)
			var n int64
			if span == ^uint64(0) {
				n = int64(v.Rand.Uint64())
			} else {
				n = s.a + int64(v.Rand.Uint64N(span+1))
			}
			dst = strconv.AppendInt(dst, n, 10)
		case opRandString:
			for range s.a {
				dst = append(dst, alnum[v.Rand.IntN(len(alnum))])
			}
		case opUUID:
			dst = appendUUID(dst, v.Rand)
		case opIntended:
			dst = v.Intended.UTC().AppendFormat(dst, time.RFC3339Nano)
		case opIntendedMilli:
			dst = strconv.AppendInt(dst, v.Intended.UnixMilli(), 10)
		}
	}
	return dst
}

// appendUUID appends a random (version 4, RFC 9562) UUID.
func appendUUID(dst []byte, r *rand.Rand) []byte {
	var b [16]byte
	hi, lo := r.Uint64(), r.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&0xf])
	}
	return dst
}
