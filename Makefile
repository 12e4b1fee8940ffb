# grpcbench — `make demo` runs the main job, `make test` is what CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO       ?= go
BIN      := bin/grpcbench
PKG      := github.com/grpcbench/grpcbench
COMMIT   := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X $(PKG)/internal/version.Version=$(VERSION) -X $(PKG)/internal/version.Commit=$(COMMIT)
FUZZTIME ?= 5s
# Benchmarks run each case this long.
BENCHTIME ?= 1s

.PHONY: all build test lint race fuzz tools proto proto-check bench bench-shards soak demo gate-trust clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/grpcbench

## test: everything CI checks — format, vet, generated code, race tests, fuzz smoke.
test: tools lint proto-check race fuzz

tools:
	@bash scripts/install-tools.sh

lint:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...

race:
	$(GO) test -race -timeout 15m ./...
	cd deploy && $(GO) test ./...

## fuzz: a short smoke run of every fuzz target (scripts/fuzz.sh says how
## Go 1.26's deadline race at the -fuzztime boundary is told from a finding).
fuzz:
	GO=$(GO) bash scripts/fuzz.sh $(FUZZTIME)

PROTOC_GEN := .bin/protoc-gen-go .bin/protoc-gen-go-grpc
$(PROTOC_GEN): go.mod
	$(GO) build -o .bin/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc

## proto: regenerate proto/userpb with protoc and the pinned Go plugins.
proto: tools $(PROTOC_GEN)
	protoc -I proto/userpb -I /usr/include \
	  --plugin=protoc-gen-go=.bin/protoc-gen-go --plugin=protoc-gen-go-grpc=.bin/protoc-gen-go-grpc \
	  --go_out=proto/userpb --go_opt=paths=source_relative \
	  --go-grpc_out=proto/userpb --go-grpc_opt=paths=source_relative \
	  user.proto

## proto-check: the committed generated code matches user.proto.
proto-check: tools $(PROTOC_GEN)
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	protoc -I proto/userpb -I /usr/include \
	  --plugin=protoc-gen-go=.bin/protoc-gen-go --plugin=protoc-gen-go-grpc=.bin/protoc-gen-go-grpc \
	  --go_out=$$tmp --go_opt=paths=source_relative \
	  --go-grpc_out=$$tmp --go-grpc_opt=paths=source_relative user.proto; \
	for f in user.pb.go user_grpc.pb.go; do \
	  diff -u proto/userpb/$$f $$tmp/$$f || { echo "proto/userpb/$$f is stale: run make proto"; exit 1; }; \
	done

## bench: every benchmark, with allocations. The long scenarios benchmarks
## run once each: raw stub vs full stack calls/s and their ratio, the open
## model's rate, RSS after 10, 30 and 60 s.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $$($(GO) list ./... | grep -v /scenarios$$)
	$(GO) test -run '^$$' -bench 'Layers' -benchmem -benchtime $(BENCHTIME) ./scenarios
	$(GO) test -run '^$$' -bench 'Throughput|ReflectedVsRaw|OpenRate|MemoryFlat' -benchmem -benchtime 1x -timeout 30m ./scenarios

## bench-shards: 1, 2 and 4 shard processes at a total rate (merged rate error,
## p50/p99, CPU per call) and --metrics-addr off/on CPU per call, in pairs.
## Wall clock: run on a quiet machine. SHARDS_RATE calls/s, SHARDS_DURATION, SHARDS_PAIRS.
SHARDS_RATE ?= 20000
SHARDS_DURATION ?= 20s
SHARDS_PAIRS ?= 8
bench-shards:
	GRPCBENCH_BENCH_RATE=$(SHARDS_RATE) GRPCBENCH_BENCH_DURATION=$(SHARDS_DURATION) GRPCBENCH_BENCH_PAIRS=$(SHARDS_PAIRS) \
	  $(GO) test -run '^$$' -bench 'Shards|MetricsOverhead' -benchtime 1x -timeout 60m ./cmd/grpcbench

## soak: SOAK_DURATION (10m) of open-model load at SOAK_RATE calls/s, all four
## call patterns, against three fake backends under a fault schedule repeating
## every minute (down, kill, pause, error burst; goaway); RSS and goroutines every
## 30 s and their ratio end/start, the accounting identities at the end. Not part
## of make test; no -race (it would measure the race detector's memory).
SOAK_DURATION ?= 10m
SOAK_RATE ?= 2000
soak:
	GRPCBENCH_SOAK=$(SOAK_DURATION) GRPCBENCH_SOAK_RATE=$(SOAK_RATE) \
	  $(GO) test -run '^TestSoak$$' -count=1 -v -timeout 60m ./scenarios

## demo: the quickstart scenario on the embedded fake server → out/results.json, out/report/
demo: build
	$(BIN) run scenarios/examples/quickstart.yaml -o out/results.json --report out/report

## gate-trust: A/A, A/B tail-only and A/A-with-CPU-hogs trials of the compare gate
## (not part of make test; ~20 min for 10 trials; TRIALS=2 DURATION=1s for a quick check).
gate-trust: build
	bash scripts/gate-trust.sh

clean:
	rm -rf bin .bin out
