package fakeserver

import (
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

// rawConn is an HTTP/2 connection without grpc-go on the client side, to
// see frames the server sends that grpc-go's client hides.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	fr *http2.Framer
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	r := &rawConn{t: t, c: c, fr: http2.NewFramer(c, c)}
	if err := r.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return r
}

// settings reads frames until the server's SETTINGS frame (not an ack) and
// returns it.
func (r *rawConn) settings() *http2.SettingsFrame {
	r.t.Helper()
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			r.t.Fatalf("read frame: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			return sf
		}
	}
}

// next reads frames, acknowledging settings, until a PING ack or a GOAWAY.
func (r *rawConn) next() http2.Frame {
	r.t.Helper()
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			r.t.Fatalf("read frame: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := r.fr.WriteSettingsAck(); err != nil {
					r.t.Fatal(err)
				}
			}
		case *http2.PingFrame:
			if f.IsAck() {
				return f
			}
		case *http2.GoAwayFrame:
			return f
		}
	}
}

func TestGoAwayOnMaxConnectionAge(t *testing.T) {
	cl := startCluster(t, Config{Faults: []Fault{
		{GoAway: &GoAway{MaxConnectionAge: 300 * time.Millisecond, Grace: 200 * time.Millisecond}},
	}})
	// On the wire: a GOAWAY with NO_ERROR arrives after about the age.
	r := dialRaw(t, cl.Addrs()[0])
	t0 := time.Now()
	f, ok := r.next().(*http2.GoAwayFrame)
	if !ok || f.ErrCode != http2.ErrCodeNo {
		t.Fatalf("got %v, want GOAWAY NO_ERROR", f)
	}
	if d := time.Since(t0); d < 200*time.Millisecond {
		t.Fatalf("GOAWAY after %v, before the max age (300ms - 10%% jitter)", d)
	}

	// A grpc-go client keeps working across GOAWAYs by reconnecting.
	_, c := dial(t, cl.Addrs()[0])
	ctx := ctxFor(t, 20*time.Second)
	end := time.Now().Add(1500 * time.Millisecond)
	calls := 0
	for time.Now().Before(end) {
		if _, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}); err != nil {
			t.Fatalf("call %d across GOAWAY: %v", calls, err)
		}
		calls++
		time.Sleep(10 * time.Millisecond)
	}
	st := cl.Stats().Backends[0]
	// The raw connection plus at least three grpc-go connections in 1.5 s.
	if st.ConnectionsTotal < 4 {
		t.Fatalf("%d connections accepted over 1.5s with a 300ms max age; want the client to reconnect", st.ConnectionsTotal)
	}
	if st.Calls["GetUser"] != int64(calls) {
		t.Fatalf("server counted %d calls, client made %d", st.Calls["GetUser"], calls)
	}
}

func TestKeepaliveEnforcement(t *testing.T) {
	tests := []struct {
		name   string
		ka     *Keepalive
		goaway bool
	}{
		{"strict policy sends too_many_pings", &Keepalive{MinTime: time.Minute}, true},
		{"lenient policy accepts pings", &Keepalive{MinTime: 10 * time.Millisecond, PermitWithoutStream: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := startCluster(t, Config{Faults: []Fault{{Keepalive: tt.ka}}})
			r := dialRaw(t, cl.Addrs()[0])
			for i := range 5 {
				time.Sleep(30 * time.Millisecond)
				if err := r.fr.WritePing(false, [8]byte{byte(i)}); err != nil {
					t.Fatal(err)
				}
				switch f := r.next().(type) {
				case *http2.GoAwayFrame:
					if !tt.goaway {
						t.Fatalf("ping %d: unexpected GOAWAY %v %q", i, f.ErrCode, f.DebugData())
					}
					if f.ErrCode != http2.ErrCodeEnhanceYourCalm || string(f.DebugData()) != "too_many_pings" {
						t.Fatalf("GOAWAY %v %q, want ENHANCE_YOUR_CALM too_many_pings", f.ErrCode, f.DebugData())
					}
					return
				case *http2.PingFrame:
				}
			}
			if tt.goaway {
				t.Fatal("5 pings without streams got no GOAWAY")
			}
		})
	}
}
