package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/calldata"
	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/dial"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/methods"
	"github.com/grpcbench/grpcbench/retry"
)

// ErrUnreachable is returned (wrapped) when the target cannot be reached
// (or its TLS handshake fails): the run cannot be carried out, though the
// scenario may be right. It is dial.ErrUnreachable.
var ErrUnreachable = dial.ErrUnreachable

// reflectionTimeout bounds asking a server for its methods.
const reflectionTimeout = 15 * time.Second

// defaultMessages is a stream's length when a mix entry does not say.
const defaultMessages = 10

// call is one mix entry, compiled: its method and the requests it sends.
type call struct {
	method   *methods.Method
	entry    int     // the mix entry's index in callSet.calls
	index    int     // the method's index in callSet.names (the recorder's)
	cumul    float64 // cumulative normalised weight, for picking
	messages int     // client-stream requests or bidi exchanges
	req      *calldata.Request
	md       *calldata.Metadata
	// fixed holds each message's bytes when every call sends the same.
	fixed []*client.Payload

	// The entry's policies (its own, or the client's): retry in the
	// wrapper mode, or hedging; the codes a give-up counts; timeout and
	// wait_for_ready overrides; per-RPC credentials from secret metadata.
	retry        *retry.Policy
	hedging      *retry.HedgingPolicy
	retryable    [17]bool
	timeout      *time.Duration
	waitForReady *bool
	creds        grpc.CallOption
}

// callOptions returns the client's call options with the entry's
// overrides.
func (c *call) callOptions(base client.CallOptions) client.CallOptions {
	if c.timeout != nil {
		base.Timeout = *c.timeout
	}
	if c.waitForReady != nil {
		base.WaitForReady = *c.waitForReady
	}
	if c.creds != nil {
		base.Extra = append(append([]grpc.CallOption(nil), base.Extra...), c.creds)
	}
	return base
}

// callSet is a scenario's mix, compiled.
type callSet struct {
	calls []call
	names []string // distinct method names, in mix order: the recorder's methods
	// decode says whether responses are decoded (else only counted).
	decode bool
}

// pick returns the call for a uniform variate u in [0, 1).
func (cs *callSet) pick(u float64) *call {
	for i := range cs.calls {
		if u < cs.calls[i].cumul {
			return &cs.calls[i]
		}
	}
	return &cs.calls[len(cs.calls)-1]
}

// resolver finds method descriptors and compiles mix entries, once per
// distinct configuration: the cells of a matrix share its work.
type resolver struct {
	ctx      context.Context
	dir      string
	sets     map[string]*methods.Set // by source key
	compiled map[string]*callSet     // by compile key
	mu       sync.Mutex
}

func newResolver(ctx context.Context, dir string) *resolver {
	return &resolver{ctx: ctx, dir: dir, sets: map[string]*methods.Set{}, compiled: map[string]*callSet{}}
}

// close releases what resolving held (nothing stays open today; kept so
// callers need not change when it does).
func (r *resolver) close() {}

// path makes a scenario path relative to the scenario's directory.
func (r *resolver) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.dir, p)
}

// compile resolves the methods of s's mix and compiles their data, setting
// s.calls. Errors are field errors with paths from the scenario's root.
func (r *resolver) compile(s *Scenario) error {
	key, err := compileKey(s)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cs, ok := r.compiled[key]; ok {
		s.calls = cs
		setMessages(s, cs)
		return nil
	}
	cs := &callSet{decode: s.Client.DecodeResponses == nil || *s.Client.DecodeResponses}
	var errs []error
	total := 0.0
	for _, e := range s.Mix {
		total += e.Weight
	}
	usesDefaults := false
	cum := 0.0
	for i, e := range s.Mix {
		p := fmt.Sprintf("mix[%d]", i)
		c, defaults, err := r.compileEntry(s, e, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		usesDefaults = usesDefaults || defaults
		cum += e.Weight / total
		c.cumul = cum
		c.index = indexOf(&cs.names, c.method.Name())
		c.entry = len(cs.calls)
		cs.calls = append(cs.calls, *c)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if !usesDefaults && s.Payload != (Payload{}) {
		return field.Errorf("payload", "sizes the built-in UserService's default requests, and no mix entry uses one: set request fields in mix[].data")
	}
	cs.calls[len(cs.calls)-1].cumul = 1
	r.compiled[key] = cs
	s.calls = cs
	setMessages(s, cs)
	return nil
}

// setMessages echoes each entry's effective stream length in the scenario.
func setMessages(s *Scenario, cs *callSet) {
	for i := range s.Mix {
		if i < len(cs.calls) && cs.calls[i].messages > 0 {
			s.Mix[i].Messages = cs.calls[i].messages
		}
	}
}

func indexOf(names *[]string, n string) int {
	for i, x := range *names {
		if x == n {
			return i
		}
	}
	*names = append(*names, n)
	return len(*names) - 1
}

// compileKey identifies what compiling a scenario's mix depends on.
func compileKey(s *Scenario) (string, error) {
	b, err := yaml.Marshal(struct {
		Client      Client
		Target      dial.Target
		Reflection  *bool
		Protoset    []string
		Proto       []string
		ImportPaths []string
		Mix         []MixEntry
		Payload     Payload
		Decode      *bool
	}{s.Client, s.Server.Target, s.Server.Reflection, s.Server.Protoset, s.Server.Proto, s.Server.ImportPaths, s.Mix, s.Payload, s.Client.DecodeResponses})
	return string(b), err
}

// compileEntry compiles one mix entry; defaults reports whether it uses the
// built-in service's default request.
func (r *resolver) compileEntry(s *Scenario, e MixEntry, p string) (*call, bool, error) {
	set, err := r.source(s, e.Call)
	if err != nil {
		return nil, false, field.Wrap(p+".call", err)
	}
	m, err := set.Lookup(e.Call)
	if err != nil {
		return nil, false, field.Errorf(p+".call", "%v", err)
	}
	c := &call{method: m}
	data, hasData, err := r.data(e, p)
	if err != nil {
		return nil, false, err
	}
	defaults := set == methods.Builtin() && !hasData
	if err := c.setMessages(e, p, defaults, data); err != nil {
		return nil, false, err
	}
	if defaults {
		c.req, err = calldata.FromMessages(m, builtinRequest(m, s.Payload, c.messages))
		if err != nil {
			return nil, false, field.Errorf(p, "%v", err)
		}
	} else if c.req, err = calldata.Compile(m, data, set.Types()); err != nil {
		return nil, false, field.Prefix(p+".data", err)
	}
	if c.req.Constant() {
		enc := c.req.NewEncoder()
		for i := range c.req.Len() {
			b, err := enc.Append(nil, i, &calldata.Vars{})
			if err != nil {
				return nil, false, field.Errorf(p+".data", "%v", err)
			}
			c.fixed = append(c.fixed, &client.Payload{B: b})
		}
	}
	if err := c.setPolicy(s, e, p); err != nil {
		return nil, false, err
	}
	return c, defaults, nil
}

// setPolicy sets the entry's metadata and its per-method policies: its own
// retry, hedging, timeout and wait_for_ready, or the client's.
func (c *call) setPolicy(s *Scenario, e MixEntry, p string) error {
	md, err := dial.ExpandMetadata(e.Metadata)
	if err != nil {
		return field.Prefix(p+".metadata", err)
	}
	if c.md, err = calldata.CompileMetadata(md.Plain); err != nil {
		return field.Prefix(p+".metadata", err)
	}
	if len(md.Secret) > 0 {
		c.creds = s.Client.Config.CallCredentials(md.Secret)
	}
	cl := &s.Client
	switch {
	case e.Hedging != nil:
		c.hedging = e.Hedging
	case e.Retry != nil:
		c.retry = e.Retry
	default:
		c.hedging = cl.Hedging
		if cl.Retry != nil && cl.Retry.Mode != retry.ModeNative {
			c.retry = cl.Retry
		}
	}
	codesFrom := cl.Retry
	if e.Retry != nil {
		codesFrom = e.Retry
	}
	if codesFrom != nil && e.Hedging == nil {
		for _, code := range codesFrom.Codes {
			if int(code) < len(c.retryable) {
				c.retryable[code] = true
			}
		}
	}
	c.timeout, c.waitForReady = e.Timeout, e.WaitForReady
	return nil
}

// setMessages checks and defaults the entry's stream length for its kind.
func (c *call) setMessages(e MixEntry, p string, defaults bool, data any) error {
	m := c.method
	switch m.Kind() {
	case methods.Unary:
		if e.Messages != 0 {
			return field.Errorf(p+".messages", "%s is unary; messages applies to streams", m.Short())
		}
	case methods.ServerStream:
		switch {
		case defaults:
			// The built-in ListUsers: messages is its page size.
			c.messages = defaultMessages
			if e.Messages != 0 {
				c.messages = e.Messages
			}
		case e.Messages != 0:
			return field.Errorf(p+".messages", "%s is a server stream: the server decides how many messages it sends (set what it needs in data)", m.Short())
		}
	default:
		c.messages = defaultMessages
		if list, ok := data.([]any); ok && len(list) > 0 {
			c.messages = len(list)
		}
		if e.Messages != 0 {
			c.messages = e.Messages
		}
	}
	return nil
}

// data reads an entry's request data: from data (decoded YAML, or a JSON
// string) or data_file. hasData is false when neither is given.
func (r *resolver) data(e MixEntry, p string) (data any, hasData bool, err error) {
	switch {
	case e.DataFile != "":
		b, err := os.ReadFile(r.path(e.DataFile))
		if err != nil {
			return nil, false, field.Errorf(p+".data_file", "%v", err)
		}
		if err := yaml.Unmarshal(b, &data); err != nil {
			return nil, false, field.Errorf(p+".data_file", "%s: not JSON or YAML: %v", e.DataFile, err)
		}
		return data, true, nil
	case e.Data.Node != nil:
		if err := e.Data.Node.Decode(&data); err != nil {
			return nil, false, field.Errorf(p+".data", "%v", err)
		}
		return data, true, nil
	}
	return nil, false, nil
}

// source returns the descriptor set a call is looked up in: the files
// given, else the built-in service when it has the method, else the
// server's reflection (unless turned off).
func (r *resolver) source(s *Scenario, name string) (*methods.Set, error) {
	srv := &s.Server
	switch {
	case len(srv.Protoset) > 0:
		return r.cached("protoset "+strings.Join(srv.Protoset, ","), func() (*methods.Set, error) {
			return methods.FromProtoset(r.paths(srv.Protoset)...)
		})
	case len(srv.Proto) > 0:
		return r.cached("proto "+strings.Join(srv.Proto, ",")+" "+strings.Join(srv.ImportPaths, ","), func() (*methods.Set, error) {
			return methods.FromProtoFiles(r.ctx, r.paths(srv.Proto), r.paths(srv.ImportPaths))
		})
	}
	reflect := srv.Reflection != nil && *srv.Reflection
	if !reflect {
		if _, err := methods.Builtin().Lookup(name); err == nil {
			return methods.Builtin(), nil
		} else if srv.Reflection != nil {
			return nil, fmt.Errorf("%v; server.reflection is false: give server.proto or server.protoset for other services", err)
		}
	}
	return r.cached(fmt.Sprintf("reflection %v", srv.Target), func() (*methods.Set, error) { return r.reflect(s) })
}

func (r *resolver) paths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = r.path(p)
	}
	return out
}

func (r *resolver) cached(key string, load func() (*methods.Set, error)) (*methods.Set, error) {
	if set, ok := r.sets[key]; ok {
		return set, nil
	}
	set, err := load()
	if err != nil {
		return nil, err
	}
	r.sets[key] = set
	return set, nil
}

// reflect asks the scenario's server for its methods: the external target
// (over the scenario's TLS and credentials), or a plaintext fake server
// started for the purpose (it serves what the embedded fake server serves).
func (r *resolver) reflect(s *Scenario) (*methods.Set, error) {
	ctx, cancel := context.WithTimeout(r.ctx, reflectionTimeout)
	defer cancel()
	target, cfg := s.Server.Target, s.Client.Config
	if target.IsZero() {
		cl, err := fakeserver.Start(ctx, fakeserver.Config{Backends: 1})
		if err != nil {
			return nil, err
		}
		defer cl.Stop()
		target, cfg = dial.Target{Target: cl.Addrs()[0]}, dial.Config{}
	}
	md, err := dial.ExpandMetadata(s.Client.Metadata)
	if err != nil {
		return nil, err
	}
	d, err := cfg.NewDialer(target, md.Secret)
	if err != nil {
		return nil, err
	}
	cc, err := grpc.NewClient(d.Target(), d.DialOptions()...)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	set, err := methods.FromReflection(ctx, cc)
	name := targetName(target)
	switch {
	case err == nil:
		return set, nil
	case errors.Is(err, methods.ErrNoReflection):
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if c := status.Code(err); c == codes.Unavailable || c == codes.DeadlineExceeded {
		return nil, fmt.Errorf("server reflection at %s: %w: %v", name, ErrUnreachable, status.Convert(err).Message())
	}
	return nil, fmt.Errorf("server reflection at %s: %w", name, err)
}

// targetName names a target in messages.
func targetName(t dial.Target) string {
	if t.Target != "" {
		return t.Target
	}
	return strings.Join(t.Targets, ",")
}

// builtinRequest is the built-in UserService's default request for m:
// fixed field values, padding bytes and the response padding asked for,
// and for ListUsers the page size.
func builtinRequest(m *methods.Method, p Payload, messages int) proto.Message {
	msg := dynamicpb.NewMessage(m.Input())
	fields := msg.Descriptor().Fields()
	set := func(name string, v protoreflect.Value) {
		if fd := fields.ByName(protoreflect.Name(name)); fd != nil {
			msg.Set(fd, v)
		}
	}
	set("username", protoreflect.ValueOfString("bench"))
	set("email", protoreflect.ValueOfString("bench@example.test"))
	set("full_name", protoreflect.ValueOfString("Bench User"))
	set("user_id", protoreflect.ValueOfString("u1"))
	if p.RequestBytes > 0 {
		set("padding", protoreflect.ValueOfBytes(make([]byte, p.RequestBytes)))
	}
	if p.ResponseBytes > 0 {
		set("response_padding", protoreflect.ValueOfInt32(int32(p.ResponseBytes)))
	}
	if m.Kind() == methods.ServerStream {
		set("page_size", protoreflect.ValueOfInt32(int32(messages)))
	}
	return msg
}
