package calldata_test

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"

	"github.com/grpcbench/grpcbench/calldata"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/methods"
)

var interopSet = sync.OnceValues(func() (*methods.Set, error) {
	return methods.FromFiles("interop", testserver.InteropFile())
})

func interop(t testing.TB, name string) *methods.Method {
	t.Helper()
	set, err := interopSet()
	if err != nil {
		t.Fatal(err)
	}
	m, err := set.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func vars(seed uint64) *calldata.Vars {
	return &calldata.Vars{Call: 7, Worker: 2, Cell: "pool.size=4#1", Repeat: 1,
		Intended: time.Date(2026, 11, 30, 12, 0, 0, 5, time.UTC), Rand: rand.New(rand.NewPCG(seed, 1))}
}

func TestTemplates(t *testing.T) {
	for _, tt := range []struct {
		src, want, wantRe, wantErr string
	}{
		{src: "plain", want: "plain"},
		{src: "c{{call}}-w{{worker}}-{{cell}}-r{{repeat}}", want: "c7-w2-pool.size=4#1-r1"},
		{src: "{{ .call }}", want: "7"},
		{src: "{{intended}}", want: "2026-11-30T12:00:00.000000005Z"},
		{src: "{{intendedUnixMilli}}", want: "1796040000000"},
		{src: "t-{{randomInt 1 50}}", wantRe: `^t-([1-9]|[1-4][0-9]|50)$`},
		{src: "{{randomString 12}}", wantRe: `^[A-Za-z0-9]{12}$`},
		{src: "{{uuid}}", wantRe: `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
		{src: "{{randomInt 5 5}}", want: "5"},
		{src: "{{randomStrin 3}}", wantErr: `unknown template variable "randomStrin" (did you mean "randomString"?)`},
		{src: "{{nope}}", wantErr: `unknown template variable "nope"`},
		{src: "{{randomInt 1}}", wantErr: "takes 2 argument(s), got 1"},
		{src: "{{randomInt a b}}", wantErr: `argument "a" is not an integer`},
		{src: "{{randomInt 9 1}}", wantErr: "the minimum is above the maximum"},
		{src: "{{randomString 0}}", wantErr: "length must be between"},
		{src: "x {{call", wantErr: "is not closed"},
		{src: "{{}}", wantErr: "empty action"},
	} {
		tmpl, err := calldata.ParseTemplate(tt.src)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTemplate(%q) error = %v, want %q", tt.src, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTemplate(%q): %v", tt.src, err)
			continue
		}
		for range 50 {
			got := string(tmpl.Append(nil, vars(uint64(len(tt.src)))))
			if tt.want != "" && got != tt.want {
				t.Errorf("%q rendered %q, want %q", tt.src, got, tt.want)
			}
			if tt.wantRe != "" && !regexp.MustCompile(tt.wantRe).MatchString(got) {
				t.Errorf("%q rendered %q, want /%s/", tt.src, got, tt.wantRe)
			}
		}
	}
}

// The same seed gives the same sequence of random values.
func TestTemplateSeeded(t *testing.T) {
	tmpl, err := calldata.ParseTemplate("{{randomString 8}}/{{uuid}}/{{randomInt 0 1000000}}")
	if err != nil {
		t.Fatal(err)
	}
	seq := func(seed uint64) []string {
		v := vars(seed)
		var out []string
		for range 100 {
			out = append(out, string(tmpl.Append(nil, v)))
		}
		return out
	}
	a, b, c := seq(42), seq(42), seq(43)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Error("seed 42 twice gave different sequences")
	}
	if strings.Join(a, ",") == strings.Join(c, ",") {
		t.Error("seeds 42 and 43 gave the same sequence")
	}
}

func encode(t *testing.T, r *calldata.Request, i int, v *calldata.Vars, into proto.Message) {
	t.Helper()
	b, err := r.NewEncoder().Append(nil, i, v)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, into); err != nil {
		t.Fatalf("encoded bytes do not decode as %T: %v", into, err)
	}
}

func TestCompileConstant(t *testing.T) {
	m := interop(t, "grpc.testing.TestService/UnaryCall")
	r, err := calldata.Compile(m, map[string]any{"response_size": 100, "payload": map[string]any{"body": "AAAA"}, "fillUsername": true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Constant() {
		t.Error("constant data not Constant()")
	}
	var got testpb.SimpleRequest
	encode(t, r, 0, vars(1), &got)
	want := &testpb.SimpleRequest{ResponseSize: 100, Payload: &testpb.Payload{Body: []byte{0, 0, 0}}, FillUsername: true}
	if !proto.Equal(&got, want) {
		t.Errorf("got %v, want %v", &got, want)
	}
	// The same data as a JSON string.
	r2, err := calldata.Compile(m, `{"responseSize": 100, "payload": {"body": "AAAA"}, "fill_username": true}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got2 testpb.SimpleRequest
	encode(t, r2, 0, vars(1), &got2)
	if !proto.Equal(&got2, want) {
		t.Errorf("JSON form: got %v, want %v", &got2, want)
	}
}

func TestCompileTemplated(t *testing.T) {
	m := interop(t, "grpc.testing.TestService/UnaryCall")
	r, err := calldata.Compile(m, map[string]any{
		"response_size":   "{{randomInt 10 20}}",
		"payload":         map[string]any{"body": "k-{{call}}", "type": "COMPRESSABLE"},
		"response_status": map[string]any{"message": "w{{worker}}"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Constant() {
		t.Error("templated data is Constant()")
	}
	var got testpb.SimpleRequest
	encode(t, r, 0, vars(1), &got)
	if got.ResponseSize < 10 || got.ResponseSize > 20 || string(got.Payload.GetBody()) != "k-7" ||
		got.Payload.GetType() != testpb.PayloadType_COMPRESSABLE || got.ResponseStatus.GetMessage() != "w2" {
		t.Errorf("got %v", &got)
	}
}

func TestCompileStreamsAndSlowPath(t *testing.T) {
	m := interop(t, "grpc.testing.TestService/FullDuplexCall")
	r, err := calldata.Compile(m, []any{
		map[string]any{"response_parameters": []any{map[string]any{"size": "{{randomInt 1 9}}"}}},
		map[string]any{"response_parameters": []any{map[string]any{"size": 50}, map[string]any{"size": 60}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 2 {
		t.Fatalf("Len = %d", r.Len())
	}
	var first, second, third testpb.StreamingOutputCallRequest
	encode(t, r, 0, vars(3), &first)
	encode(t, r, 1, vars(3), &second)
	encode(t, r, 2, vars(3), &third) // cycles to the first
	if n := len(first.ResponseParameters); n != 1 || first.ResponseParameters[0].Size < 1 || first.ResponseParameters[0].Size > 9 {
		t.Errorf("first = %v", &first)
	}
	if len(second.ResponseParameters) != 2 || second.ResponseParameters[1].Size != 60 {
		t.Errorf("second = %v", &second)
	}
	if len(third.ResponseParameters) != 1 {
		t.Errorf("third = %v (want the first again)", &third)
	}
}

func TestCompileErrors(t *testing.T) {
	unary := interop(t, "grpc.testing.TestService/UnaryCall")
	for _, tt := range []struct {
		name string
		data any
		want string
	}{
		{"unknown field", map[string]any{"payload": map[string]any{"bodyy": "AA=="}}, `payload.bodyy: the message grpc.testing.Payload has no field "bodyy" (did you mean "body"?)`},
		{"wrong type", map[string]any{"response_size": "many"}, `response_size: expected an integer in range for int32 field response_size, got the string "many"`},
		{"out of range", map[string]any{"response_size": 1 << 40}, `response_size: expected an integer in range`},
		{"not an object", map[string]any{"payload": 3}, `payload: expected an object (fields of grpc.testing.Payload), got the number 3`},
		{"bad base64", map[string]any{"payload": map[string]any{"body": "not base64!"}}, `payload.body: bytes field body takes base64 text`},
		{"bad enum", map[string]any{"response_type": "COMPRESABLE"}, `response_type: "COMPRESABLE" is not a value of the enum grpc.testing.PayloadType (did you mean "COMPRESSABLE"?)`},
		{"list for unary", []any{map[string]any{}}, "a list of messages is for client-streaming and bidi methods; UnaryCall (unary) takes one message"},
		{"bad template", map[string]any{"payload": map[string]any{"body": "{{randomStrng 4}}"}}, `payload.body: template "{{randomStrng 4}}": unknown template variable "randomStrng" (did you mean "randomString"?)`},
		{"not JSON", `{"response_size": }`, "is a string but not JSON"},
		{"repeated not a list", map[string]any{"response_status": map[string]any{"code": []any{1}}}, "expected an integer in range"},
	} {
		_, err := calldata.Compile(unary, tt.data, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v\nwant it to contain %q", tt.name, err, tt.want)
		}
	}
	_, err := calldata.Compile(interop(t, "grpc.testing.TestService/StreamingInputCall"), []any{}, nil)
	if err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty list: %v", err)
	}
}

// A template whose output does not fit its field fails the call, with the
// path.
func TestTemplateOutputMismatch(t *testing.T) {
	m := interop(t, "grpc.testing.TestService/UnaryCall")
	r, err := calldata.Compile(m, map[string]any{"response_size": "n{{call}}"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.NewEncoder().Append(nil, 0, vars(1))
	if err == nil || !strings.Contains(err.Error(), "response_size") {
		t.Errorf("err = %v", err)
	}
	r, err = calldata.Compile(m, map[string]any{"fill_username": "{{randomInt 0 1}}"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = r.NewEncoder().Append(nil, 0, vars(1)); err == nil || !strings.Contains(err.Error(), "not true or false") {
		t.Errorf("bool from 0/1: err = %v", err)
	}
}

func TestMetadata(t *testing.T) {
	md, err := calldata.CompileMetadata(map[string]string{"X-Tenant": "t-{{worker}}", "x-fixed": "v"})
	if err != nil {
		t.Fatal(err)
	}
	var scratch []byte
	got := md.AppendPairs(nil, vars(1), &scratch)
	if strings.Join(got, ",") != "x-fixed,v,x-tenant,t-2" {
		t.Errorf("pairs = %v", got)
	}
	if _, err := calldata.CompileMetadata(map[string]string{"k": "{{bad}}"}); err == nil || !strings.Contains(err.Error(), "k: template") {
		t.Errorf("bad template in metadata: %v", err)
	}
}
