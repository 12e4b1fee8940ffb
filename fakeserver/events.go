package fakeserver

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/field"
)

// Limits of membership changes.
const (
	// maxBackends is the most backends serving at once.
	maxBackends = 64
	// maxBackendsEver is the most backends a cluster may start over its
	// life (the initial ones, those added, the replacements).
	maxBackendsEver = 1024
	// maxDrain bounds Event.Drain.
	maxDrain = time.Hour
)

// Event is a scheduled change of the cluster's backend set (YAML: one entry
// of server.events): exactly one of Add, Remove and Replace, at At (from
// the cluster's start, like fault windows).
//
// Backends are numbered in the order they were started: the initial ones
// 0..Backends-1, then every added backend and every replacement takes the
// next number. A removed backend keeps its number and its counters; its
// number is never reused.
type Event struct {
	// At is when the change happens, from the cluster's start.
	At time.Duration `yaml:"at"`
	// Add starts this many new backends (at least 1), each on a new port.
	Add *int `yaml:"add"`
	// Remove takes this backend out of the membership and stops it.
	Remove *int `yaml:"remove"`
	// Replace removes this backend and starts a fresh one in its place (a
	// new number, a new port) in one membership change.
	Replace *int `yaml:"replace"`
	// Drain, with Remove or Replace, is how long the removed backend keeps
	// serving after it has left the membership (default 0: it stops at
	// once, in-flight calls finishing within a second). A drain longer
	// than the discovery delay lets clients move away before it stops (at
	// most an hour).
	Drain *time.Duration `yaml:"drain"`
}

// kind returns the event's kind word, or "" when not exactly one is set.
func (e Event) kind() string {
	var ks []string
	if e.Add != nil {
		ks = append(ks, "add")
	}
	if e.Remove != nil {
		ks = append(ks, "remove")
	}
	if e.Replace != nil {
		ks = append(ks, "replace")
	}
	if len(ks) != 1 {
		return ""
	}
	return ks[0]
}

// sortedEvents returns the indexes of events in the order they happen: by
// At, and in file order for equal times.
func sortedEvents(events []Event) []int {
	idx := make([]int, len(events))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(events[a].At, events[b].At) })
	return idx
}

// totalBackends returns how many backends the cluster starts over its life
// if every event applies: the number a fault's backend index must be below.
func (c Config) totalBackends() int {
	n := c.Backends
	for _, e := range c.Events {
		switch {
		case e.Add != nil && *e.Add > 0 && *e.Add <= maxBackends:
			n += *e.Add
		case e.Replace != nil:
			n++
		}
	}
	return n
}

// validateEvents checks each event and replays them in time order, so an
// event naming a backend that does not exist (or no longer exists) at its
// time is reported at its own path (events[3].remove).
func (c Config) validateEvents() []error {
	var errs []error
	fail := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	live := make([]int, c.Backends)
	for i := range live {
		live[i] = i
	}
	next := c.Backends
	gone := map[int]string{} // backend → when and by which event it went
	for _, i := range sortedEvents(c.Events) {
		e := c.Events[i]
		p := fmt.Sprintf("events[%d]", i)
		if e.At < 0 {
			fail(p+".at", "must not be negative, got %s", e.At)
		}
		k := e.kind()
		if k == "" {
			fail(p, "give exactly one of add, remove and replace")
			continue
		}
		if e.Drain != nil && (k == "add" || *e.Drain < 0 || *e.Drain > maxDrain) {
			if k == "add" {
				fail(p+".drain", "applies to remove and replace only")
			} else {
				fail(p+".drain", "must be between 0 and %s, got %s", maxDrain, *e.Drain)
			}
		}
		switch k {
		case "add":
			if *e.Add < 1 || *e.Add > maxBackends {
				fail(p+".add", "must be between 1 and %d (the number of backends to add), got %d", maxBackends, *e.Add)
				continue
			}
			for range *e.Add {
				live = append(live, next)
				next++
			}
		case "remove", "replace":
			var b int
			if k == "remove" {
				b = *e.Remove
			} else {
				b = *e.Replace
			}
			at := slices.Index(live, b)
			switch {
			case at < 0 && gone[b] != "":
				fail(p+"."+k, "backend %d no longer exists at %s: %s", b, e.At, gone[b])
				continue
			case at < 0:
				fail(p+"."+k, "backend %d does not exist at %s (backends then: %s)", b, e.At, intsList(live))
				continue
			case k == "remove" && len(live) == 1:
				fail(p+".remove", "would leave no backend at %s", e.At)
				continue
			}
			live = slices.Delete(live, at, at+1)
			gone[b] = fmt.Sprintf("removed at %s by events[%d]", e.At, i)
			if k == "replace" {
				live = append(live, next)
				next++
			}
		}
		if len(live) > maxBackends {
			fail(p, "would run %d backends at once (at most %d)", len(live), maxBackends)
		}
		if next > maxBackendsEver {
			fail(p, "would start backend %d (at most %d over a run)", next, maxBackendsEver)
			break
		}
	}
	return errs
}

func intsList(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// errNoBackend is returned for a membership change naming a backend that
// is not a member.
var errNoBackend = errors.New("no such member backend")
