package methods

import (
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcbench/grpcbench/internal/suggest"
)

// Set is the methods of one descriptor source: its files, the services it
// offers and where they came from. A Set is immutable once made.
type Set struct {
	origin   string
	files    *protoregistry.Files
	types    *dynamicpb.Types
	services []protoreflect.ServiceDescriptor
	methods  []*Method
}

// newSet makes a Set of the services named (all services in files when
// names is nil), in name order.
func newSet(origin string, files *protoregistry.Files, names []string) (*Set, error) {
	s := &Set{origin: origin, files: files, types: dynamicpb.NewTypes(files)}
	if names == nil {
		files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
			for i := range fd.Services().Len() {
				s.services = append(s.services, fd.Services().Get(i))
			}
			return true
		})
	} else {
		for _, n := range names {
			d, err := files.FindDescriptorByName(protoreflect.FullName(n))
			if err != nil {
				return nil, fmt.Errorf("%s: service %s: %w", origin, n, err)
			}
			sd, ok := d.(protoreflect.ServiceDescriptor)
			if !ok {
				return nil, fmt.Errorf("%s: %s is not a service", origin, n)
			}
			s.services = append(s.services, sd)
		}
	}
	sort.Slice(s.services, func(i, j int) bool { return s.services[i].FullName() < s.services[j].FullName() })
	for _, sd := range s.services {
		for i := range sd.Methods().Len() {
			s.methods = append(s.methods, newMethod(sd.Methods().Get(i)))
		}
	}
	return s, nil
}

// Types resolves message and extension types of the set's files, e.g. for
// protojson's google.protobuf.Any.
func (s *Set) Types() *dynamicpb.Types { return s.types }

// Services lists the full names of the services the set offers, sorted.
func (s *Set) Services() []string {
	out := make([]string, len(s.services))
	for i, sd := range s.services {
		out[i] = string(sd.FullName())
	}
	return out
}

// Methods lists every method of the set, by service then declaration order.
func (s *Set) Methods() []*Method { return append([]*Method(nil), s.methods...) }

// Lookup resolves a method name as a user writes it:
//
//	pkg.Service/Method   /pkg.Service/Method   pkg.Service.Method
//	Service/Method       Method                 (short forms, when unique)
//
// Errors say whether the service or the method is unknown, suggest the
// closest name and list what the set has.
func (s *Set) Lookup(name string) (*Method, error) {
	name = strings.TrimSpace(name)
	svc, meth := splitName(name)
	if meth == "" {
		return nil, fmt.Errorf("%q is not a method name: write package.Service/Method", name)
	}
	var cands []*Method
	for _, m := range s.methods {
		if m.Short() != meth {
			continue
		}
		switch {
		case svc == "":
			cands = append(cands, m)
		case m.Service() == svc:
			return m, nil
		case !strings.Contains(svc, ".") && simpleName(m.Service()) == svc:
			cands = append(cands, m)
		}
	}
	switch len(cands) {
	case 1:
		return cands[0], nil
	case 0:
		return nil, s.notFound(name, svc, meth)
	}
	names := make([]string, len(cands))
	for i, m := range cands {
		names[i] = m.Name()
	}
	return nil, fmt.Errorf("%q is ambiguous in %s: it could be %s", name, s.origin, strings.Join(names, ", "))
}

// notFound explains a failed lookup.
func (s *Set) notFound(name, svc, meth string) error {
	if svc != "" && !s.hasService(svc) {
		services := s.Services()
		hint := ""
		if best, ok := suggest.Closest(svc, services); ok {
			hint = fmt.Sprintf(" (did you mean %q?)", best)
		}
		return fmt.Errorf("unknown service %q in %s%s; it has: %s", svc, s.origin, hint, listOrNone(services))
	}
	var known, bare []string
	for _, m := range s.methods {
		if svc == "" || m.Service() == svc || simpleName(m.Service()) == svc {
			known = append(known, m.Name())
			bare = append(bare, m.Short())
		}
	}
	hint := ""
	if best, ok := suggest.Closest(meth, bare); ok {
		for i, b := range bare {
			if b == best {
				hint = fmt.Sprintf(" (did you mean %q?)", known[i])
				break
			}
		}
	}
	return fmt.Errorf("unknown method %q in %s%s; it has: %s", name, s.origin, hint, listOrNone(known))
}

func (s *Set) hasService(svc string) bool {
	for _, sd := range s.services {
		if string(sd.FullName()) == svc || (!strings.Contains(svc, ".") && string(sd.Name()) == svc) {
			return true
		}
	}
	return false
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "nothing"
	}
	const maxListed = 20
	if len(xs) > maxListed {
		return strings.Join(xs[:maxListed], ", ") + fmt.Sprintf(", … (%d more)", len(xs)-maxListed)
	}
	return strings.Join(xs, ", ")
}

// splitName splits "pkg.Svc/Method", "/pkg.Svc/Method", "pkg.Svc.Method",
// "Svc/Method" or "Method" into service and method.
func splitName(name string) (svc, meth string) {
	name = strings.TrimPrefix(name, "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i], name[i+1:]
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

func simpleName(full string) string { return full[strings.LastIndexByte(full, '.')+1:] }
