package calldata_test

import (
	"testing"

	"github.com/grpcbench/grpcbench/calldata"
)

// FuzzParseTemplate: any string parses or fails, never panics; a parsed
// template renders.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"", "x", "{{call}}", "{{randomInt 1 50}}-{{uuid}}", "{{", "}}{{", "{{randomString 99999999999}}", "{{randomInt -9223372036854775808 9223372036854775807}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := calldata.ParseTemplate(s)
		if err != nil {
			return
		}
		_ = tmpl.Append(nil, vars(1))
	})
}

// FuzzCompile: any JSON data compiles or fails with an error for each of
// the four interop patterns, and compiled data encodes.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{`{}`, `{"response_size": 3}`, `{"payload": {"body": "{{randomString 3}}"}}`, `[{"response_parameters": [{"size": "{{call}}"}]}]`, `{"x": 1}`, `[]`, `null`, `"s"`, `{"response_status": {"code": "{{randomInt 1 3}}"}}`} {
		f.Add(s)
	}
	names := []string{"UnaryCall", "StreamingOutputCall", "StreamingInputCall", "FullDuplexCall"}
	f.Fuzz(func(t *testing.T, data string) {
		for _, n := range names {
			r, err := calldata.Compile(interop(t, "grpc.testing.TestService/"+n), data, nil)
			if err != nil {
				continue
			}
			e := r.NewEncoder()
			for i := range 3 {
				_, _ = e.Append(nil, i, vars(1))
			}
		}
	})
}
