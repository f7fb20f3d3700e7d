package coap

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// rawClient speaks CoAP datagrams by hand, for what go-coap's client will
// not send or would answer on its own.
type rawClient struct {
	t    testing.TB
	conn *net.UDPConn
}

func (e *testEnv) raw() *rawClient {
	e.t.Helper()
	ua, _ := net.ResolveUDPAddr("udp", e.addr)
	c, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return &rawClient{t: e.t, conn: c}
}

func (r *rawClient) send(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// rawMsg is a message read back, decoded by go-coap's coder.
type rawMsg struct {
	typ     byte
	code    byte
	mid     uint16
	token   []byte
	observe int64
	echo    []byte
	payload string
	raw     []byte
}

// readTimeout reads one datagram; ok is false after timeout.
func (r *rawClient) readTimeout(timeout time.Duration) (rawMsg, bool) {
	r.t.Helper()
	buf := make([]byte, 65536)
	r.conn.SetReadDeadline(time.Now().Add(timeout))
	n, err := r.conn.Read(buf)
	if err != nil {
		return rawMsg{}, false
	}
	m := message.Message{Options: make(message.Options, 0, 32)}
	if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil {
		r.t.Fatalf("gateway sent an undecodable datagram % x: %v", buf[:n], err)
	}
	rm := rawMsg{typ: byte(m.Type), code: byte(m.Code), mid: uint16(m.MessageID), token: m.Token,
		observe: -1, payload: string(m.Payload), raw: buf[:n]}
	if v, err := m.Options.Observe(); err == nil {
		rm.observe = int64(v)
	}
	if v, err := m.Options.GetBytes(message.Echo); err == nil {
		rm.echo = append([]byte(nil), v...)
	}
	return rm, true
}

func (r *rawClient) read() rawMsg {
	r.t.Helper()
	m, ok := r.readTimeout(5 * time.Second)
	if !ok {
		r.t.Fatal("timed out waiting for a datagram")
	}
	return m
}

func (r *rawClient) nothing() {
	r.t.Helper()
	if m, ok := r.readTimeout(300 * time.Millisecond); ok {
		r.t.Fatalf("unexpected datagram %s % x", codeString(m.code), m.raw)
	}
}

// rawRequest encodes a request with go-coap's coder.
func rawRequest(typ message.Type, code codes.Code, mid uint16, token []byte, opts message.Options, payload []byte) []byte {
	m := message.Message{Type: typ, Code: code, MessageID: int32(mid), Token: token, Options: opts, Payload: payload}
	n, _ := coder.DefaultCoder.Size(m)
	b := make([]byte, n)
	if _, err := coder.DefaultCoder.Encode(m, b); err != nil {
		panic(err)
	}
	return b
}

func pathOpts(segs ...string) message.Options {
	var o message.Options
	for _, s := range segs {
		o = append(o, message.Option{ID: message.URIPath, Value: []byte(s)})
	}
	return o
}

// rawGET is a CON GET with Observe 0 (observe) on segs.
func rawGET(mid uint16, token []byte, observe bool, segs ...string) []byte {
	var o message.Options
	if observe {
		o = append(o, message.Option{ID: message.Observe})
	}
	o = append(o, pathOpts(segs...)...)
	return rawRequest(message.Confirmable, codes.GET, mid, token, o, nil)
}

func decodeForTest(b []byte, m *message.Message) (int, error) { return coder.DefaultCoder.Decode(b, m) }

func bytesReader(s string) *bytes.Reader { return bytes.NewReader([]byte(s)) }
