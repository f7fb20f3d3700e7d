package stomp

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The SockJS websocket transport, served without sockjs-go, which reads
// it with no message size limit: after the upgrade the server sends "o",
// then each STOMP frame as a one-element array frame (a["..."]); the
// client sends JSON arrays of strings (or one string), which are read as
// a byte stream like any other transport's; the server closes with
// c[1000,"Normal closure"].

var errSockJSFrame = errors.New("sockjs: a message is not a JSON string or array of strings")

// serveWebSocket upgrades a SockJS websocket request for session id and
// runs it as a STOMP connection until it ends.
func (sl *sockjsListener) serveWebSocket(w http.ResponseWriter, r *http.Request, id string) {
	defer func() {
		sl.mu.Lock()
		delete(sl.owners, id)
		sl.mu.Unlock()
	}()
	up := websocket.Upgrader{CheckOrigin: sl.originAllowed, HandshakeTimeout: sl.l.srv.cfg.ConnectTimeout}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(sl.maxBody)
	nc := &sockWSConn{ws: ws}
	t := &sockTransport{nc: nc}
	t.remote, _ = netip.ParseAddrPort(r.RemoteAddr)
	if err := nc.writeRaw([]byte("o")); err != nil {
		ws.Close()
		return
	}
	c := newConn(sl.l.srv, sl.l, t)
	sl.mu.Lock()
	sl.conns[c] = struct{}{}
	sl.wg.Add(1)
	sl.mu.Unlock()
	c.run()
	sl.mu.Lock()
	delete(sl.conns, c)
	sl.mu.Unlock()
	sl.wg.Done()
}

// sockWSConn is a SockJS websocket as a byte stream.
type sockWSConn struct {
	ws   *websocket.Conn
	buf  []byte // the rest of what the last message carried (reader only)
	wmu  sync.Mutex
	once sync.Once
}

func (c *sockWSConn) Read(b []byte) (int, error) {
	for len(c.buf) == 0 {
		_, m, err := c.ws.ReadMessage()
		if err != nil {
			return 0, err
		}
		if len(m) == 0 {
			continue
		}
		var msgs []string
		if m[0] == '"' {
			var one string
			err = json.Unmarshal(m, &one)
			msgs = []string{one}
		} else {
			err = json.Unmarshal(m, &msgs)
		}
		if err != nil {
			return 0, errSockJSFrame
		}
		for _, s := range msgs {
			c.buf = append(c.buf, s...)
		}
	}
	n := copy(b, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// Write sends b as one array frame.
func (c *sockWSConn) Write(b []byte) (int, error) {
	js, err := json.Marshal([]string{string(b)})
	if err != nil {
		return 0, err
	}
	if err := c.writeRaw(append([]byte{'a'}, js...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *sockWSConn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// Close sends SockJS's close frame, then closes the WebSocket.
func (c *sockWSConn) Close() error {
	c.once.Do(func() {
		c.writeRaw([]byte(`c[1000,"Normal closure"]`))
		c.ws.Close()
	})
	return nil
}

func (c *sockWSConn) LocalAddr() net.Addr                { return c.ws.LocalAddr() }
func (c *sockWSConn) RemoteAddr() net.Addr               { return c.ws.RemoteAddr() }
func (c *sockWSConn) SetDeadline(t time.Time) error      { return c.ws.SetReadDeadline(t) }
func (c *sockWSConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *sockWSConn) SetWriteDeadline(t time.Time) error { return nil } // writeRaw sets its own
