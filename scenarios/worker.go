package scenarios

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcbench/grpcbench/calldata"
	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/internal/statuscode"
	"github.com/grpcbench/grpcbench/methods"
	"github.com/grpcbench/grpcbench/results"
)

// worker makes calls through its own top of the stack and records into its
// own shard: nothing on its path is shared but atomics. Its fields are its
// configuration and buffers; callState is the call in progress.
type worker struct {
	d       *driver
	id      int
	shard   *results.Shard
	clients []*client.Client // per mix entry
	rng     *rand.Rand
	quota   int64 // closed model: calls this worker may make
	peers   *peerRecorder

	encoders []*calldata.Encoder // per mix entry, for templated data
	replies  []*client.Reply     // per method
	vars     calldata.Vars
	payload  client.Payload // templated requests are encoded into it
	scratch  []byte
	mdPairs  []string

	errs       map[results.ErrorCount]int64 // recorded failures by code and message
	minService time.Duration                // fastest reply seen (closed-model lag)
	completed  int64
	gaveUp     int64 // recorded calls that failed on a retryable code

	st callState
}

// callState is the call a worker is making.
type callState struct {
	c         *call
	recording bool          // intended in the recorded phase
	attempts  int           // set by the retry observer
	sent      time.Duration // when the call was sent
	msgSent   time.Duration // bidi: when the current message was sent
	first     bool          // a response message has arrived
	out, in   int64         // bytes sent and received
}

func newWorker(d *driver, id int) (*worker, error) {
	s := d.s
	w := &worker{d: d, id: id, shard: d.rec.Shard(), rng: rand.New(rand.NewPCG(uint64(s.Seed), uint64(id)+1))}
	w.vars = calldata.Vars{Worker: id, Cell: d.cellID, Repeat: d.repeat + 1, Rand: w.rng}
	cs := d.calls
	clients, err := d.st.workerClients(cs, w)
	if err != nil {
		return nil, err
	}
	w.clients = clients
	w.encoders = make([]*calldata.Encoder, len(cs.calls))
	for i := range cs.calls {
		if cs.calls[i].fixed == nil {
			w.encoders[i] = cs.calls[i].req.NewEncoder()
		}
	}
	w.replies = make([]*client.Reply, len(cs.names))
	for i := range cs.calls {
		c := &cs.calls[i]
		if w.replies[c.index] == nil {
			w.replies[c.index] = &client.Reply{}
			if cs.decode {
				w.replies[c.index].Msg = dynamicpb.NewMessage(c.method.Output())
			}
		}
	}
	return w, nil
}

// now is the monotonic offset from the schedule's zero: one clock read.
func (w *worker) now() time.Duration { return time.Since(w.d.epoch) }

// Attempt implements retry.Observer: it runs on this worker's goroutine.
// A hedge cancelled because another attempt won is not an attempt latency.
func (w *worker) Attempt(_ string, attempt int, d time.Duration, err error) {
	w.st.attempts = max(w.st.attempts, attempt)
	if w.st.recording && !(w.st.c.hedging != nil && status.Code(err) == codes.Canceled) {
		w.shard.Attempt(w.st.c.index, d)
	}
}

// request returns message i of the current call: the bytes encoded once,
// or this call's rendering of its templates.
func (w *worker) request(i int) (*client.Payload, error) {
	c := w.st.c
	if c.fixed != nil {
		p := c.fixed[i%len(c.fixed)]
		w.st.out += int64(len(p.B))
		return p, nil
	}
	ci := c.entry
	b, err := w.encoders[ci].Append(w.payload.B[:0], i, &w.vars)
	w.payload.B = b
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "grpcbench: request data: %v", err)
	}
	w.st.out += int64(len(b))
	return &w.payload, nil
}

// call makes one call of the mix intended to start at offset intended (the
// seq-th of the cell) and records it when intended falls in the recorded
// phase.
func (w *worker) call(ctx context.Context, intended time.Duration, seq int64) {
	d := w.d
	c := d.calls.pick(w.rng.Float64())
	w.st = callState{c: c, recording: intended >= d.warmup}
	if w.peers != nil {
		w.peers.seen = w.peers.seen[:0]
	}
	w.vars.Call = seq
	w.vars.Intended = d.epoch.Add(intended)
	if c.md.Len() > 0 {
		w.mdPairs = c.md.AppendPairs(w.mdPairs[:0], &w.vars, &w.scratch)
		ctx = metadata.AppendToOutgoingContext(ctx, w.mdPairs...)
	}
	sent := w.now()
	w.st.sent = sent
	if w.st.recording {
		d.sent.Add(1)
	}
	err := w.doLate(ctx, c, sent-intended)
	done := w.now()
	if w.peers != nil {
		w.peers.flush()
	}
	if svc := done - sent; err == nil && (w.minService == 0 || svc < w.minService) {
		w.minService = svc
	}
	if w.st.recording {
		w.record(ctx, err, intended, sent, done)
	}
}

// lateSlack is how late an open-model call may start before its deadline
// is moved back to count from its intended start.
const lateSlack = time.Millisecond

// doLate makes the call. In the open model a call's deadline counts from
// its intended start, as its caller's would: an arrival that waited lag for
// a free slot has that much less time, and one that waited longer than its
// timeout fails DEADLINE_EXCEEDED without being sent. So no call outlives
// the schedule's end by more than a timeout.
func (w *worker) doLate(ctx context.Context, c *call, lag time.Duration) error {
	timeout := w.d.s.Client.Timeout
	if c.timeout != nil {
		timeout = *c.timeout
	}
	if w.d.closed || lag <= lateSlack || timeout <= 0 {
		return w.do(ctx, c)
	}
	left := timeout - lag
	if left <= 0 {
		return status.Errorf(codes.DeadlineExceeded, "grpcbench: waited %v for a free slot (max_inflight), past the %v deadline counted from the intended start; not sent", lag.Round(time.Millisecond), timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	return w.do(ctx, c)
}

// do makes the call in its pattern.
func (w *worker) do(ctx context.Context, c *call) error {
	reply := w.replies[c.index]
	m := c.method
	cl := w.clients[c.entry]
	switch m.Kind() {
	case methods.Unary:
		req, err := w.request(0)
		if err != nil {
			return err
		}
		err = cl.Unary(ctx, m, req, reply)
		if err == nil {
			w.st.in += int64(reply.Size)
		}
		return err
	case methods.ServerStream:
		req, err := w.request(0)
		if err != nil {
			return err
		}
		_, err = cl.ServerStream(ctx, m, req, reply, w.onMessage)
		return err
	case methods.ClientStream:
		var encErr error
		_, err := cl.ClientStream(ctx, m, c.messages, func(i int) any { return w.next(i, &encErr) }, reply)
		if encErr != nil {
			return encErr
		}
		if err == nil {
			w.st.in += int64(reply.Size)
		}
		return err
	default:
		var encErr error
		_, err := cl.Bidi(ctx, m, c.messages, func(i int) any {
			w.st.msgSent = w.now()
			return w.next(i, &encErr)
		}, reply, w.onReply)
		if encErr != nil {
			return encErr
		}
		return err
	}
}

// next is a stream's request i; an encoding error ends the stream (the
// client sends an empty message, which the caller's error replaces).
func (w *worker) next(i int, errOut *error) any {
	p, err := w.request(i)
	if err != nil {
		*errOut = err
		return &client.Payload{}
	}
	return p
}

// onMessage records a server stream's messages: size, and the time to the
// first.
func (w *worker) onMessage(int) error {
	w.st.in += int64(w.replies[w.st.c.index].Size)
	if !w.st.first {
		w.st.first = true
		if w.st.recording {
			w.shard.TTFM(w.st.c.index, w.now()-w.st.sent)
		}
	}
	return nil
}

// onReply records a bidi exchange: its round trip, and the time to the
// first reply.
func (w *worker) onReply(int) error {
	now := w.now()
	w.st.in += int64(w.replies[w.st.c.index].Size)
	if w.st.recording {
		if !w.st.first {
			w.shard.TTFM(w.st.c.index, now-w.st.sent)
		}
		w.shard.MessageRTT(w.st.c.index, now-w.st.msgSent)
	}
	w.st.first = true
	return nil
}

// record records a finished call of the recorded phase.
func (w *worker) record(ctx context.Context, err error, intended, sent, done time.Duration) {
	d := w.d
	m := w.st.c.index
	code := status.Code(err)
	if err != nil && code == codes.Unknown && ctx.Err() != nil {
		code = codes.Canceled
	}
	w.completed++
	latency := done - intended
	if d.closed {
		latency = done - sent // a closed model has no schedule to be late against
	}
	// A call that ends after the recorded phase (it was scheduled inside
	// it) counts in the phase's last second, not in a stray extra one.
	at := min(done-d.warmup, d.s.Load.Duration-time.Nanosecond)
	w.shard.Call(m, code, latency, done-sent, at)
	if w.peers != nil {
		for _, b := range w.peers.seen {
			w.shard.Backend(b, at)
		}
	}
	switch {
	case w.st.c.retry != nil || w.st.c.hedging != nil:
		w.shard.CallAttempts(w.st.attempts) // the layer's observer counted them
	case d.st.native == nil:
		w.shard.Attempt(m, done-sent) // no retries: one attempt per call
		if d.wrapper {
			w.shard.CallAttempts(1) // beside entries that retry
		}
	}
	w.shard.Lag(sent - intended)
	if int(code) < len(w.st.c.retryable) && w.st.c.retryable[code] {
		w.gaveUp++
	}
	if err != nil {
		w.tallyError(code, err)
	}
	w.shard.Bytes(w.st.out, w.st.in)
}

// maxErrorKinds bounds the distinct messages a worker tallies; the rest
// count under one "other messages" entry per code.
const maxErrorKinds = 16

// tallyError counts a failed call by code and message (error path only).
func (w *worker) tallyError(code codes.Code, err error) {
	if w.errs == nil {
		w.errs = make(map[results.ErrorCount]int64)
	}
	k := results.ErrorCount{Code: statuscode.Name(code), Message: status.Convert(err).Message()}
	if _, seen := w.errs[k]; !seen && len(w.errs) >= maxErrorKinds {
		k.Message = "(other messages)"
	}
	w.errs[k]++
}
