package netserve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/mqgate/mqgate/internal/testcert"
)

func TestMain(m *testing.M) {
	// The WebSocket dialer's HTTP transport keeps a connection writer
	// that ends shortly after the client disconnects.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

// echoHandler serves the echo protocol: every byte that comes in goes
// back out. It is the smallest protocol that uses the whole contract: a
// plain TCP connection waits in the poller between bursts of input with
// no goroutine, any other one is read by a goroutine on a worker.
type echoHandler struct{}

func (echoHandler) Open(c *Conn) Stream {
	e := &echo{c: c}
	e.readFn = e.readFD
	return e
}

// echo is one echo connection.
type echo struct {
	c      *Conn
	readFn func(uintptr) bool // e.readFD, made once
	buf    []byte             // held only while a burst runs
	n      int
	errno  syscall.Errno
}

var _ Stream = (*echo)(nil)

func (e *echo) Start() {
	if e.c.Pollable() {
		e.c.Arm() // until input arrives: no goroutine, no buffer
		return
	}
	e.c.Go(e.loop)
}

// Readable echoes what arrived without waiting for more, then arms the
// connection again.
func (e *echo) Readable() {
	e.buf = make([]byte, 512)
	defer func() { e.buf = nil }()
	for {
		e.n, e.errno = 0, 0
		if err := e.c.RawConn().Read(e.readFn); err != nil {
			e.c.Close()
			return
		}
		switch {
		case e.errno == syscall.EAGAIN:
			e.c.Arm()
			return
		case e.errno != 0, e.n == 0: // an error, or EOF
			e.c.Close()
			return
		}
		if err := e.writeRaw(e.buf[:e.n]); err != nil {
			e.c.Close()
			return
		}
	}
}

// readFD makes one read(2) and never waits.
func (e *echo) readFD(fd uintptr) bool {
	e.n, e.errno = SysRead(int(fd), e.buf)
	return true
}

// writeRaw writes all of b, waiting for room in the runtime's poller.
func (e *echo) writeRaw(b []byte) error {
	var errno syscall.Errno
	err := e.c.RawConn().Write(func(fd uintptr) bool {
		for len(b) > 0 {
			n, en := SysWrite(int(fd), b)
			if en == syscall.EAGAIN {
				return false
			}
			if en != 0 {
				errno = en
				return true
			}
			b = b[n:]
		}
		return true
	})
	if err == nil && errno != 0 {
		err = errno
	}
	return err
}

// loop serves a connection the poller cannot watch.
func (e *echo) loop() {
	defer e.c.Close()
	nc := e.c.NetConn()
	buf := make([]byte, 512)
	for {
		n, err := nc.Read(buf)
		if n > 0 {
			if _, werr := nc.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (e *echo) PollFailed(error) { e.c.Close() }

func (e *echo) Stop() {
	e.c.SetCloseStatus(CloseGoingAway)
	e.c.Shutdown()
	if e.c.Take() {
		// Idle in the poller: nobody else would notice the shutdown.
		e.c.Close()
	}
}

// startEcho runs an echo server on loopback listeners of the given types,
// each named after its type, and stops it when the test ends.
func startEcho(t *testing.T, ws WebSocket, types ...string) *Server {
	t.Helper()
	cfg := Config{WebSocket: ws}
	for _, typ := range types {
		cfg.Listeners = append(cfg.Listeners, Listener{Name: typ, Type: typ, Address: "127.0.0.1:0", Handler: echoHandler{}})
	}
	s := New(cfg)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopServer(t, s) })
	return s
}

func stopServer(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func dialTCP(t *testing.T, s *Server, name string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addrs()[name].String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// roundTrip writes msg and reads it back.
func roundTrip(t *testing.T, nc net.Conn, msg string) {
	t.Helper()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatalf("reading the echo of %q: %v", msg, err)
	}
	if string(got) != msg {
		t.Fatalf("echo %q, want %q", got, msg)
	}
}

// expectEOF waits for the server to close nc.
func expectEOF(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := nc.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection still open")
	}
	if err == nil {
		t.Fatalf("read %d bytes, want the connection closed", n)
	}
}

// armed counts the connections waiting in the poller.
func (s *Server) armed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := s.conns.head; c != nil; c = c.next {
		if c.Armed() {
			n++
		}
	}
	return n
}

func (s *Server) openConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns.n
}

func TestEchoOverTCP(t *testing.T) {
	s := startEcho(t, WebSocket{}, "tcp")
	nc := dialTCP(t, s, "tcp")
	for _, msg := range []string{"hello", "a second burst", string(make([]byte, 3000))} {
		roundTrip(t, nc, msg)
	}
	nc.Close()
	waitFor(t, "the server to forget the connection", func() bool { return s.openConns() == 0 })
}

func TestEchoOverTLS(t *testing.T) {
	tf := testcert.Write(t, t.TempDir(), "echo-client")
	cfg := Config{Listeners: []Listener{{Name: "tls", Type: "tls", Address: "127.0.0.1:0",
		TLS: &TLS{CertFile: tf.Cert, KeyFile: tf.Key}, Handler: echoHandler{}}}}
	s := New(cfg)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stopServer(t, s)
	pem, err := os.ReadFile(tf.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	nc, err := tls.Dial("tcp", s.Addrs()["tls"].String(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	roundTrip(t, nc, "over tls")
}

// dialWS opens a WebSocket to the named listener of s at path, asking for
// the subprotocols.
func dialWS(t *testing.T, s *Server, name, path string, subprotocols ...string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: subprotocols}
	ws, _, err := d.Dial("ws://"+s.Addrs()[name].String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// wsRoundTrip sends msg as a message of type typ and reads its echo.
func wsRoundTrip(t *testing.T, ws *websocket.Conn, typ int, msg string) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteMessage(typ, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	gotTyp, got, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("reading the echo of %q: %v", msg, err)
	}
	if gotTyp != typ || string(got) != msg {
		t.Fatalf("echo %q of type %d, want %q of type %d", got, gotTyp, msg, typ)
	}
}

// closeStatus reads until the server's close frame and returns its status.
func closeStatus(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("waiting for the close frame: %v", err)
		}
	}
}

func TestEchoOverWebSocket(t *testing.T) {
	binary := WebSocket{Path: "/echo", Subprotocols: []string{"echo.v2", "echo.v1"}}
	t.Run("binary messages are echoed under the agreed subprotocol", func(t *testing.T) {
		s := startEcho(t, binary, "ws")
		ws := dialWS(t, s, "ws", "/echo", "echo.v1")
		if got := ws.Subprotocol(); got != "echo.v1" {
			t.Fatalf("subprotocol %q, want echo.v1", got)
		}
		wsRoundTrip(t, ws, websocket.BinaryMessage, "hello")
		wsRoundTrip(t, ws, websocket.BinaryMessage, "again")
	})
	t.Run("other paths are not upgraded", func(t *testing.T) {
		s := startEcho(t, binary, "ws")
		d := websocket.Dialer{}
		if ws, _, err := d.Dial("ws://"+s.Addrs()["ws"].String()+"/mqtt", nil); err == nil {
			ws.Close()
			t.Fatal("upgraded a request for another path")
		}
	})
	t.Run("a text message to a binary protocol closes with 1003", func(t *testing.T) {
		s := startEcho(t, binary, "ws")
		ws := dialWS(t, s, "ws", "/echo", "echo.v2")
		if err := ws.WriteMessage(websocket.TextMessage, []byte("text")); err != nil {
			t.Fatal(err)
		}
		if got := closeStatus(t, ws); got != CloseUnsupportedData {
			t.Fatalf("close status %d, want %d", got, CloseUnsupportedData)
		}
	})
	t.Run("a text protocol reads both kinds and writes text", func(t *testing.T) {
		s := startEcho(t, WebSocket{Path: "/stomp", Subprotocols: []string{"v12.stomp"}, Text: true}, "ws")
		ws := dialWS(t, s, "ws", "/stomp", "v12.stomp")
		wsRoundTrip(t, ws, websocket.TextMessage, "SEND\ndestination:/a\n\nhi\x00")
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := ws.WriteMessage(websocket.BinaryMessage, []byte("bin")); err != nil {
			t.Fatal(err)
		}
		if typ, got, err := ws.ReadMessage(); err != nil || typ != websocket.TextMessage || string(got) != "bin" {
			t.Fatalf("echo of a binary message: %q of type %d, %v", got, typ, err)
		}
	})
}

// TestIdleConnectionsHoldNoGoroutine checks that idle plain-TCP
// connections wait in the poller with no goroutine each, before their
// first input and after it, and that the poller still wakes them.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	s := startEcho(t, WebSocket{}, "tcp")
	if s.poller == nil || !RawSocketIO {
		t.Skip("no poller on this platform: every connection has a goroutine")
	}
	const n, maxIdle = 300, 4
	s.workers.maxIdle = maxIdle // no worker has started yet
	base := runtime.NumGoroutine()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dialTCP(t, s, "tcp")
	}
	waitFor(t, "every connection to wait in the poller", func() bool { return s.armed() == n })
	// A little slack for goroutines of the runtime and the test framework.
	if extra := runtime.NumGoroutine() - base; extra > 2 {
		t.Fatalf("%d goroutines more for %d connections that sent nothing", extra, n)
	}
	for _, nc := range conns {
		roundTrip(t, nc, "x")
	}
	waitFor(t, "every connection to wait in the poller again", func() bool { return s.armed() == n })
	// Only the workers that wait for the next task are left.
	if extra := runtime.NumGoroutine() - base; extra > maxIdle+2 {
		t.Fatalf("%d goroutines more for %d idle connections that had input", extra, n)
	}
	for _, nc := range conns {
		roundTrip(t, nc, "y")
	}
}

// TestStopClosesEverything checks that Stop ends idle and busy
// connections over TCP and WebSocket, closes the listeners and leaves no
// goroutine behind.
func TestStopClosesEverything(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := New(Config{
		Listeners: []Listener{
			{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0", Handler: echoHandler{}},
			{Name: "ws", Type: "ws", Address: "127.0.0.1:0", Handler: echoHandler{}},
		},
		WebSocket: WebSocket{Path: "/echo"},
	})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addrs := s.Addrs()
	idle := make([]net.Conn, 20)
	for i := range idle {
		idle[i] = dialTCP(t, s, "tcp")
	}
	busy := dialTCP(t, s, "tcp")
	roundTrip(t, busy, "busy")
	ws := dialWS(t, s, "ws", "/echo")
	wsRoundTrip(t, ws, websocket.BinaryMessage, "ws")
	waitFor(t, "every connection to be open", func() bool { return s.openConns() == len(idle)+2 })

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- s.Stop(ctx)
	}()
	// The WebSocket is told why, and Stop waits for the answer to its
	// close frame, which gorilla sends while reading it.
	if got := closeStatus(t, ws); got != CloseGoingAway {
		t.Fatalf("close status %d, want %d", got, CloseGoingAway)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return")
	}
	for _, nc := range append(idle, busy) {
		expectEOF(t, nc)
	}
	if n := s.openConns(); n != 0 {
		t.Fatalf("%d connections left after Stop", n)
	}
	for name, a := range addrs {
		if nc, err := net.DialTimeout("tcp", a.String(), time.Second); err == nil {
			nc.Close()
			t.Fatalf("listener %s still accepts after Stop", name)
		}
	}
	ws.Close()
	goleak.VerifyNone(t, ignore, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

func TestMaxConnectionsPerListener(t *testing.T) {
	s := New(Config{Listeners: []Listener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0", MaxConnections: 2, Handler: echoHandler{}}}})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stopServer(t, s)
	a, b := dialTCP(t, s, "tcp"), dialTCP(t, s, "tcp")
	roundTrip(t, a, "a")
	roundTrip(t, b, "b")
	expectEOF(t, dialTCP(t, s, "tcp"))
	a.Close()
	waitFor(t, "the closed connection to be forgotten", func() bool { return s.openConns() == 1 })
	roundTrip(t, dialTCP(t, s, "tcp"), "c")
}

func TestStartFailsOnABadListener(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name string
		l    Listener
	}{
		{"address in use", Listener{Name: "busy", Type: "tcp", Address: taken.Addr().String(), Handler: echoHandler{}}},
		{"unknown type", Listener{Name: "udp", Type: "udp", Address: "127.0.0.1:0", Handler: echoHandler{}}},
		{"tls without files", Listener{Name: "tls", Type: "tls", Address: "127.0.0.1:0", Handler: echoHandler{}}},
		{"no handler", Listener{Name: "none", Type: "tcp", Address: "127.0.0.1:0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{Listeners: []Listener{
				{Name: "ok", Type: "tcp", Address: "127.0.0.1:0", Handler: echoHandler{}},
				tc.l,
			}})
			if err := s.Start(context.Background()); err == nil {
				stopServer(t, s)
				t.Fatal("Start succeeded")
			}
			// The listener that opened first is closed again: Stop has
			// nothing to wait for (goleak checks the rest).
			stopServer(t, s)
		})
	}
}
