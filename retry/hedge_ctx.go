package retry

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// firstCtx is the context of a hedged call's original attempt. It carries the
// caller's values and deadline, and a Done channel that a winning hedge (or
// the caller's own cancellation) closes. A firstCtx is made per call and never
// changed after: grpc-go's transport may still read it (Deadline, on a late
// RST_STREAM) after Invoke has returned, so nothing pooled may be handed to
// it. What is reused is the cancellable part, inner (a context.WithCancel of
// Background, kept in firstState), for as long as it was never cancelled,
// that is on every call where no hedge won: a call costs one small
// allocation instead of a cancel context and its watcher.
//
// Value answers from inner first: for the context package's private key that
// finds the nearest cancelCtx, inner answers itself, so grpc-go's own
// per-call context registers with the reused inner instead of allocating a
// watcher (for every other key inner, whose parent is Background, answers
// nil and the caller's context answers). Should the context package stop
// doing that, grpc-go falls back to a watcher goroutine: slower, still right.
//
// When the caller's context can be cancelled, a context.AfterFunc forwards
// its end to inner (that allocates; a caller without cancellation, such as
// context.Background, costs nothing). inner then ends with Canceled even when
// the caller's deadline passed, so err maps a CANCELLED result back to what
// grpc-go would have returned (DEADLINE_EXCEEDED) — see fixErr.
type firstCtx struct {
	parent context.Context
	inner  context.Context
}

var _ context.Context = (*firstCtx)(nil)

// firstState is the pooled part of a hedged call's original attempt: the
// reusable inner context and what ties it to the current call.
type firstState struct {
	parent context.Context // the current call's context; nil between calls
	inner  context.Context
	cancel context.CancelFunc // cancels inner
	stop   func() bool        // removes the AfterFunc on parent; nil if none
}

// start prepares f for a call made under parent and returns the attempt's
// context.
func (f *firstState) start(parent context.Context) context.Context {
	if f.inner == nil || f.inner.Err() != nil {
		f.inner, f.cancel = context.WithCancel(context.Background())
	}
	f.parent = parent
	if parent.Done() != nil {
		f.stop = context.AfterFunc(parent, f.cancel)
	}
	return &firstCtx{parent: parent, inner: f.inner}
}

// end releases f after the call. inner is kept for the next call only if it
// was never cancelled and never will be by a late AfterFunc.
func (f *firstState) end() {
	if f.stop != nil && !f.stop() {
		f.inner = nil // the AfterFunc ran or is running: inner is (being) cancelled
	}
	f.stop, f.parent = nil, nil
}

// fixErr turns the CANCELLED that inner's cancellation produced into the
// status grpc-go would have given had the attempt run under the caller's
// context (DEADLINE_EXCEEDED when its deadline passed).
func (f *firstState) fixErr(err error) error {
	if err != nil && status.Code(err) == codes.Canceled {
		if perr := f.parent.Err(); perr != nil {
			return status.FromContextError(perr).Err()
		}
	}
	return err
}

// Deadline returns the caller's deadline.
func (f *firstCtx) Deadline() (time.Time, bool) { return f.parent.Deadline() }

// Done is closed when a hedge won or the caller's context ended.
func (f *firstCtx) Done() <-chan struct{} { return f.inner.Done() }

// Err reports why Done was closed.
func (f *firstCtx) Err() error { return f.inner.Err() }

// Value returns inner's value (only the context package's own key has one),
// else the caller's.
func (f *firstCtx) Value(key any) any {
	if v := f.inner.Value(key); v != nil {
		return v
	}
	return f.parent.Value(key)
}
