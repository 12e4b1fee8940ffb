package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/results"
)

// A one-line run against grpc-go's interop TestService found by
// reflection, as a user coming from ghz would type it.
func TestOneLineRunByReflection(t *testing.T) {
	addr := testserver.Interop(t, testserver.InteropOptions{Reflection: true})
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI(context.Background(), "run", "--target", addr,
		"--call", "grpc.testing.TestService/UnaryCall", "--data", `{"response_size": 64, "payload": {"body": "AAAA"}}`,
		"--metadata", "x-tenant=t-{{randomInt 1 5}}", "--rate", "100", "--duration", "1s", "-o", out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	run, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ms := run.Cells[0].Methods["grpc.testing.TestService/UnaryCall"]
	if ms == nil || ms.Calls != 100 || ms.Errors != 0 {
		t.Fatalf("UnaryCall: %+v", ms)
	}
	if run.Name != "UnaryCall" {
		t.Errorf("run name %q, want the method's", run.Name)
	}
}

// --print-scenario writes the scenario the flags make; run from a file it
// gives the same cells.
func TestPrintScenarioRoundTrip(t *testing.T) {
	args := []string{"--call", "GetUser", "--data", `{"user_id": "u-{{randomString 4}}"}`, "--rate", "50",
		"--duration", "500ms", "--repeat", "2", "--set", "client.pool.size=2"}
	code, doc, stderr := runCLI(context.Background(), append([]string{"run", "--print-scenario"}, args...)...)
	if code != exitOK || !strings.Contains(doc, "GetUser") {
		t.Fatalf("exit %d\n%s\n%s", code, doc, stderr)
	}
	file := writeFile(t, "saved.yaml", doc)
	dir := t.TempDir()
	runs := map[string][]string{}
	for name, argv := range map[string][]string{
		"flags": args,
		"file":  {file},
	} {
		out := filepath.Join(dir, name+".json")
		code, stdout, stderr := runCLI(context.Background(), append([]string{"run", "-o", out}, argv...)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s\n%s", name, code, stdout, stderr)
		}
		run, err := results.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range run.Cells {
			runs[name] = append(runs[name], c.ID)
			if c.All == nil || c.All.Calls != 25 || c.All.Errors != 0 {
				t.Errorf("%s: %s: %+v", name, c.ID, c.All)
			}
		}
	}
	if strings.Join(runs["flags"], ",") != strings.Join(runs["file"], ",") || len(runs["file"]) != 2 {
		t.Errorf("cells differ: flags %v, file %v", runs["flags"], runs["file"])
	}
}

// Errors of a one-line run name the flag; a target that cannot be reached
// exits 3, a server without reflection 2 with what to do.
func TestOneLineErrors(t *testing.T) {
	noRefl := testserver.Interop(t, testserver.InteropOptions{})
	closed := testserver.ClosedAddr(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file, no call", []string{"--rate", "10"}, exitUsage, "needs a scenario file, or --call"},
		{"reflection not served", []string{"--target", noRefl, "--call", "grpc.testing.TestService/UnaryCall"}, exitUsage,
			"the server does not serve reflection: give server.proto or server.protoset"},
		{"unreachable", []string{"--target", closed, "--call", "x.v1.S/M"}, exitFailure, "cannot reach: connection error"},
		{"bad data names the flag", []string{"--call", "GetUser", "--data", `{"user": 1}`}, exitUsage,
			`(--data): mix[0].data.user: the message grpcbench.user.v1.GetUserRequest has no field "user"`},
		{"bad metadata", []string{"--call", "GetUser", "--metadata", "novalue"}, exitUsage, `--metadata "novalue": want key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(context.Background(), append([]string{"run", "-o", filepath.Join(t.TempDir(), "r.json"), "--duration", "500ms"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// init --call writes a scenario for a method found by reflection, with a
// skeleton of its request that validates as written and runs.
func TestInitCallWritesSkeleton(t *testing.T) {
	addr := testserver.Interop(t, testserver.InteropOptions{Reflection: true})
	name := filepath.Join(t.TempDir(), "duplex")
	code, stdout, stderr := runCLI(context.Background(), "init", name, "--call", "grpc.testing.TestService/FullDuplexCall", "--target", addr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"call: grpc.testing.TestService/FullDuplexCall", "response_parameters:", "# int32", "messages: 10", "reflection: true", addr} {
		if !strings.Contains(string(data), want) {
			t.Errorf("scenario lacks %q:\n%s", want, data)
		}
	}
	code, stdout, stderr = runCLI(context.Background(), "run", name+".yaml", "-o", filepath.Join(t.TempDir(), "r.json"),
		"--set", "load.duration=500ms", "--set", "load.warmup=0s", "--set", "matrix={}")
	if code != exitOK || !strings.Contains(stdout, "base#1") {
		t.Fatalf("running the written scenario: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(context.Background(), "init", filepath.Join(t.TempDir(), "x"), "--call", "grpc.testing.TestService/Nope", "--target", addr); code != exitUsage || !strings.Contains(stderr, `unknown method "grpc.testing.TestService/Nope"`) {
		t.Errorf("unknown method: exit %d %s", code, stderr)
	}
}
