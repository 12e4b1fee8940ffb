package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// scenarioFlag is a flag that sets one scenario field: the flag and the
// YAML share one name for each setting ("--rate" is load.rate).
type scenarioFlag struct {
	name, path, usage string
	// value turns the flag's text into the YAML of the field.
	value func(string) (string, error)
	// extra are further "path=value" settings the flag implies.
	extra []string
	// list flags may be repeated and set a YAML list.
	list bool
	// paths hold file names, made absolute so a printed scenario works
	// from any directory.
	paths bool
}

// scenarioFlags are the flags that make a one-line run without a file, or
// override a file's fields. Each is a --set in disguise.
var scenarioFlags = []scenarioFlag{
	{name: "target", path: "server.target", usage: "the server to call: host:port, dns:///name:port, unix:///path, or a,b,c (a list behind one resolver); default: the embedded fake server"},
	{name: "call", path: "mix", usage: "the method to call, package.Service/Method (replaces the file's mix)",
		value: func(s string) (string, error) { return "[{call: " + strconv.Quote(s) + "}]", nil }},
	{name: "data", path: "mix[0].data", usage: "the request as JSON, e.g. '{\"id\": 1}'; templates allowed ({{randomInt 1 50}})", value: jsonValue},
	{name: "data-file", path: "mix[0].data_file", usage: "read the request from a JSON or YAML file", paths: true},
	{name: "messages", path: "mix[0].messages", usage: "stream length: requests of a client stream, exchanges of a bidi stream"},
	{name: "proto", paths: true, path: "server.proto", usage: "a .proto file describing the method (repeatable)", list: true},
	{name: "import-path", paths: true, path: "server.import_paths", usage: "a directory searched for .proto imports (repeatable)", list: true},
	{name: "protoset", paths: true, path: "server.protoset", usage: "a protoset (FileDescriptorSet) describing the method (repeatable)", list: true},
	{name: "rate", path: "load.rate", usage: "open model: calls per second", extra: []string{"load.model=open"}},
	{name: "workers", path: "load.workers", usage: "closed model: workers calling back to back", extra: []string{"load.model=closed"}},
	{name: "duration", path: "load.duration", usage: "recorded phase, e.g. 10s"},
	{name: "warmup", path: "load.warmup", usage: "unrecorded warm-up before it, e.g. 2s"},
	{name: "max-inflight", path: "load.max_inflight", usage: "open model: most calls outstanding"},
	{name: "timeout", path: "client.timeout", usage: "deadline of each call, e.g. 2s"},
	{name: "repeat", path: "repeat", usage: "run every cell this many times"},
	{name: "seed", path: "seed", usage: "seed of the call mix, templates, arrivals and faults"},
}

// oneLine holds the scenario flags of a run.
type oneLine struct {
	fs       *pflag.FlagSet
	metadata *[]string
	// labels maps each override made from a flag to the flag as written,
	// so errors name the flag rather than the override.
	labels map[string]string
}

// addScenarioFlags registers the scenario flags on fs.
func addScenarioFlags(fs *pflag.FlagSet) *oneLine {
	for _, f := range scenarioFlags {
		if f.list {
			fs.StringArray(f.name, nil, f.usage)
		} else {
			fs.String(f.name, "", f.usage)
		}
	}
	return &oneLine{fs: fs, labels: map[string]string{},
		metadata: fs.StringArray("metadata", nil, "request metadata key=value for every call (repeatable; templates allowed)")}
}

// used reports whether any scenario flag was given.
func (o *oneLine) used() bool {
	for _, f := range scenarioFlags {
		if o.fs.Changed(f.name) {
			return true
		}
	}
	return o.fs.Changed("metadata")
}

// sets turns the given scenario flags into "path=value" overrides, in flag
// order so that --call (which replaces the mix) comes before --data.
func (o *oneLine) sets() ([]string, error) {
	var out []string
	for _, f := range scenarioFlags {
		if !o.fs.Changed(f.name) {
			continue
		}
		var raw string
		if f.list {
			vals := o.fs.Lookup(f.name).Value.(pflag.SliceValue).GetSlice()
			if f.paths {
				vals = absPaths(vals)
			}
			raw = "[" + quoteAll(vals) + "]"
		} else {
			raw = o.fs.Lookup(f.name).Value.String()
			if f.paths {
				raw = strconv.Quote(absPaths([]string{raw})[0])
			}
			if f.value != nil {
				v, err := f.value(raw)
				if err != nil {
					return nil, usageErrorf("--%s: %w", f.name, err)
				}
				raw = v
			}
		}
		path := f.path
		if f.name == "target" && strings.Contains(raw, ",") {
			// A list: server.targets, so balancing spreads calls over them.
			path, raw = "server.targets", "["+quoteAll(strings.Split(raw, ","))+"]"
		}
		kv := path + "=" + raw
		o.labels["--set "+kv] = "--" + f.name
		out = append(out, kv)
		out = append(out, f.extra...)
	}
	for _, kv := range *o.metadata {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErrorf("--metadata %q: want key=value", kv)
		}
		set := "client.metadata." + strings.TrimSpace(k) + "=" + strconv.Quote(v)
		o.labels["--set "+set] = "--metadata " + kv
		out = append(out, set)
	}
	return out, nil
}

// jsonValue passes JSON through as a YAML value (JSON is YAML); a string
// that is not an object or a list stays a string, which the data checker
// reports.
func jsonValue(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fmt.Errorf("empty data")
	}
	if t[0] == '{' || t[0] == '[' {
		return t, nil
	}
	return strconv.Quote(t), nil
}

func quoteAll(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

func absPaths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		out[i] = p
	}
	return out
}

// relabel names the flags behind overrides in err's message; errors.Is and
// errors.As still see err.
func (o *oneLine) relabel(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for from, to := range o.labels {
		msg = strings.ReplaceAll(msg, from, to)
	}
	if msg == err.Error() {
		return err
	}
	return &relabeled{msg: msg, err: err}
}

type relabeled struct {
	msg string
	err error
}

func (r *relabeled) Error() string { return r.msg }
func (r *relabeled) Unwrap() error { return r.err }
