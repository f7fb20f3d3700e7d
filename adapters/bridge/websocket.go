package bridge

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// dialWebSocket opens an MQTT-over-WebSocket connection (subprotocol
// "mqtt", binary frames) and returns it as a byte stream for paho.golang.
func dialWebSocket(ctx context.Context, t target, tc *tls.Config) (net.Conn, error) {
	scheme := "ws"
	if t.scheme == "wss" {
		scheme = "wss"
	}
	path := t.path
	if path == "" {
		path = "/mqtt"
	}
	d := websocket.Dialer{TLSClientConfig: tc, Subprotocols: []string{"mqtt"}, HandshakeTimeout: 30 * time.Second}
	ws, _, err := d.DialContext(ctx, scheme+"://"+t.host+path, http.Header{})
	if err != nil {
		return nil, err
	}
	return &wsConn{ws: ws}, nil
}

// wsConn is a WebSocket connection read and written as a stream: MQTT
// packets may span frames and frames may hold several packets
// [MQTT-6.0.0-1].
type wsConn struct {
	ws  *websocket.Conn
	rmu sync.Mutex
	r   io.Reader
	wmu sync.Mutex
}

func (c *wsConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.r == nil {
			_, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) Close() error         { return c.ws.Close() }
func (c *wsConn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }
func (c *wsConn) SetDeadline(t time.Time) error {
	c.ws.SetReadDeadline(t)
	return c.ws.SetWriteDeadline(t)
}
func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
