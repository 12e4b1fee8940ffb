package fakeserver

import (
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/orca"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

// service implements UserService for one backend.
type service struct {
	userpb.UnimplementedUserServiceServer
	b *backend
}

// call is the fault state of one call, alive from begin to end.
type call struct {
	b        *backend
	m        methodID
	msgLat   []*rule // per-message latency rules that fired for this call
	abort    *Abort
	orca     *ORCA
	messages int // messages counted towards abort
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

// pause waits out a pause window covering now, if any.
func (b *backend) pause(ctx context.Context) error {
	now := b.cl.elapsed()
	end, ok := b.rules.pauseEnd(now)
	if !ok {
		return nil
	}
	b.ctr.fault(KindPause, codes.OK)
	return sleep(ctx, end-now)
}

// begin counts the call and applies the call-level faults. A non-nil error
// ends the call with that status before any response is sent
// (trailers-only). end must be called in every case.
func (b *backend) begin(ctx context.Context, m methodID) (*call, error) {
	c := &call{b: b, m: m}
	b.ctr.calls[m].Add(1)
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("grpc-previous-rpc-attempts")) > 0 {
		b.ctr.retries[m].Add(1)
	}
	n := b.ctr.inflight.Add(1)
	for {
		old := b.ctr.maxInflight.Load()
		if n <= old || b.ctr.maxInflight.CompareAndSwap(old, n) {
			break
		}
	}
	if b.rules.maxInflight > 0 && n > b.rules.maxInflight {
		b.ctr.fault(KindCapacity, codes.ResourceExhausted)
		return c, status.Errorf(codes.ResourceExhausted, "fakeserver: %d calls in flight, capacity %d", n, b.rules.maxInflight)
	}
	if err := b.pause(ctx); err != nil {
		return c, err
	}
	now := b.cl.elapsed()
	for _, r := range b.rules.calls[m] {
		if !r.win.Active(now) {
			continue
		}
		f := r.fault
		switch r.kind {
		case KindLatency:
			fire, d := r.fires(f.Latency.Rate, 0)
			if !fire {
				continue
			}
			if r.perMessage {
				c.msgLat = append(c.msgLat, r)
			}
			if r.perCall {
				b.ctr.fault(KindLatency, codes.OK)
				if err := sleep(ctx, f.Latency.Sample(r.draws.unit(d, 1), r.draws.unit(d, 2))); err != nil {
					return c, err
				}
			}
		case KindError:
			e := f.Error
			if fire, _ := r.fires(e.Rate, e.EveryNth); !fire {
				continue
			}
			b.ctr.fault(KindError, e.Code)
			if e.Pushback != nil {
				ms := "-1"
				if *e.Pushback >= 0 {
					ms = strconv.FormatInt(e.Pushback.Milliseconds(), 10)
				}
				_ = grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", ms))
			}
			return c, status.Error(e.Code, defaultMessage(KindError, e.Code, e.Message))
		case KindStall:
			s := f.Stall
			if fire, _ := r.fires(s.Rate, s.EveryNth); !fire {
				continue
			}
			b.ctr.fault(KindStall, codes.OK)
			<-ctx.Done()
			return c, status.FromContextError(ctx.Err()).Err()
		case KindAbort:
			if fire, _ := r.fires(f.Abort.Rate, 0); fire {
				c.abort = f.Abort
			}
		case KindORCA:
			c.orca = f.ORCA
		}
	}
	return c, nil
}

// message is called before each stream message the server sends (server
// and bidi streams) or after each one it receives (client streams). It
// applies pause, per-message latency and abort.
func (c *call) message(ctx context.Context) error {
	if c.abort != nil && c.messages >= c.abort.After {
		c.b.ctr.fault(KindAbort, c.abort.Code)
		return status.Error(c.abort.Code, defaultMessage(KindAbort, c.abort.Code, c.abort.Message))
	}
	c.messages++
	if err := c.b.pause(ctx); err != nil {
		return err
	}
	for _, r := range c.msgLat {
		d := r.draws.next()
		c.b.ctr.fault(KindLatency, codes.OK)
		if err := sleep(ctx, r.fault.Latency.Sample(r.draws.unit(d, 1), r.draws.unit(d, 2))); err != nil {
			return err
		}
	}
	return nil
}

// end records the call's status and its ORCA load report.
func (c *call) end(ctx context.Context, err error) error {
	b := c.b
	code := status.Code(err)
	if err != nil && errors.Is(err, context.Canceled) {
		code = codes.Canceled
	}
	b.ctr.code(code)
	inflight := b.ctr.inflight.Add(-1) + 1
	if rec := orca.CallMetricsRecorderFromContext(ctx); rec != nil {
		u := b.utilization(c.orca, inflight)
		if u > 0 {
			rec.SetCPUUtilization(u)
			rec.SetApplicationUtilization(u)
		}
		rec.SetQPS(b.qps.rate(time.Now(), b, u))
	}
	return err
}

// utilization is what the backend reports: fixed, proportional to
// in-flight calls over a capacity, or over defaultORCACapacity.
func (b *backend) utilization(o *ORCA, inflight int64) float64 {
	if o != nil && o.Utilization != nil {
		return *o.Utilization
	}
	capacity := float64(defaultORCACapacity)
	if o != nil && o.Capacity > 0 {
		capacity = o.Capacity
	}
	return math.Min(1, math.Max(float64(inflight), 1)/capacity)
}

// qpsMeter estimates the completed-call rate over windows of 250 ms without
// a lock: the caller that crosses a window boundary publishes the rate.
type qpsMeter struct {
	count    atomic.Int64
	winStart atomic.Int64 // unix nanos
	winCount atomic.Int64
	rateBits atomic.Uint64
}

const qpsWindow = 250 * time.Millisecond

func (q *qpsMeter) rate(now time.Time, b *backend, u float64) float64 {
	n := q.count.Add(1)
	t := now.UnixNano()
	start := q.winStart.Load()
	if start == 0 {
		q.winStart.CompareAndSwap(0, t)
		return 1
	}
	if dt := time.Duration(t - start); dt >= qpsWindow && q.winStart.CompareAndSwap(start, t) {
		r := float64(n-q.winCount.Swap(n)) / dt.Seconds()
		q.rateBits.Store(math.Float64bits(r))
		if u > 0 {
			b.oob.SetCPUUtilization(u)
			b.oob.SetApplicationUtilization(u)
			b.oob.SetQPS(r)
		}
	}
	if r := math.Float64frombits(q.rateBits.Load()); r > 0 {
		return r
	}
	return 1
}

func (s *service) CreateUser(ctx context.Context, req *userpb.CreateUserRequest) (_ *userpb.CreateUserResponse, err error) {
	b := s.b
	c, err := b.begin(ctx, mCreateUser)
	defer func() { err = c.end(ctx, err) }()
	b.ctr.msgsIn[mCreateUser].Add(1)
	if err != nil {
		return nil, err
	}
	u := b.store.create(req)
	b.ctr.msgsOut[mCreateUser].Add(1)
	return &userpb.CreateUserResponse{User: withPadding(u, req.GetResponsePadding())}, nil
}

func (s *service) GetUser(ctx context.Context, req *userpb.GetUserRequest) (_ *userpb.GetUserResponse, err error) {
	b := s.b
	c, err := b.begin(ctx, mGetUser)
	defer func() { err = c.end(ctx, err) }()
	b.ctr.msgsIn[mGetUser].Add(1)
	if err != nil {
		return nil, err
	}
	if req.GetUserId() == "" {
		return nil, status.Error(codes.InvalidArgument, "user_id is required")
	}
	b.ctr.msgsOut[mGetUser].Add(1)
	return &userpb.GetUserResponse{User: withPadding(b.store.get(req.GetUserId()), req.GetResponsePadding())}, nil
}

// maxPageSize bounds one ListUsers stream.
const maxPageSize = 100_000

func (s *service) ListUsers(req *userpb.ListUsersRequest, stream grpc.ServerStreamingServer[userpb.User]) (err error) {
	b, ctx := s.b, stream.Context()
	c, err := b.begin(ctx, mListUsers)
	defer func() { err = c.end(ctx, err) }()
	b.ctr.msgsIn[mListUsers].Add(1)
	if err != nil {
		return err
	}
	n := req.GetPageSize()
	switch {
	case n < 0 || n > maxPageSize:
		return status.Errorf(codes.InvalidArgument, "page_size must be between 0 and %d, got %d", maxPageSize, n)
	case n == 0:
		n = 10
	}
	first := int64(0)
	if tok := req.GetPageToken(); tok != "" {
		first = userNum(tok)
	}
	for i := range int64(n) {
		if err := c.message(ctx); err != nil {
			return err
		}
		if err := stream.Send(withPadding(b.store.get(userID(first+i)), req.GetResponsePadding())); err != nil {
			return err
		}
		b.ctr.msgsOut[mListUsers].Add(1)
	}
	return nil
}

func (s *service) BatchCreateUsers(stream grpc.ClientStreamingServer[userpb.CreateUserRequest, userpb.BatchCreateUsersResponse]) (err error) {
	b, ctx := s.b, stream.Context()
	c, err := b.begin(ctx, mBatchCreateUsers)
	defer func() { err = c.end(ctx, err) }()
	if err != nil {
		return err
	}
	resp := &userpb.BatchCreateUsersResponse{}
	var respPad int32
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		b.ctr.msgsIn[mBatchCreateUsers].Add(1)
		if err := c.message(ctx); err != nil {
			return err
		}
		u := b.store.create(req)
		if resp.Created == 0 {
			resp.FirstId = u.Id
		}
		resp.LastId = u.Id
		resp.Created++
		respPad = req.GetResponsePadding()
	}
	resp.Padding = padding(respPad)
	if err := stream.SendAndClose(resp); err != nil {
		return err
	}
	b.ctr.msgsOut[mBatchCreateUsers].Add(1)
	return nil
}

func (s *service) SyncUsers(stream grpc.BidiStreamingServer[userpb.SyncUserRequest, userpb.SyncUserResponse]) (err error) {
	b, ctx := s.b, stream.Context()
	c, err := b.begin(ctx, mSyncUsers)
	defer func() { err = c.end(ctx, err) }()
	if err != nil {
		return err
	}
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		b.ctr.msgsIn[mSyncUsers].Add(1)
		if err := c.message(ctx); err != nil {
			return err
		}
		u := withPadding(b.store.get(req.GetUserId()), req.GetResponsePadding())
		if err := stream.Send(&userpb.SyncUserResponse{Seq: req.GetSeq(), User: u}); err != nil {
			return err
		}
		b.ctr.msgsOut[mSyncUsers].Add(1)
	}
}
