package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// dial opens the byte stream a client speaks MQTT over: TCP, TLS,
// WebSocket (subprotocol "mqtt") or secure WebSocket.
func dial(ctx context.Context, o *Options) (io.ReadWriteCloser, error) {
	var tlsConf *tls.Config
	if o.TLS {
		host, _, _ := net.SplitHostPort(o.Addr)
		tlsConf = &tls.Config{ServerName: host, InsecureSkipVerify: o.Insecure}
	}
	if o.WS {
		scheme := "ws"
		if o.TLS {
			scheme = "wss"
		}
		d := websocket.Dialer{
			Subprotocols:     []string{"mqtt"},
			TLSClientConfig:  tlsConf,
			HandshakeTimeout: o.ConnectTimeout,
			ReadBufferSize:   4096,
			WriteBufferSize:  4096,
		}
		c, resp, err := d.DialContext(ctx, scheme+"://"+o.Addr+o.WSPath, http.Header{})
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if err != nil {
			return nil, err
		}
		return &wsConn{c: c}, nil
	}
	d := net.Dialer{Timeout: o.ConnectTimeout}
	c, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	if tlsConf == nil {
		return c, nil
	}
	tc := tls.Client(c, tlsConf)
	hctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

// wsConn reads WebSocket binary messages as one byte stream, as MQTT over
// WebSocket allows a packet to span messages, and writes each batch as one
// message.
type wsConn struct {
	c *websocket.Conn
	r io.Reader
}

func (w *wsConn) Read(p []byte) (int, error) {
	for {
		if w.r == nil {
			_, r, err := w.c.NextReader()
			if err != nil {
				return 0, err
			}
			w.r = r
		}
		n, err := w.r.Read(p)
		if errors.Is(err, io.EOF) {
			w.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (w *wsConn) Write(p []byte) (int, error) {
	w.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := w.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *wsConn) Close() error { return w.c.Close() }
