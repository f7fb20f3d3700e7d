package netserve

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"
)

// Conn is the transport's part of one accepted connection: its socket,
// its place in the server's list and, for a plain TCP connection on
// Linux, its registration with the server's poller. The protocol's
// connection holds it and is its Stream.
//
// At any time one goroutine owns the connection's reads: the one the
// Stream's Start ran on or started, a worker running Readable, or a
// goroutine that took it with Take. Arm gives ownership up; the poller,
// or whoever takes the connection first, gets it next. Methods marked
// "owner only" are for the owner.
type Conn struct {
	l          *listener
	nc         net.Conn
	remote     netip.AddrPort // the peer, IPv4 unmapped
	stream     Stream
	prev, next *Conn           // in the server's list (under l.srv.mu)
	raw        syscall.RawConn // plain TCP with raw socket I/O; nil otherwise

	fd       int32        // raw's descriptor, while pollable
	state    atomic.Int32 // stateBusy while a goroutine owns the reads
	shut     atomic.Bool  // Shutdown closed the socket (not a WebSocket)
	pollable bool         // the server's poller can watch it
	polled   bool         // it was armed at least once (owner only)
	closed   bool         // Close ran (owner only)

	// Made once per connection, before its first arming: an arming reads
	// armFn after giving the connection up, and a func value handed to
	// RawConn or to the workers per call would allocate each time.
	armFn   func(uintptr) // c.armFD, for a pollable connection
	readyFn func()        // the stream's Readable
}

// Poll states of a connection.
const (
	stateBusy  int32 = iota // a goroutine owns the reads
	stateArmed              // the poller, a timer or a kick will take it
)

var (
	errPollerClosed = errors.New("poller closed")
	errNotPollable  = errors.New("connection cannot be polled")
)

// Linger is how long a connection that just had input keeps its reading
// goroutine, waiting in the runtime's poller, before it goes back to the
// server's poller: a busy connection then costs no goroutine start, stack
// growth or epoll re-arm per packet, and an idle one still costs nothing.
// A writer that just wrote waits as long for more.
const Linger = time.Second

// NetConn returns the connection to read from and write to: a TCP, TLS or
// WebSocket connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Remote returns the peer's address, IPv4 unmapped; for a WebSocket, that
// of its TCP connection.
func (c *Conn) Remote() netip.AddrPort { return c.remote }

// RawConn returns the socket of a plain TCP connection whose reads and
// writes may be made with SysRead and SysWrite inside its callbacks;
// nil for every other connection (TLS, WebSocket, Windows). A callback
// must not close the connection: the close would wait for it.
func (c *Conn) RawConn() syscall.RawConn { return c.raw }

// Pollable says the server's poller can watch the connection while it is
// idle (plain TCP on Linux): its owner may Arm it.
func (c *Conn) Pollable() bool { return c.pollable }

// Polled says the connection was armed at least once (owner only).
func (c *Conn) Polled() bool { return c.polled }

// Arm gives the idle connection to the poller: the Stream's Readable runs
// on a worker once input arrives. The owner calls it as its last act on
// the connection: from then on another goroutine may own it (a report of
// the poller, or a timer or a kick that took it with Take). If the poller
// cannot watch it (or the connection is not Pollable), PollFailed ends
// it.
func (c *Conn) Arm() {
	if !c.pollable {
		c.state.Store(stateArmed)
		c.armFailed(errNotPollable)
		return
	}
	c.polled = true
	c.state.Store(stateArmed)
	c.l.srv.poller.arm(c)
}

// armFailed hands c to its Stream's PollFailed, unless another goroutine
// took it over already.
func (c *Conn) armFailed(err error) {
	if c.state.CompareAndSwap(stateArmed, stateBusy) {
		go c.stream.PollFailed(err)
	}
}

// Take makes the caller the owner of an armed connection; false if the
// connection is not armed (another goroutine owns it).
func (c *Conn) Take() bool { return c.state.CompareAndSwap(stateArmed, stateBusy) }

// Armed says the connection waits in the poller, held by no goroutine.
func (c *Conn) Armed() bool { return c.state.Load() == stateArmed }

// Resume runs the Stream's Readable on a worker, as a report of the
// poller would: for a goroutine that took the connection (a timer) and
// hands it on.
func (c *Conn) Resume() { c.l.srv.workers.Go(c.readyFn) }

// Go runs f on one of the server's workers.
func (c *Conn) Go(f func()) { c.l.srv.workers.Go(f) }

// WebSocket reports whether the connection is a WebSocket, and the
// subprotocol its upgrade agreed on, "" for none [RFC6455 4.2.2]: a
// protocol that versions its subprotocols (STOMP) ties its version to it.
func (c *Conn) WebSocket() (subprotocol string, ok bool) {
	if ws, ok := c.nc.(*wsConn); ok {
		return ws.ws.Subprotocol(), true
	}
	return "", false
}

// SetCloseStatus sets the status a WebSocket's close frame carries
// [RFC6455 7.4.1], unless one is set: the first reason to close is the
// one told. Other connections have no status.
func (c *Conn) SetCloseStatus(code int) {
	if ws, ok := c.nc.(*wsConn); ok {
		ws.setStatus(code)
	}
}

// Shutdown ends the connection's reading, from any goroutine, any number
// of times: a WebSocket sends its close frame, and its owner's reads end
// once the peer answered or a second passed; any other connection closes
// its socket. The owner still calls Close.
func (c *Conn) Shutdown() {
	if ws, ok := c.nc.(*wsConn); ok {
		ws.shutdown()
		return
	}
	if c.shut.CompareAndSwap(false, true) {
		c.nc.Close()
	}
}

// Close closes the connection for good and the server forgets it. The
// owner calls it once, as its last act, when it no longer reads: a
// WebSocket then finishes its closing handshake, reading and dropping
// input until the peer's close frame, EOF or a second after the close
// frame, so a peer still writing is not reset.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if c.polled {
		c.l.srv.poller.remove(c, int(c.fd))
	}
	c.Shutdown()
	var err error
	if ws, ok := c.nc.(*wsConn); ok {
		err = ws.Close()
	}
	c.l.srv.forget(c)
	return err
}

// discard closes a connection its protocol never started: the server is
// stopping. A WebSocket gets its close frame but no wait for the answer.
func (c *Conn) discard() {
	if ws, ok := c.nc.(*wsConn); ok {
		ws.setStatus(CloseGoingAway)
		ws.abort()
	} else {
		c.nc.Close()
	}
	c.l.active.Add(-1)
}
