package results

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Cell returns the cell with the given ID, or nil.
func (r *Run) Cell(id string) *Cell {
	for _, c := range r.Cells {
		if c != nil && c.ID == id {
			return c
		}
	}
	return nil
}

// ErrorRate returns Errors / Calls (0 when there were no calls).
func (m *MethodStats) ErrorRate() float64 {
	if m == nil || m.Calls == 0 {
		return 0
	}
	return float64(m.Errors) / float64(m.Calls)
}

// ErrorRate returns the fraction of the cell's calls that failed.
func (c *Cell) ErrorRate() float64 { return c.All.ErrorRate() }

// BackendCalls returns each backend's calls over the whole cell (warm-up
// included), in the order of c.Backends: the attempts the client saw land
// on it, or the server's count when the client counted none (gRPC's native
// retries leave the client no peer per attempt).
func (c *Cell) BackendCalls() []int64 {
	out, client := make([]int64, len(c.Backends)), false
	for i, b := range c.Backends {
		out[i] = b.ClientCalls
		client = client || b.ClientCalls > 0
	}
	if !client {
		for i, b := range c.Backends {
			out[i] = b.ServerCalls
		}
	}
	return out
}

// Rate returns the completed calls per second over the cell's duration,
// computed from Load.Completed (0 when the duration is zero).
func (c *Cell) Rate() float64 {
	if c.Duration <= 0 {
		return 0
	}
	return float64(c.Load.Completed) / c.Duration.Seconds()
}

// RetriesPerCall returns (Attempts − Calls) / Calls of the retry layer: the
// extra attempts per logical call, the retry amplification minus one
// (0 when no calls went through the retry layer).
func (r Retry) RetriesPerCall() float64 {
	if r.Calls == 0 {
		return 0
	}
	return float64(r.Attempts-r.Calls) / float64(r.Calls)
}

// Aggregate returns the statistics of every method of the cell together:
// c.All when present, else the sum of c.Methods (histograms added), which
// it does not store. Reports and gates read a cell's totals through it.
// It returns nil for a cell without statistics.
func (c *Cell) Aggregate() *MethodStats {
	if c.All != nil || len(c.Methods) == 0 {
		return c.All
	}
	all := &MethodStats{}
	for _, name := range slices.Sorted(maps.Keys(c.Methods)) {
		mergeMethodStats(all, c.Methods[name])
	}
	return all
}

// MethodNames returns the names of every method called in any cell of the
// run, sorted.
func (r *Run) MethodNames() []string {
	seen := map[string]bool{}
	for _, c := range r.Cells {
		if c == nil {
			continue
		}
		for name := range c.Methods {
			seen[name] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// ShortMethodNames maps each full method name of names
// ("grpcbench.user.v1.UserService/GetUser") to the shortest form that no
// other name shares: the method alone ("GetUser"), else the service's
// simple name and the method ("UserService/GetUser"), else the full name.
// A name without a "/" is its own short form.
func ShortMethodNames(names []string) map[string]string {
	count := map[string]int{}
	for _, n := range slices.Compact(slices.Sorted(slices.Values(names))) {
		for _, f := range methodForms(n) {
			count[f]++
		}
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = n
		for _, f := range methodForms(n) {
			if count[f] == 1 {
				out[n] = f
				break
			}
		}
	}
	return out
}

// methodForms returns the names a method may be called by, shortest
// first: "GetUser", "UserService/GetUser", then the full name (each once).
func methodForms(full string) []string {
	svc, method, ok := strings.Cut(full, "/")
	if !ok {
		return []string{full}
	}
	forms := []string{method}
	short := svc[strings.LastIndexByte(svc, '.')+1:] + "/" + method
	if short != full {
		forms = append(forms, short)
	}
	return append(forms, full)
}

// MatchMethod returns the method of names that sel selects: a name equal to
// sel, else the only name whose method ("GetUser") or service and method
// ("UserService/GetUser") is sel. A selector that matches no name or
// several is an error that lists the names.
func MatchMethod(sel string, names []string) (string, error) {
	if slices.Contains(names, sel) {
		return sel, nil
	}
	var found []string
	for _, n := range names {
		if slices.Contains(methodForms(n), sel) {
			found = append(found, n)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return "", fmt.Errorf("method %q is ambiguous: it names %s", sel, strings.Join(found, " and "))
	case len(names) == 0:
		return "", fmt.Errorf("unknown method %q: no method was called", sel)
	}
	return "", fmt.Errorf("unknown method %q (methods: %s)", sel, strings.Join(names, ", "))
}
