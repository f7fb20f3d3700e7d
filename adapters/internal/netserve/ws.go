package netserve

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// wsCloseWait bounds the WebSocket closing handshake: how long the close
// frame may take to go out, and how long after it the peer has to answer
// with its own close frame before the TCP connection is closed anyway.
const wsCloseWait = time.Second

// wsConn presents a WebSocket as a byte stream: the protocol's frames may
// span messages and one message may hold several of them (MQTT over
// WebSocket [MQTT-6.0.0-2]; STOMP sends one frame per message, which reads
// the same). A binary connection reads binary messages only: a text
// message ends it with status 1003 [MQTT-6.0.0-1]. A text connection reads
// both kinds and writes text messages.
//
// Closing takes the WebSocket closing handshake [RFC6455 7.1]: a close
// frame with a status code, then the peer's close frame (or EOF, or
// wsCloseWait), with what arrives meanwhile read and dropped, and only
// then the TCP connection's close. Closing it without the handshake makes
// a client that is still writing (its own close frame after the
// protocol's goodbye) fail with ECONNRESET or EPIPE, and the kernel
// resets a connection closed with unread input.
//
// The handshake has two halves: shutdown, which any goroutine may call
// (a kick, the writer), sends the close frame and makes the owner's Read
// return once the peer answered or wsCloseWait passed; Close, which only
// the owner calls when it no longer reads, finishes the handshake and
// closes the TCP connection.
type wsConn struct {
	ws   *websocket.Conn
	text bool      // text messages are data, and writes are text
	r    io.Reader // the message being read (owner only)

	status atomic.Uint32 // close status to send; the first set wins, 0: normal

	shutOnce sync.Once
	closing  atomic.Bool // shutdown ran: input is dropped
	mu       sync.Mutex  // orders SetReadDeadline against shutdown's deadline

	readErr  error // the error that ended reading (owner only)
	peerDone bool  // the peer sent its close frame or closed TCP (owner only)
}

var _ net.Conn = (*wsConn)(nil)

// newWSConn wraps an upgraded WebSocket; text says the protocol's messages
// are text (STOMP) rather than binary (MQTT).
func newWSConn(ws *websocket.Conn, text bool) *wsConn { return &wsConn{ws: ws, text: text} }

// Read returns the payload of data messages. Once shutdown ran it drops
// whatever arrives until the peer's close frame, EOF or the handshake's
// deadline ends reading.
func (c *wsConn) Read(p []byte) (int, error) {
	if c.readErr != nil {
		// gorilla's reads fail for good after an error, and panic when
		// called too often after one.
		return 0, c.readErr
	}
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				return 0, c.readFailed(err)
			}
			if typ != websocket.BinaryMessage && !c.text && !c.closing.Load() {
				// Text to a binary protocol ends the connection
				// (MQTT: [MQTT-6.0.0-1]).
				c.setStatus(CloseUnsupportedData)
				return 0, ErrTextFrame
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			err = nil
		} else if err != nil {
			return 0, c.readFailed(err)
		}
		if n > 0 && !c.closing.Load() {
			return n, nil
		}
	}
}

// readFailed records the error that ended reading.
func (c *wsConn) readFailed(err error) error {
	var ce *websocket.CloseError
	// gorilla reports EOF as a CloseError too (1006).
	c.peerDone = errors.As(err, &ce)
	c.readErr = err
	return err
}

// Write sends p as one message. A text protocol's message that is not
// UTF-8 (a STOMP frame with a binary body) goes as a binary message: a
// text message must be UTF-8 [RFC6455 5.6], and browsers fail the
// connection on one that is not.
func (c *wsConn) Write(p []byte) (int, error) {
	typ := websocket.BinaryMessage
	if c.text && utf8.Valid(p) {
		typ = websocket.TextMessage
	}
	if err := c.ws.WriteMessage(typ, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// setStatus sets the close status [RFC6455 7.4.1] shutdown sends, unless
// one is set: the first reason to close is the one told.
func (c *wsConn) setStatus(code int) {
	c.status.CompareAndSwap(0, uint32(code))
}

// shutdown starts the closing handshake: it sends the close frame and
// makes the owner's Read return once the peer answered, at the latest
// after wsCloseWait. It does not wait for the peer. Any goroutine may call
// it, any number of times. The peer's own close frame is answered by
// gorilla's default close handler, with the peer's status.
func (c *wsConn) shutdown() {
	c.shutOnce.Do(func() {
		code := int(c.status.Load())
		if code == 0 {
			code = CloseNormal
		}
		by := time.Now().Add(wsCloseWait)
		err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), by)
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			// No close frame went out (the connection is broken or the
			// peer does not read): the peer has nothing to answer.
			by = time.Now()
		}
		c.mu.Lock()
		c.closing.Store(true)
		// A Read blocked for input returns at by, or earlier with the
		// peer's close frame.
		c.ws.SetReadDeadline(by)
		c.mu.Unlock()
	})
}

// Close finishes the closing handshake and closes the TCP connection.
// Only the connection's owner calls it, once it no longer reads: it reads
// until the peer's close frame or EOF, dropping data, for at most
// wsCloseWait after the close frame.
func (c *wsConn) Close() error {
	c.shutdown()
	if !c.peerDone {
		c.drain()
	}
	if err := c.ws.Close(); err != nil {
		return fmt.Errorf("websocket close: %w", err)
	}
	return nil
}

// abort sends the close frame and closes the TCP connection without
// waiting for the peer's answer, for a connection nobody waits for.
func (c *wsConn) abort() {
	c.shutdown()
	c.ws.Close()
}

// drain reads and drops input until the peer's close frame, EOF or the
// handshake's deadline, so that closing the socket does not reset the
// connection because of unread input.
func (c *wsConn) drain() {
	if c.readErr == nil {
		for {
			if _, r, err := c.ws.NextReader(); err != nil {
				c.readFailed(err)
				if c.peerDone {
					return
				}
				break
			} else if _, err := io.Copy(io.Discard, r); err != nil {
				c.readFailed(err)
				if c.peerDone {
					return
				}
				break
			}
		}
	}
	// gorilla no longer reads (a deadline passed, a frame it refused):
	// drop what still arrives on the connection under it. Its close frame,
	// if any, is not recognised here, so this waits for EOF or the
	// deadline.
	nc := c.ws.NetConn()
	var buf [512]byte
	for {
		if _, err := nc.Read(buf[:]); err != nil {
			return
		}
	}
}

func (c *wsConn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// SetReadDeadline moves the read deadline until shutdown, which sets the
// deadline of the handshake.
func (c *wsConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing.Load() {
		return nil
	}
	return c.ws.SetReadDeadline(t)
}

func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }

func (c *wsConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.ws.SetWriteDeadline(t)
}

// NetConn returns the connection under the WebSocket: TCP or TLS.
func (c *wsConn) NetConn() net.Conn { return c.ws.NetConn() }

// WebSocket close statuses [RFC6455 7.4.1] a protocol may end a connection
// with.
const (
	CloseNormal          = websocket.CloseNormalClosure   // 1000
	CloseGoingAway       = websocket.CloseGoingAway       // 1001: the server is shutting down
	CloseProtocolError   = websocket.CloseProtocolError   // 1002
	CloseUnsupportedData = websocket.CloseUnsupportedData // 1003: a text frame to a binary protocol
	ClosePolicyViolation = websocket.ClosePolicyViolation // 1008: refused by configuration or policy
	CloseMessageTooBig   = websocket.CloseMessageTooBig   // 1009
	CloseTryAgainLater   = websocket.CloseTryAgainLater   // 1013
)

type wsError string

func (e wsError) Error() string { return string(e) }

// ErrTextFrame ends reading a binary WebSocket connection that received a
// text message.
const ErrTextFrame = wsError("websocket text frame received; the protocol uses binary frames")
