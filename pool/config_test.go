package pool_test

import (
	"errors"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/internal/yamlx"
	"github.com/grpcbench/grpcbench/pool"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    pool.Config
		want []string // substrings, one per expected error, in order
	}{
		{"zero means defaults", pool.Config{}, nil},
		{"all set", pool.Config{Size: 8, Pick: pool.PickLeastInflight, Warmup: true, WarmupTimeout: time.Second, MaxAge: time.Minute}, nil},
		{"max size", pool.Config{Size: 1024}, nil},
		{"negative size", pool.Config{Size: -1}, []string{"size: must be between 1 and 1024, got -1"}},
		{"too large", pool.Config{Size: 1025}, []string{"size: must be between"}},
		{"unknown pick", pool.Config{Pick: "fastest"}, []string{`pick: unknown strategy "fastest"`}},
		{"negative durations", pool.Config{WarmupTimeout: -time.Second, MaxAge: -time.Second},
			[]string{"warmup_timeout: must not be negative", "max_age: must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.FieldErrors(t, tt.c.Validate(), tt.want...) })
	}
}

func TestConfigDefaults(t *testing.T) {
	got := pool.Config{}.WithDefaults()
	want := pool.Config{Size: 1, Pick: pool.PickRoundRobin, WarmupTimeout: 5 * time.Second}
	if got != want {
		t.Fatalf("Config{}.WithDefaults() = %+v, want %+v", got, want)
	}
	kept := pool.Config{Size: 3, Pick: pool.PickRandom, WarmupTimeout: time.Second, MaxAge: time.Minute}
	if kept.WithDefaults() != kept {
		t.Fatalf("WithDefaults changed set fields: %+v", kept.WithDefaults())
	}
}

func TestConfigFromYAML(t *testing.T) {
	src := "size: 4\npick: least_inflight\nwarmup: true\nwarmup_timeout: 2s\nmax_age: 30s\n"
	node, err := yamlx.Parse("pool.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var c pool.Config
	if _, err := yamlx.Decode("pool.yaml", node, &c); err != nil {
		t.Fatal(err)
	}
	want := pool.Config{Size: 4, Pick: pool.PickLeastInflight, Warmup: true, WarmupTimeout: 2 * time.Second, MaxAge: 30 * time.Second}
	if c != want {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}

	node, err = yamlx.Parse("bad.yaml", []byte("size: 2\n\npick: fastest\n"))
	if err != nil {
		t.Fatal(err)
	}
	var b pool.Config
	pos, err := yamlx.Decode("bad.yaml", node, &b)
	if err != nil {
		t.Fatal(err)
	}
	var le *yamlx.Error
	if err := pos.Locate("bad.yaml", b.Validate()); !errors.As(err, &le) || le.Line != 3 || le.Path != "pick" {
		t.Fatalf("located error = %v, want bad.yaml:3: pick", err)
	}
}
