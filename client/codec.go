package client

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	protobuf "google.golang.org/protobuf/proto"
)

// Payload is a request message already encoded: its bytes are sent as they
// are, with no marshalling per call. The client copies them into a pooled
// buffer when it sends, so the caller may reuse B once the send has
// returned.
type Payload struct {
	B []byte
}

// CopyMessage returns a Payload that owns a copy of p's bytes, for layers
// that keep sent messages to replay them (retries of uncommitted streams).
func (p *Payload) CopyMessage() (any, int) {
	return &Payload{B: append([]byte(nil), p.B...)}, len(p.B)
}

// HedgeNew implements retry.HedgeMessage: a hedged stream keeps a copy of
// its request.
func (p *Payload) HedgeNew() any { return &Payload{} }

// HedgeCopy implements retry.HedgeMessage.
func (p *Payload) HedgeCopy(src any) {
	if s, ok := src.(*Payload); ok {
		p.B = append(p.B[:0], s.B...)
	}
}

// Reply receives a response message: Size is the encoded size of the last
// message received and Msg, when not nil, is decoded from it. With Msg nil
// the response is only counted (no decoding).
type Reply struct {
	Msg  protobuf.Message
	Size int
}

// codecName keeps the content-subtype "proto": servers decode our bytes
// with their ordinary proto codec.
const codecName = proto.Name

// codec is gRPC's proto codec that also sends *Payload and receives *Reply.
type codec struct{ base encoding.CodecV2 }

var theCodec = codec{base: encoding.GetCodecV2(proto.Name)}

// Marshal implements encoding.CodecV2.
func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if p, ok := v.(*Payload); ok {
		if len(p.B) == 0 {
			return nil, nil
		}
		// The transport may write the data after SendMsg returns: give it a
		// pooled copy it frees, never the caller's buffer.
		pool := mem.DefaultBufferPool()
		buf := pool.Get(len(p.B))
		copy(*buf, p.B)
		return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
	}
	return c.base.Marshal(v)
}

// Unmarshal implements encoding.CodecV2.
func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*Reply)
	if !ok {
		return c.base.Unmarshal(data, v)
	}
	r.Size = data.Len()
	if r.Msg == nil {
		return nil
	}
	if err := c.base.Unmarshal(data, r.Msg); err != nil {
		return fmt.Errorf("client: the response does not decode as %s: %w", r.Msg.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// Name implements encoding.CodecV2.
func (codec) Name() string { return codecName }

// HedgeNew implements retry.HedgeMessage: each hedged attempt decodes into
// a reply of its own, and the winner's is copied into the caller's.
func (r *Reply) HedgeNew() any {
	if r.Msg == nil {
		return &Reply{}
	}
	return &Reply{Msg: r.Msg.ProtoReflect().New().Interface()}
}

// HedgeCopy implements retry.HedgeMessage.
func (r *Reply) HedgeCopy(src any) {
	s, ok := src.(*Reply)
	if !ok {
		return
	}
	r.Size = s.Size
	if r.Msg != nil && s.Msg != nil {
		protobuf.Reset(r.Msg)
		protobuf.Merge(r.Msg, s.Msg)
	}
}
