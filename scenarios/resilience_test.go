package scenarios

import (
	"context"
	"testing"
)

// Retry throttling under 50 % UNAVAILABLE for the first second, in both
// retry modes: retries stop when the bucket runs low and start again as the
// next second's successes refill it;
// the cell records the throttled retries and when throttling turned on and
// off.
func TestThrottlingRecordedInBothModes(t *testing.T) {
	run := runYAML(t, context.Background(), `
seed: 3
server: {faults: [{at: 0s, for: 1s, error: {code: UNAVAILABLE, rate: 0.5}}]}
load: {rate: 400, duration: 2s, max_inflight: 64}
mix: [{call: GetUser}]
client:
  pool: {size: 1}
  retry: {policy: exponential, max_attempts: 3, base_delay: 1ms, codes: [UNAVAILABLE]}
  retry_throttling: {max_tokens: 10, token_ratio: 0.1}
matrix:
  client.retry.mode: [wrapper, native]
`)
	for _, c := range run.Cells {
		tr := c.Throttle
		if tr == nil {
			t.Fatalf("%s: no throttle recorded", c.ID)
		}
		on, off := 0, 0
		for _, ch := range tr.Changes {
			if ch.Throttling {
				on++
			} else {
				off++
			}
		}
		t.Logf("%s: throttled %d (retry says %d), %d on / %d off, tokens %.1f of %.0f, retried %d of %d calls",
			c.ID, tr.Throttled, c.Retry.Throttled, on, off, tr.Tokens, tr.MaxTokens, c.Retry.Retried, c.Retry.Calls)
		if c.Retry.Throttled == 0 || on == 0 || off == 0 {
			t.Errorf("%s: throttling never stopped and resumed retries: %+v", c.ID, tr)
		}
		if c.Retry.Retried == 0 {
			t.Errorf("%s: no call was retried at all", c.ID)
		}
	}
}
