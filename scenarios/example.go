package scenarios

import "strings"

// Example returns a commented example scenario named name: what
// "grpcbench init" writes. It is valid as written.
func Example(name string) string {
	return strings.ReplaceAll(exampleYAML, "{{NAME}}", name)
}

const exampleYAML = `# grpcbench scenario — run it with: grpcbench run {{NAME}}.yaml
# Every field is optional; the values below are examples, defaults are noted.
name: {{NAME}}
seed: 42                       # drives faults, the call mix and Poisson arrivals

server:                        # the embedded fake server (or: target: 127.0.0.1:50051)
  backends: 3                  # default 1
  faults:                      # see "grpcbench fakeserver --help" and the README
    - {backend: 2, latency: {dist: lognormal, median: 5ms, p99: 40ms}}
    - {method: GetUser, error: {code: UNAVAILABLE, rate: 0.05}}

load:
  model: open                  # open (arrival rate, the default) or closed (workers)
  rate: 300                    # calls/s; or stages: [{duration: 5s, rate: 100}, {duration: 5s, rate: 500, ramp: true}]
  arrivals: uniform            # or poisson
  max_inflight: 64             # outstanding calls; beyond it arrivals queue, then are dropped and counted
  duration: 5s                 # recorded phase (default 10s)
  warmup: 1s                   # run but not recorded

mix:                           # calls picked by weight
  - {call: GetUser, weight: 70}
  - {call: ListUsers, weight: 10, messages: 20}        # server stream: 20 messages
  - {call: BatchCreateUsers, weight: 10, messages: 10} # client stream
  - {call: SyncUsers, weight: 10, messages: 10}        # bidi: 10 ping-pongs

payload: {request_bytes: 64, response_bytes: 256}

client:
  timeout: 2s                  # per call (default 5s)
  compression: ""              # or gzip
  pool: {size: 2, pick: round_robin}          # round_robin, random, least_inflight, first_ready
  lb: {policy: round_robin}                   # pick_first, round_robin, weighted_round_robin, least_request, ring_hash
  retry: {policy: exponential, max_attempts: 3, base_delay: 10ms, max_delay: 200ms, jitter: 0.2, codes: [UNAVAILABLE]}
  breaker: {failure_threshold: 20, open_for: 1s, half_open_probes: 3}

matrix:                        # any field path; cells are the Cartesian product
  client.pool.size: [1, 4]
  client.lb.policy: [round_robin, least_request]

repeat: 1
`
