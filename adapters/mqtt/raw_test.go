package mqtt_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt/packet"
)

// rawClient speaks MQTT packet by packet, for the corners no client
// library lets a test reach (malformed input, QoS 2 across reconnect).
type rawClient struct {
	t   *testing.T
	nc  net.Conn
	v   packet.Version
	buf []byte
}

func dialRaw(t *testing.T, addr string, v packet.Version) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, v: v}
}

func (r *rawClient) writeRaw(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *rawClient) send(p *packet.Packet) {
	r.t.Helper()
	b, err := packet.Append(nil, p, r.v)
	if err != nil {
		r.t.Fatalf("encode %v: %v", p.Type, err)
	}
	r.writeRaw(b)
}

// read returns the next packet, or nil and the error when the connection
// ends first.
func (r *rawClient) read() (*packet.Packet, error) {
	r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if len(r.buf) > 0 {
			h, err := packet.ReadHeader(r.buf, 0)
			if err == nil && len(r.buf) >= h.Len+h.Remaining {
				p := new(packet.Packet)
				body := append([]byte(nil), r.buf[h.Len:h.Len+h.Remaining]...)
				r.buf = r.buf[h.Len+h.Remaining:]
				if err := packet.Decode(p, h, body, r.v); err != nil {
					return nil, err
				}
				return p, nil
			}
			if err != nil && !errors.Is(err, packet.ErrIncomplete) {
				return nil, err
			}
		}
		tmp := make([]byte, 4096)
		n, err := r.nc.Read(tmp)
		r.buf = append(r.buf, tmp[:n]...)
		if n == 0 && err != nil {
			return nil, err
		}
	}
}

func (r *rawClient) expect(t packet.Type) *packet.Packet {
	r.t.Helper()
	p, err := r.read()
	if err != nil {
		r.t.Fatalf("waiting for %v: %v", t, err)
	}
	if p.Type != t {
		r.t.Fatalf("got %v, want %v", p.Type, t)
	}
	return p
}

// expectClosed asserts the server closes the connection, after an optional
// DISCONNECT whose reason code is returned (-1 when none came).
func (r *rawClient) expectClosed() int {
	r.t.Helper()
	code := -1
	for {
		p, err := r.read()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
				return code
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				r.t.Fatal("connection not closed by the server")
			}
			return code
		}
		if p.Type == packet.DISCONNECT {
			code = int(p.ReasonCode)
		} else if p.Type != packet.CONNACK {
			r.t.Fatalf("got %v while waiting for the close", p.Type)
		} else {
			code = int(p.ReasonCode)
		}
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

func (r *rawClient) connect(id string, clean bool, mod ...func(*packet.Packet)) *packet.Packet {
	r.t.Helper()
	p := &packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: r.v, CleanStart: clean, KeepAlive: 30, ClientID: id}
	if r.v == packet.V31 {
		p.ProtocolName = "MQIsdp"
	}
	for _, m := range mod {
		m(p)
	}
	r.send(p)
	return r.expect(packet.CONNACK)
}

func TestTakeoverSendsDisconnect8E(t *testing.T) {
	ts := startServer(t)
	a := dialRaw(t, ts.tcp(), packet.V5)
	a.connect("same", true, func(p *packet.Packet) {
		p.Properties.SessionExpiry, p.Properties.HasSessionExpiry = 60, true
	})
	b := dialRaw(t, ts.tcp(), packet.V5)
	if ack := b.connect("same", false); ack.ReasonCode != 0 || !ack.SessionPresent {
		t.Fatalf("takeover CONNACK: code 0x%02X present %v", ack.ReasonCode, ack.SessionPresent)
	}
	if code := a.expectClosed(); code != 0x8E {
		t.Fatalf("old connection got reason %d, want 0x8E", code)
	}
}
