package scenarios_test

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/results"
)

// audit checks one finished cell's books: the runner's results (what the
// client saw) against the fake server's counters (what the servers saw),
// read after the cluster stopped. The fault matrix and the soak share it.
type audit struct {
	// mode is the retry mode: "wrapper", "native" or "none".
	mode string
	// breaker says whether the stack had a circuit breaker.
	breaker bool
	// lossy says whether the fault closes connections under calls in
	// flight, so attempts may be lost between client and server.
	lossy bool

	rc     *results.Cell
	server fakeserver.Stats

	violations []string
	// exceptions are client/server differences the fault explains (see
	// books); they are not violations, and are listed in the log.
	exceptions []string
	books      books
}

func (a *audit) fail(format string, args ...any) {
	a.violations = append(a.violations, fmt.Sprintf(format, args...))
}

// check checks a finished cell's accounting identities.
func (a *audit) check() {
	rc, fail := a.rc, a.fail
	l := rc.Load
	if l.Scheduled != l.Sent+l.Dropped {
		fail("scheduled %d != sent %d + dropped %d", l.Scheduled, l.Sent, l.Dropped)
	}
	if l.Completed != l.Sent {
		fail("completed %d != sent %d: calls of the recorded phase did not finish", l.Completed, l.Sent)
	}
	if rc.All == nil {
		fail("no calls recorded")
		return
	}
	if rc.All.Calls != l.Completed {
		fail("recorded calls %d != completed %d", rc.All.Calls, l.Completed)
	}
	var codes, methods int64
	for _, n := range rc.All.Codes {
		codes += n
	}
	for name, m := range rc.Methods {
		methods += m.Calls
		if c := sumCounts(m.Codes); c != m.Calls || m.Calls-m.Codes["OK"] != m.Errors {
			fail("%s: codes sum to %d, errors %d; calls %d (OK %d)", name, c, m.Errors, m.Calls, m.Codes["OK"])
		}
	}
	if codes != rc.All.Calls || methods != rc.All.Calls || rc.All.Calls-rc.All.Codes["OK"] != rc.All.Errors {
		fail("codes sum to %d, methods to %d, errors %d; calls %d (OK %d)", codes, methods, rc.All.Errors, rc.All.Calls, rc.All.Codes["OK"])
	}
	if n := rc.All.Latency.Count(); n != rc.All.Calls {
		fail("latency histogram holds %d calls, want %d", n, rc.All.Calls)
	}
	made, refused := a.checkRetry()
	a.checkBackends(made, refused)
}

// books is a cell's attempts, as the client and the server count them.
//
// Client side: made attempts (the retry layer's, or one per call without
// it), refused by the breaker before reaching the pool, landed on a
// backend (results Backend.ClientCalls: the attempt had a transport
// stream there), and the calls that ended OK. Server side, summed over
// backends: streams whose headers arrived (BackendStats.Arrived), calls
// whose handler ran (BackendStats.Calls) and how those ended.
//
// Each attempt is refused, or never lands (no ready connection: the pick
// failed or the deadline passed first), or lands; a landed attempt is lost
// (no handler ran: the connection dropped, or the deadline passed before
// the handler read the request) or is a server call; a server call ends OK
// or not. Every call that ended OK had exactly one OK attempt, which the
// server counted OK. So, with slack the attempts that failed on the client
// without the server having failed them:
//
//	made    = refused + unlanded + landed        unlanded ≥ 0
//	landed  = lost + server calls                per backend: calls ≤ arrived ≤ landed
//	server OK ≥ client OK
//	slack   = made − client OK − refused − server non-OK
//	        = unlanded + lost + (server OK − client OK)  ≥ 0
//
// slack is 0 — client and server agree attempt for attempt — unless a
// connection was dropped (lossy) or a call ran out of time (a
// DEADLINE_EXCEEDED or CANCELLED call: its attempt may end on the client
// before the server starts it, or after the server finished it OK).
type books struct {
	made, refused, landed, clientOK int64
	arrived, serverCalls, serverOK  int64
}

func (b books) unlanded() int64    { return b.made - b.refused - b.landed }
func (b books) lost() int64        { return b.landed - b.serverCalls }
func (b books) serverNonOK() int64 { return b.serverCalls - b.serverOK }
func (b books) slack() int64       { return b.made - b.clientOK - b.refused - b.serverNonOK() }

// checkRetry checks the retry layer's counts against the calls and returns
// the attempts the client made and the breaker refused.
func (a *audit) checkRetry() (made, refused int64) {
	rc, r, fail := a.rc, a.rc.Retry, a.fail
	rej := rc.Breaker.Rejections
	if !a.breaker && (rc.Breaker.Trips != 0 || rej != 0) {
		fail("breaker counts %+v without a breaker", rc.Breaker)
	}
	switch a.mode {
	case "none":
		// One attempt per call; a refused call is a refused attempt.
		return rc.All.Calls, rej
	case "wrapper":
		// The retry layer is above the breaker: a refused attempt is an
		// attempt of its call.
		if r.Calls != rc.All.Calls {
			fail("retry layer saw %d calls, %d recorded", r.Calls, rc.All.Calls)
		}
		made, refused = r.Attempts, rej
	case "native":
		// gRPC retries inside the ClientConn, under the breaker: a call the
		// breaker refuses never reaches the counter and makes no attempt.
		if r.Calls+rej != rc.All.Calls {
			fail("native retry counted %d calls + %d refused by the breaker, %d recorded", r.Calls, rej, rc.All.Calls)
		}
		made = r.Attempts
	}
	var perCall, weighted int64
	for n, k := range r.AttemptsPerCall {
		perCall += k
		weighted += int64(n) * k
	}
	if perCall != r.Calls || weighted != r.Attempts {
		fail("attempts_per_call %v: %d calls making %d attempts, want %d and %d", r.AttemptsPerCall, perCall, weighted, r.Calls, r.Attempts)
	}
	return made, refused
}

// checkBackends checks the attempts of every backend, client and server
// side, and the cell's books (see books).
func (a *audit) checkBackends(made, refused int64) {
	fail := a.fail
	bk := books{made: made, refused: refused, clientOK: a.rc.All.Codes["OK"]}
	client := map[string]int64{}
	for _, b := range a.rc.Backends {
		client[b.Addr] = b.ClientCalls
	}
	for _, b := range a.server.Backends {
		var codes int64
		for _, n := range b.Codes {
			codes += n
		}
		calls, arrived := b.TotalCalls(), sumCounts(b.Arrived)
		if codes != calls {
			fail("backend %d: server codes sum to %d, %d calls", b.Index, codes, calls)
		}
		if b.Inflight != 0 {
			fail("backend %d: %d calls still in flight after Stop", b.Index, b.Inflight)
		}
		landed := client[b.Addr]
		delete(client, b.Addr)
		if calls > arrived || arrived > landed {
			fail("backend %d: %d attempts landed (client), %d arrived, %d handled (server): want landed ≥ arrived ≥ handled",
				b.Index, landed, arrived, calls)
		}
		if landed != calls {
			a.exceptions = append(a.exceptions, fmt.Sprintf("backend %d: landed %d arrived %d handled %d", b.Index, landed, arrived, calls))
		}
		bk.landed += landed
		bk.arrived += arrived
		bk.serverCalls += calls
		bk.serverOK += b.Codes["OK"]
	}
	for addr, n := range client {
		fail("client counted %d attempts on %s, which is no backend", n, addr)
	}
	if u := bk.unlanded(); u < 0 {
		// In native mode the client counts (results.PeerCounter, on every
		// OutHeader) gRPC's transparent retries — attempts of streams that
		// never reached the server, replayed by grpc-go itself — which
		// results.Retry.Attempts leaves out (stats.Begin with
		// IsTransparentRetryAttempt; retry.Stats.TransparentRetries is not
		// in the results). They happen when a connection goes under them.
		if a.mode == "native" && a.lossy && bk.landed-bk.arrived >= -u {
			a.exceptions = append(a.exceptions, fmt.Sprintf("%d transparent retries landed", -u))
		} else {
			fail("%d attempts made, %d refused by the breaker, but %d landed", bk.made, bk.refused, bk.landed)
		}
	}
	if bk.serverOK < bk.clientOK {
		fail("%d calls OK on the client, %d on the server", bk.clientOK, bk.serverOK)
	}
	if s := bk.slack(); s != 0 {
		a.exceptions = append(a.exceptions, fmt.Sprintf("slack %d (unlanded %d, lost %d, server OK − client OK %d)",
			s, bk.unlanded(), bk.lost(), bk.serverOK-bk.clientOK))
		// Only a call's last attempt can run out of its time.
		timedOut := a.rc.All.Codes["DEADLINE_EXCEEDED"] + a.rc.All.Codes["CANCELLED"]
		if !a.lossy && s > timedOut {
			fail("client and server disagree on %d attempts (%s), more than the %d calls out of time, and no connection was dropped",
				s, a.exceptions[len(a.exceptions)-1], timedOut)
		}
	}
	a.books = bk
}

// countList renders counts as "[a=1 b=2]", sorted by key.
func countList(m map[string]int64) string {
	s := make([]string, 0, len(m))
	for k, n := range m {
		s = append(s, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(s)
	return "[" + strings.Join(s, " ") + "]"
}

func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
