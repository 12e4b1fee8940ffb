package scenarios

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/proto/userpb"
	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/retry"
)

// load drives one cell's calls.
type load struct {
	s       *Scenario
	st      *stack
	rec     *results.Recorder
	epoch   time.Time     // the schedule's zero (the fake server's start)
	warmup  time.Duration // arrivals before it are not recorded
	end     time.Duration // no arrival at or after it
	workers []*worker
	retries []*retry.Conn
	// Arrivals of the recorded phase: scheduled = sent + dropped.
	scheduled  atomic.Int64
	dropped    atomic.Int64
	sent       atomic.Int64
	cumWeights []float64
	mixIdx     []int // mix entry → method index
}

func newLoad(s *Scenario, st *stack, rec *results.Recorder, epoch time.Time) (*load, error) {
	ld := &load{s: s, st: st, rec: rec, epoch: epoch, warmup: s.Load.Warmup, end: s.Load.Warmup + s.Load.Duration}
	total := 0.0
	for _, e := range s.Mix {
		total += e.Weight
		ld.cumWeights = append(ld.cumWeights, total)
		ld.mixIdx = append(ld.mixIdx, methodIndex(e.Call))
	}
	for i := range ld.cumWeights {
		ld.cumWeights[i] /= total
	}
	n := s.Load.Workers
	if s.Load.Model == ModelOpen {
		n = s.Load.MaxInflight
	}
	perWorker := s.Load.MaxCalls / int64(n)
	for i := range n {
		w, err := ld.newWorker(i)
		if err != nil {
			return nil, err
		}
		w.quota = perWorker
		if int64(i) < s.Load.MaxCalls%int64(n) {
			w.quota++
		}
		ld.workers = append(ld.workers, w)
	}
	return ld, nil
}

// run drives the load until the schedule ends, the call bound is reached
// or ctx is done, then waits for the calls in flight.
func (ld *load) run(ctx context.Context) {
	var wg sync.WaitGroup
	if ld.s.Load.Model == ModelClosed {
		for _, w := range ld.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.closedLoop(ctx)
			}()
		}
		wg.Wait()
		return
	}
	queue := make(chan time.Duration, len(ld.workers))
	for _, w := range ld.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.openLoop(ctx, queue)
		}()
	}
	ld.pace(ctx, queue)
	close(queue)
	wg.Wait()
}

// pace releases arrivals at their intended times: it sleeps until the next
// one is due, then hands out every arrival that is due, each stamped with
// its own intended time (a late wake-up does not lose arrivals). An arrival
// that finds the queue full is dropped and counted.
func (ld *load) pace(ctx context.Context, queue chan<- time.Duration) {
	l := &ld.s.Load
	rng := rand.New(rand.NewPCG(uint64(ld.s.Seed), 0x9e3779b97f4a7c15))
	poisson := l.Arrivals == "poisson"
	var next time.Duration // intended offset of the next arrival
	first := true
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for n := int64(0); n < l.MaxCalls; n++ {
		if !first {
			r := ld.rateAt(next)
			for r <= 0 { // a zero-rate stage: skip to the next stage
				nx, ok := ld.nextStageStart(next)
				if !ok {
					return
				}
				next = nx
				r = ld.rateAt(next)
			}
			gap := 1 / r
			if poisson {
				gap = rng.ExpFloat64() / r
			}
			next += time.Duration(gap * float64(time.Second))
		} else if ld.rateAt(0) <= 0 {
			nx, ok := ld.nextStageStart(0)
			if !ok {
				return
			}
			next = nx
		}
		first = false
		if next >= ld.end {
			return
		}
		if wait := time.Until(ld.epoch.Add(next)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		recorded := next >= ld.warmup
		if recorded {
			ld.scheduled.Add(1)
		}
		select {
		case queue <- next:
		default:
			if recorded {
				ld.dropped.Add(1)
			}
		}
	}
}

// rateAt is the open model's arrival rate at offset t (warm-up runs at the
// first stage's rate).
func (ld *load) rateAt(t time.Duration) float64 {
	l := &ld.s.Load
	if len(l.Stages) == 0 {
		return l.Rate
	}
	t -= ld.warmup
	if t < 0 {
		return l.Stages[0].Rate
	}
	prev := 0.0
	for _, st := range l.Stages {
		if t < st.Duration {
			if st.Ramp {
				return prev + (st.Rate-prev)*float64(t)/float64(st.Duration)
			}
			return st.Rate
		}
		t -= st.Duration
		prev = st.Rate
	}
	return prev
}

func (ld *load) nextStageStart(t time.Duration) (time.Duration, bool) {
	at := ld.warmup
	for _, st := range ld.s.Load.Stages {
		at += st.Duration
		if at > t {
			return at, at < ld.end
		}
	}
	return 0, false
}

// fill copies the load counters into the cell.
func (ld *load) fill(rc *results.Cell) {
	l := &rc.Load
	l.Model = ld.s.Load.Model
	l.TargetRate = ld.s.TargetRate()
	l.Workers = len(ld.workers)
	l.Scheduled = ld.scheduled.Load()
	l.Dropped = ld.dropped.Load()
	l.Sent = ld.sent.Load()
	if ld.s.Load.Model == ModelClosed {
		l.Scheduled = l.Sent
	}
	var completed int64
	for _, w := range ld.workers {
		completed += w.completed
	}
	l.Completed = completed
}

// worker makes calls through its own retry layer over the shared stack and
// records into its own shard: nothing on its path is shared but atomics.
type worker struct {
	ld       *load
	shard    *results.Shard
	cl       *client.Client
	rng      *rand.Rand
	quota    int64
	attempts int // of the current call, set by the retry observer
	// recording is set while the current call is in the recorded phase.
	recording bool
	completed int64
	gaveUp    int64 // recorded calls that failed on a retryable code
	retryable [17]bool
	sendAt    time.Duration // SyncUsers: send time of the current message
	gotFirst  bool
	msgs      int
	// Requests are built once and reused: their content never changes.
	create  *userpb.CreateUserRequest
	get     *userpb.GetUserRequest
	list    *userpb.ListUsersRequest
	onUser  func(*userpb.User) error
	fillB   func(int, *userpb.CreateUserRequest)
	fillS   func(int, *userpb.SyncUserRequest)
	onReply func(int, *userpb.SyncUserResponse) error
	callAt  time.Duration // send time of the current call
	// minService is the fastest reply this worker has seen (closed model
	// lag: how long a slow reply held the worker beyond it).
	minService time.Duration
	// The backend of each attempt, for the whole cell (warm-up included,
	// like the server's counters): grpc.Peer fills peer when an attempt
	// ends; names caches each address's string.
	peer      peer.Peer
	peerOpt   grpc.CallOption
	optBuf    []grpc.CallOption
	peers     map[string]int64
	peerNames map[net.Addr]string
}

// flushPeer counts the backend of the attempt that just ended, if any.
func (w *worker) flushPeer() {
	a := w.peer.Addr
	if a == nil {
		return
	}
	w.peer = peer.Peer{}
	name, ok := w.peerNames[a]
	if !ok {
		name = a.String()
		w.peerNames[a] = name
	}
	w.peers[name]++
}

// peerConn adds the worker's grpc.Peer option to every attempt. It sits
// between the worker's retry layer and the shared stack; one worker makes
// one attempt at a time, so its option buffer is reused.
type peerConn struct {
	cc grpc.ClientConnInterface
	w  *worker
}

// Invoke implements grpc.ClientConnInterface.
func (p *peerConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	w := p.w
	w.flushPeer()
	w.optBuf = append(append(w.optBuf[:0], opts...), w.peerOpt)
	err := p.cc.Invoke(ctx, method, args, reply, w.optBuf...)
	w.flushPeer()
	return err
}

// NewStream implements grpc.ClientConnInterface. The stream keeps its
// options until it ends, so they get their own slice; the peer is counted
// when the next attempt starts or the worker's call ends.
func (p *peerConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	w := p.w
	w.flushPeer()
	o := make([]grpc.CallOption, 0, len(opts)+1)
	return p.cc.NewStream(ctx, desc, method, append(append(o, opts...), w.peerOpt)...)
}

func (ld *load) newWorker(i int) (*worker, error) {
	s := ld.s
	w := &worker{ld: ld, shard: ld.rec.Shard(),
		rng: rand.New(rand.NewPCG(uint64(s.Seed), uint64(i)+1))}
	var cc = ld.st.cc
	if ld.st.native == nil {
		// Below the retry layer, so every attempt's backend is seen.
		cc = &peerConn{cc: cc, w: w}
		w.peerOpt = grpc.Peer(&w.peer)
		w.peers = map[string]int64{}
		w.peerNames = map[net.Addr]string{}
	}
	if p := s.Client.Retry; p != nil && p.Mode != retry.ModeNative {
		rc := retry.Wrap(cc, *p, retry.WithObserver(w), retry.WithRand(w.rng.Float64))
		ld.retries = append(ld.retries, rc)
		cc = rc
	}
	if p := s.Client.Retry; p != nil {
		for _, c := range p.Codes {
			if int(c) < len(w.retryable) {
				w.retryable[c] = true
			}
		}
	}
	cl, err := client.New(cc).With(s.Client.CallOptions)
	if err != nil {
		return nil, err
	}
	w.cl = cl
	pad := padding(s.Payload.RequestBytes)
	resp := int32(s.Payload.ResponseBytes)
	w.create = &userpb.CreateUserRequest{Username: "bench", Email: "bench@example.test", FullName: "Bench User", Padding: pad, ResponsePadding: resp}
	w.get = &userpb.GetUserRequest{UserId: "u1", Padding: pad, ResponsePadding: resp}
	w.list = &userpb.ListUsersRequest{Padding: pad, ResponsePadding: resp}
	w.onUser = func(*userpb.User) error {
		if !w.gotFirst {
			w.gotFirst = true
			if w.recording {
				w.shard.TTFM(2, w.now()-w.callAt)
			}
		}
		return nil
	}
	w.fillB = func(_ int, r *userpb.CreateUserRequest) {
		r.Username, r.Email, r.Padding, r.ResponsePadding = "bench", "bench@example.test", pad, resp
	}
	w.fillS = func(i int, r *userpb.SyncUserRequest) {
		r.Seq, r.UserId, r.Padding, r.ResponsePadding = int64(i), "u1", pad, resp
		w.sendAt = w.now()
	}
	w.onReply = func(int, *userpb.SyncUserResponse) error {
		if w.recording {
			w.shard.MessageRTT(4, w.now()-w.sendAt)
		}
		return nil
	}
	return w, nil
}

var zeroPad = make([]byte, 4<<20)

func padding(n int) []byte {
	if n <= 0 {
		return nil
	}
	return zeroPad[:n]
}

// now is the monotonic offset from the schedule's zero: one clock read.
func (w *worker) now() time.Duration { return time.Since(w.ld.epoch) }

// Attempt implements retry.Observer: it runs on this worker's goroutine.
func (w *worker) Attempt(method string, attempt int, d time.Duration, _ error) {
	w.attempts = attempt
	if w.recording {
		if m := methodOf(method); m >= 0 {
			w.shard.Attempt(m, d)
		}
	}
}

func methodOf(full string) int {
	switch full {
	case userpb.UserService_CreateUser_FullMethodName:
		return 0
	case userpb.UserService_GetUser_FullMethodName:
		return 1
	case userpb.UserService_ListUsers_FullMethodName:
		return 2
	case userpb.UserService_BatchCreateUsers_FullMethodName:
		return 3
	case userpb.UserService_SyncUsers_FullMethodName:
		return 4
	}
	return -1
}

// pick chooses a mix entry by weight.
func (w *worker) pick() int {
	u := w.rng.Float64()
	for i, c := range w.ld.cumWeights {
		if u < c {
			return i
		}
	}
	return len(w.ld.cumWeights) - 1
}

func (w *worker) openLoop(ctx context.Context, queue <-chan time.Duration) {
	for intended := range queue {
		if ctx.Err() != nil {
			continue // drain: the pacer stops soon
		}
		w.call(ctx, intended)
	}
}

func (w *worker) closedLoop(ctx context.Context) {
	think := w.ld.s.Load.Think
	var timer *time.Timer
	if think > 0 {
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	var intended time.Duration
	for n := int64(0); n < w.quota; n++ {
		now := w.now()
		if now >= w.ld.end || ctx.Err() != nil {
			return
		}
		// A closed-model call is intended to start when the previous one
		// would have ended at the fastest service time seen: the lag is how
		// long a slow reply held this worker (a stall shows up here, not in
		// the latency of the few calls it hit).
		if n == 0 || intended > now {
			intended = now
		}
		w.call(ctx, intended)
		intended = w.callAt + w.minService + think
		if think > 0 {
			timer.Reset(think)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
	}
}

// call makes one call of the mix intended to start at offset intended and
// records it when intended falls in the recorded phase.
func (w *worker) call(ctx context.Context, intended time.Duration) {
	e := w.pick()
	m := w.ld.mixIdx[e]
	msgs := w.ld.s.Mix[e].Messages
	w.recording = intended >= w.ld.warmup
	w.attempts = 0
	w.gotFirst = false
	sent := w.now()
	w.callAt = sent
	if w.recording {
		w.ld.sent.Add(1)
	}
	var err error
	var out, in int64
	reqPad := int64(w.ld.s.Payload.RequestBytes)
	respPad := int64(w.ld.s.Payload.ResponseBytes)
	switch m {
	case 0:
		_, err = w.cl.CreateUser(ctx, w.create)
		out, in = reqPad, respPad
	case 1:
		_, err = w.cl.GetUser(ctx, w.get)
		out, in = reqPad, respPad
	case 2:
		w.list.PageSize = int32(msgs)
		var n int
		n, err = w.cl.ListUsers(ctx, w.list, w.onUser)
		out, in = reqPad, int64(n)*respPad
	case 3:
		_, err = w.cl.BatchCreateUsers(ctx, msgs, w.fillB)
		out, in = int64(msgs)*reqPad, respPad
	case 4:
		var n int
		n, err = w.cl.SyncUsers(ctx, msgs, w.fillS, w.onReply)
		out, in = int64(msgs)*reqPad, int64(n)*respPad
	}
	done := w.now()
	if w.peers != nil {
		w.flushPeer()
	}
	if svc := done - sent; err == nil && (w.minService == 0 || svc < w.minService) {
		w.minService = svc
	}
	if !w.recording {
		return
	}
	code := status.Code(err)
	if err != nil && code == codes.Unknown && ctx.Err() != nil {
		code = codes.Canceled
	}
	w.completed++
	latency := done - intended
	if w.ld.s.Load.Model == ModelClosed {
		latency = done - sent // a closed model has no schedule to be late against
	}
	// A call that ends after the recorded phase (it was scheduled inside
	// it) counts in the phase's last second, not in a stray extra one.
	at := min(done-w.ld.warmup, w.ld.s.Load.Duration-time.Nanosecond)
	w.shard.Call(m, code, latency, done-sent, at)
	if w.ld.retries == nil && w.ld.st.native == nil {
		w.shard.Attempt(m, done-sent) // one attempt per call
	}
	w.shard.Lag(sent - intended)
	if w.ld.retries != nil {
		w.shard.CallAttempts(w.attempts)
	}
	if int(code) < len(w.retryable) && w.retryable[code] {
		w.gaveUp++
	}
	w.shard.Bytes(out, in)
}
