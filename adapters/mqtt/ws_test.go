package mqtt_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
)

// wsClient speaks MQTT over WebSocket packet by packet, one packet per
// binary message, and sees the WebSocket's close frames.
type wsClient struct {
	t   *testing.T
	ws  *websocket.Conn
	v   packet.Version
	buf []byte
}

func dialWS(t *testing.T, url string, v packet.Version) *wsClient {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &wsClient{t: t, ws: ws, v: v}
}

func (c *wsClient) writeRaw(typ int, b []byte) {
	c.t.Helper()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.ws.WriteMessage(typ, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *wsClient) send(p *packet.Packet) {
	c.t.Helper()
	b, err := packet.Append(nil, p, c.v)
	if err != nil {
		c.t.Fatalf("encode %v: %v", p.Type, err)
	}
	c.writeRaw(websocket.BinaryMessage, b)
}

// read returns the next packet, or the error that ended the WebSocket:
// a *websocket.CloseError carries the close frame's status.
func (c *wsClient) read() (*packet.Packet, error) {
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if len(c.buf) > 0 {
			h, err := packet.ReadHeader(c.buf, 0)
			if err == nil && len(c.buf) >= h.Len+h.Remaining {
				p := new(packet.Packet)
				body := append([]byte(nil), c.buf[h.Len:h.Len+h.Remaining]...)
				c.buf = c.buf[h.Len+h.Remaining:]
				return p, packet.Decode(p, h, body, c.v)
			}
		}
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		c.buf = append(c.buf, b...)
	}
}

func (c *wsClient) connect(id string) {
	c.t.Helper()
	c.send(&packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: c.v, CleanStart: true, KeepAlive: 30, ClientID: id})
	p, err := c.read()
	if err != nil || p.Type != packet.CONNACK || p.ReasonCode != 0 {
		c.t.Fatalf("CONNACK: %v, %v", p, err)
	}
}

// expectClose reads until the server's close frame and returns the reason
// code of the DISCONNECT before it (-1 for none) and the frame's status.
// gorilla answers the close frame while reading it; the server must then
// close the TCP connection, without a reset.
func (c *wsClient) expectClose() (disconnect, status int) {
	c.t.Helper()
	disconnect = -1
	for {
		p, err := c.read()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			status = ce.Code
			break
		}
		if err != nil {
			c.t.Fatalf("waiting for the close frame: %v", err)
		}
		if p.Type != packet.DISCONNECT {
			c.t.Fatalf("got %v while waiting for the close frame", p.Type)
		}
		disconnect = int(p.ReasonCode)
	}
	if status == websocket.CloseAbnormalClosure {
		// The TCP connection ended without a close frame.
		return disconnect, status
	}
	nc := c.ws.NetConn()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := nc.Read(make([]byte, 16)); err != io.EOF {
		c.t.Fatalf("after the closing handshake: read %d bytes, %v; want EOF", n, err)
	}
	return disconnect, status
}

// fixture returns the bytes of the named fixture in testdata/mqtt.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	for _, f := range fixtures(t) {
		if f.Name == name {
			return f.Bytes
		}
	}
	t.Fatalf("no fixture %s", name)
	return nil
}

// TestWebSocketCloseHandshake checks that every way a WebSocket connection
// ends takes the closing handshake [RFC6455 7.1.2]: the server sends a
// close frame with a status that says why, waits for the client's, and
// then closes the TCP connection, so a client still writing gets no reset.
func TestWebSocketCloseHandshake(t *testing.T) {
	cases := []struct {
		name           string
		v              packet.Version
		opt            serverOpt
		run            func(t *testing.T, ts *testServer, c *wsClient)
		wantDisconnect int
		wantStatus     int
	}{
		{
			name:           "v5 DISCONNECT closes with 1000",
			v:              packet.V5,
			run:            func(_ *testing.T, _ *testServer, c *wsClient) { c.send(&packet.Packet{Type: packet.DISCONNECT}) },
			wantDisconnect: -1,
			wantStatus:     websocket.CloseNormalClosure,
		},
		{
			name:           "v3.1.1 DISCONNECT closes with 1000",
			v:              packet.V311,
			run:            func(_ *testing.T, _ *testServer, c *wsClient) { c.send(&packet.Packet{Type: packet.DISCONNECT}) },
			wantDisconnect: -1,
			wantStatus:     websocket.CloseNormalClosure,
		},
		{
			name: "client's close frame is answered with its status",
			v:    packet.V5,
			run: func(t *testing.T, _ *testServer, c *wsClient) {
				msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "tab closed")
				if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(5*time.Second)); err != nil {
					t.Fatal(err)
				}
			},
			wantDisconnect: -1,
			wantStatus:     websocket.CloseGoingAway,
		},
		{
			name: "v5 malformed packet closes with 1002 after DISCONNECT 0x81",
			v:    packet.V5,
			run: func(t *testing.T, _ *testServer, c *wsClient) {
				c.writeRaw(websocket.BinaryMessage, fixture(t, "b7-publish-qos3"))
			},
			wantDisconnect: int(packet.MalformedPacket),
			wantStatus:     websocket.CloseProtocolError,
		},
		{
			name: "v3.1.1 malformed packet closes with 1002",
			v:    packet.V311,
			run: func(t *testing.T, _ *testServer, c *wsClient) {
				c.writeRaw(websocket.BinaryMessage, fixture(t, "b7-publish-qos3"))
			},
			wantDisconnect: -1,
			wantStatus:     websocket.CloseProtocolError,
		},
		{
			// [MQTT-6.0.0-1]
			name:           "text frame closes with 1003",
			v:              packet.V311,
			run:            func(_ *testing.T, _ *testServer, c *wsClient) { c.writeRaw(websocket.TextMessage, []byte("hello")) },
			wantDisconnect: -1,
			wantStatus:     websocket.CloseUnsupportedData,
		},
		{
			name: "packet over the maximum size closes with 1009 after DISCONNECT 0x95",
			v:    packet.V5,
			opt:  func(_ *core.Config, mc *mqtt.Config) { mc.MaxPacketSize = 1024 },
			run: func(_ *testing.T, _ *testServer, c *wsClient) {
				// The header announces 2000 bytes; the body need not follow.
				c.writeRaw(websocket.BinaryMessage, []byte{0x30, 0xD0, 0x0F, 0x00, 0x01, 'a'})
			},
			wantDisconnect: int(packet.PacketTooLarge),
			wantStatus:     websocket.CloseMessageTooBig,
		},
		{
			name: "takeover closes with 1000 after DISCONNECT 0x8E",
			v:    packet.V5,
			run: func(t *testing.T, ts *testServer, _ *wsClient) {
				dialWS(t, ts.ws(), packet.V5).connect("ws-close")
			},
			wantDisconnect: int(packet.SessionTakenOver),
			wantStatus:     websocket.CloseNormalClosure,
		},
		{
			name: "shutdown closes with 1001 after DISCONNECT 0x8B",
			v:    packet.V5,
			run: func(t *testing.T, ts *testServer, _ *wsClient) {
				// Stop waits for the connection, which waits for the
				// client's answer to its close frame: the test reads it
				// while Stop runs.
				stopped := make(chan error, 1)
				go func() { stopped <- ts.srv.Stop(context.Background()) }()
				t.Cleanup(func() {
					if err := recv(t, stopped, "Stop"); err != nil {
						t.Errorf("stop: %v", err)
					}
				})
			},
			wantDisconnect: int(packet.ServerShuttingDown),
			wantStatus:     websocket.CloseGoingAway,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []serverOpt
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			ts := startServer(t, opts...)
			c := dialWS(t, ts.ws(), tc.v)
			c.connect("ws-close")
			tc.run(t, ts, c)
			disconnect, status := c.expectClose()
			if disconnect != tc.wantDisconnect || status != tc.wantStatus {
				t.Fatalf("DISCONNECT %d and close status %d, want %d and %d", disconnect, status, tc.wantDisconnect, tc.wantStatus)
			}
		})
	}
}

// TestWebSocketRefusedConnectCloses checks that a refused CONNECT ends
// with its CONNACK and a close frame with status 1008 (policy violation).
func TestWebSocketRefusedConnectCloses(t *testing.T) {
	ts := startServer(t, func(bc *core.Config, _ *mqtt.Config) { bc.AllowAnonymous = false })
	c := dialWS(t, ts.ws(), packet.V5)
	c.send(&packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: packet.V5, CleanStart: true, ClientID: "anonymous"})
	p, err := c.read()
	if err != nil || p.Type != packet.CONNACK || p.ReasonCode < 0x80 {
		t.Fatalf("CONNACK: %v, %v; want a refusal", p, err)
	}
	if _, status := c.expectClose(); status != websocket.ClosePolicyViolation {
		t.Fatalf("close status %d, want %d", status, websocket.ClosePolicyViolation)
	}
}

// TestWebSocketCloseWaitIsBounded checks that the server waits for the
// answer to its close frame, but not much longer than a second: then it
// closes the TCP connection anyway.
func TestWebSocketCloseWaitIsBounded(t *testing.T) {
	ts := startServer(t)
	c := dialWS(t, ts.ws(), packet.V311)
	c.connect("silent")
	c.send(&packet.Packet{Type: packet.DISCONNECT})
	// Read under gorilla, which would answer the close frame.
	nc := c.ws.NetConn()
	start := time.Now()
	nc.SetReadDeadline(start.Add(5 * time.Second))
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("read until the server closes: %v", err)
	}
	// The server waits about a second for the answer.
	if waited := time.Since(start); waited < 500*time.Millisecond || waited > 3*time.Second {
		t.Fatalf("closed after %v, want about a second", waited)
	}
	// An unmasked close frame with status 1000: 0x88 0x02 0x03 0xE8.
	if want := []byte{0x88, 0x02, 0x03, 0xE8}; !bytes.Equal(got, want) {
		t.Fatalf("got % x before the close, want % x", got, want)
	}
}
