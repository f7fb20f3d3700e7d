package mqtt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/mqgate/mqgate/adapters/internal/netserve"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

// conn is one MQTT network connection, and its netserve.Stream. Its
// reader goroutine (run) owns the connection and the writer goroutine; the
// writer owns the socket's write side. Control packets produced by the
// reader go through pending so the writer keeps the order in which they
// were produced.
type conn struct {
	srv *Server
	l   *listener
	tc  *netserve.Conn // the transport: socket, poller, the server's list
	nc  net.Conn       // tc.NetConn()

	version   packet.Version
	client    *core.Client
	keepAlive time.Duration

	// Negotiated with an MQTT 5 client.
	maxOut        int // client's Maximum Packet Size (0: protocol limit)
	outAliasMax   uint16
	outAliases    map[string]uint16 // writer only
	inAliasMax    uint16
	inAliases     map[uint16]string // reader only
	problemInfo   bool
	sessionExpiry time.Duration

	wmu     sync.Mutex
	pending []byte // encoded control packets awaiting the writer

	// The writer runs on demand: Notify starts a goroutine that drains
	// pending and the session, then exits, so an idle connection has no
	// writer goroutine and no write buffer.
	wakeup   atomic.Bool   // work for the writer
	wakeCh   chan struct{} // wakes a lingering writer (cap 1)
	running  atomic.Bool   // a writer is active: a goroutine, or writeInline
	ready    atomic.Bool   // CONNACK is written: deliveries may follow
	attached atomic.Bool   // the core returned a session: a kick waits for CONNACK
	broken   atomic.Bool   // a write failed; nothing more is written
	kicked   atomic.Bool
	kickOnce sync.Once
	kickCode atomic.Uint32
	exited   chan struct{} // closed when the writer handled the kick

	handoff      bool      // run's goroutine no longer owns the connection
	connDeadline bool      // the handshake set a read deadline
	connectBy    time.Time // the connect timeout, for a connection polled until CONNECT

	// Callbacks made once per connection, so that a read, a write or a
	// task for the workers allocates nothing: a func literal passed to
	// RawConn or to the workers escapes.
	rd, wr     rawOp              // a raw read (owner only), a raw write (writer only)
	readFn     func(uintptr) bool // c.readFD
	writeFn    func(uintptr) bool // c.writeFD
	writeAllFn func()             // c.writeAll

	// Plain TCP on Linux: between bursts of input the connection is
	// watched by the server's poller (tc.Arm) and has no goroutine at all.
	connacked  bool           // the next burst is the first after CONNACK (owner only)
	timerBurst bool           // the next burst comes from a late timer firing (owner only)
	kaTimer    *time.Timer    // keepalive deadline while polled
	kaDue      time.Time      // when kaTimer's firing ends the connection; zero: never (owner only)
	lastIn     time.Time      // when input last arrived (owner only)
	drained    bool           // the last read left the socket empty (owner only)
	keepBuf    bool           // a lingering reader keeps rbuf while empty (owner only)
	lingerPkt  *packet.Packet // the lingering reader's decoded packet (owner only)
	rdeadline  time.Time      // read deadline in force, zero for none (owner only)
	lastWriter time.Time      // when the last writer run ended (writer only)
	rbuf       []byte         // nil while no partial packet is held

	// While a burst handles a batch of input, the wake-ups it causes are
	// deferred to the end of the batch (owner only): see wakeDeferred.
	pubCtx    context.Context // carries wakes to the core's publishes (nil until one)
	wakes     core.Wakeups
	deferring bool   // a batch is being handled
	selfWake  bool   // the batch queued control packets for this connection
	batches   uint32 // batches that deferred a wake-up
	yieldFor  uint8  // batches left that yield before writing (see drain)
}

var (
	errWouldBlock     = errors.New("no input")
	errKicked         = errors.New("connection closed by the server")
	errKeepAlive      = errors.New("keepalive timeout")
	errConnectTimeout = errors.New("no CONNECT within the connect timeout")
)

// packets holds decoded packets between reads: a Packet is large, and an
// idle connection should not keep one.
var packets = sync.Pool{New: func() any { return new(packet.Packet) }}

var (
	_ core.Conn       = (*conn)(nil)
	_ netserve.Stream = (*conn)(nil)
)

func newConn(s *Server, l *listener, tc *netserve.Conn) *conn {
	c := &conn{srv: s, l: l, tc: tc, nc: tc.NetConn(), exited: make(chan struct{}), wakeCh: make(chan struct{}, 1)}
	if tc.RawConn() != nil {
		c.readFn, c.writeFn = c.readFD, c.writeFD
	}
	c.writeAllFn = c.writeAll
	return c
}

// Start implements netserve.Stream: a plain TCP connection on Linux waits
// in the poller for its CONNECT (awaitConnect), any other reads it on a
// worker.
func (c *conn) Start() {
	if !c.awaitConnect() {
		c.tc.Go(c.run)
	}
}

// Readable implements netserve.Stream: the poller reported input on the
// idle connection. Before CONNACK, run reads CONNECT; after it, burst
// handles what arrived.
func (c *conn) Readable() {
	if c.handoff {
		c.burst()
	} else {
		c.run()
	}
}

// PollFailed implements netserve.Stream.
func (c *conn) PollFailed(err error) { c.finish(err) }

// Stop implements netserve.Stream: the server is shutting down.
func (c *conn) Stop() { c.Kick(core.ServerShuttingDown) }

// rawOp carries the buffer and the outcome of one raw read or write
// through a callback made once per connection.
type rawOp struct {
	b    []byte
	n    int
	e    syscall.Errno
	wait bool // on EAGAIN, wait for readiness instead of returning
}

// readFD makes one read(2) into rbuf for c.rd.
func (c *conn) readFD(fd uintptr) bool {
	// Always read before waiting: RawRead clears the poller's readiness
	// before calling us, so input that arrived earlier would not wake a
	// wait.
	c.grow()
	space := cap(c.rbuf) - len(c.rbuf)
	c.rd.n, c.rd.e = netserve.SysRead(int(fd), c.rbuf[len(c.rbuf):cap(c.rbuf)])
	c.drained = c.rd.e == 0 && c.rd.n < space
	if c.rd.e == syscall.EAGAIN && c.rd.wait {
		if len(c.rbuf) == 0 {
			putReadBuf(c.rbuf)
			c.rbuf = nil
		}
		return false // wait for readability
	}
	return true
}

// writeFD writes c.wr.b from c.wr.n on. On EAGAIN it waits for room if
// c.wr.wait, else it returns what went out.
func (c *conn) writeFD(fd uintptr) bool {
	for c.wr.n < len(c.wr.b) {
		m, e := netserve.SysWrite(int(fd), c.wr.b[c.wr.n:])
		switch {
		case e == syscall.EAGAIN && c.wr.wait:
			return false // wait for room
		case e == syscall.EAGAIN:
			return true
		case e != 0:
			c.wr.e = e
			return true
		}
		c.wr.n += m
	}
	return true
}

// Notify implements core.Conn.
func (c *conn) Notify() {
	c.wakeup.Store(true)
	select {
	case c.wakeCh <- struct{}{}:
	default:
	}
	if c.ready.Load() && c.running.CompareAndSwap(false, true) {
		c.tc.Go(c.writeAllFn)
	}
}

// Kick implements core.Conn: the writer sends DISCONNECT with code (v5)
// and closes the connection. A connection still reading CONNECT has no
// writer: its socket is closed at once, which ends the handshake (a
// WebSocket gets its close frame at once, written within wsCloseWait, and
// its read ends when the peer answers).
func (c *conn) Kick(code core.Code) { c.kick(reasonCode(code)) }

// kick is Kick with the MQTT 5 reason code to send (0: none).
func (c *conn) kick(code byte) {
	c.markKicked(code)
	if !c.attached.Load() {
		// Still reading CONNECT: closing the socket ends the handshake.
		// A connection already attached to its session (a takeover
		// while its CONNACK is being written) gets its DISCONNECT from
		// the writer once run marks it ready.
		c.close()
	}
	c.Notify()
	if c.tc.Take() {
		// Polled and idle: nobody would notice the close.
		go c.finish(errKicked)
	}
}

// markKicked records the first kick and its code.
func (c *conn) markKicked(code byte) {
	c.kickOnce.Do(func() {
		c.kickCode.Store(uint32(code))
		c.kicked.Store(true)
		c.closeStatus(code)
	})
}

// closeStatus sets the WebSocket close status for the MQTT reason code
// code, unless one is set: the first reason to close is the one told.
func (c *conn) closeStatus(code byte) {
	c.tc.SetCloseStatus(wsStatus(code))
}

// close closes the socket. A polled idle connection would never notice
// (closing removes it from the poller), so close finishes it. A
// WebSocket only starts its closing handshake here, which ends the
// owner's reads: the owner closes it in end.
func (c *conn) close() {
	c.tc.Shutdown()
	if c.tc.Take() {
		go c.finish(errKicked)
	}
}

// end closes the socket for good and the server forgets the connection.
// Only the connection's owner calls it, once it no longer reads: a
// WebSocket then waits, for a bounded time, for the peer's answer to its
// close frame.
func (c *conn) end() {
	if err := c.tc.Close(); err != nil {
		c.srv.log.Debug("close", "remote", c.tc.Remote(), "err", err)
	}
}

// errClose ends a connection; code is the v5 DISCONNECT reason to send
// first (0 for none).
type errClose struct {
	code byte
	msg  string
}

func (e *errClose) Error() string { return e.msg }

func protocolErr(code byte, format string, args ...any) error {
	return &errClose{code: code, msg: fmt.Sprintf(format, args...)}
}

// run is the connection's owner: it runs the handshake and then serves
// the connection: polled between bursts of input for plain TCP on Linux,
// otherwise by this goroutine blocked in Read.
func (c *conn) run() {
	defer func() {
		if !c.handoff {
			c.end()
		}
	}()
	if c.kaTimer != nil {
		// The connect timeout of a connection the poller held until
		// CONNECT; the handshake's deadline takes over. A firing that is
		// already under way finds kaDue cleared.
		c.kaTimer.Stop()
		c.kaDue = time.Time{}
	}

	if err := c.handshake(); err != nil {
		c.srv.log.Debug("connect failed", "remote", c.tc.Remote(), "listener", c.l.cfg.Name, "err", err)
		var ce *errClose
		var pe *packet.Error
		switch {
		case errors.As(err, &ce):
			c.closeStatus(ce.code)
		case errors.As(err, &pe):
			c.closeStatus(pe.Code)
		}
		return
	}
	c.ready.Store(true)
	// Deliveries of a resumed session, or a kick that came during the
	// handshake, follow the CONNACK; otherwise no writer is started.
	if c.wakeup.Load() || c.kicked.Load() {
		c.Notify()
	}
	c.handoff = true
	if c.tc.Pollable() {
		if c.connDeadline {
			// The handshake's deadline must not cut off later raw reads.
			c.nc.SetReadDeadline(time.Time{})
		}
		c.connacked = true
		c.burst()
		return
	}
	c.finish(c.readLoop())
}

// burst handles the input that is there without waiting for more, then
// hands the idle connection to the poller. One burst runs at a time: the
// poller and the keepalive timer start one only from stateArmed.
func (c *conn) burst() {
	// Only a busy connection lingers: one that had input within the last
	// linger. The first burst after CONNACK does not (a storm of
	// connections that then go quiet must not hold a goroutine each), nor
	// does a connection that was quiet for longer: a keepalive ping or a
	// DISCONNECT is handled without a goroutine, a buffer and a read
	// deadline held for a second after it.
	polled := c.tc.Polled() && !c.connacked // the poller (or a late timer) handed it over
	lingers := polled && !c.timerBurst && time.Since(c.lastIn) < linger
	c.connacked, c.timerBurst = false, false
	if polled {
		c.drained = false
	}
	for {
		if err := c.drain(); err != nil {
			c.finish(err)
			return
		}
		var err error
		switch {
		case lingers:
			err = c.serveLinger() // reads before it waits
		case c.drained:
			err = errWouldBlock
		default:
			err = c.readNow()
		}
		if err == errWouldBlock {
			break
		} else if err != nil {
			c.finish(err)
			return
		}
	}
	if c.keepAlive > 0 {
		// [MQTT-3.1.2-24] 1.5 times the keep alive since the last input.
		c.kaDue = c.lastIn.Add(c.keepAlive * 3 / 2)
		d := time.Until(c.kaDue)
		if d <= 0 {
			c.finish(errKeepAlive)
			return
		}
		if c.kaTimer == nil {
			c.kaTimer = time.AfterFunc(d, c.keepAliveExpired)
		} else {
			c.kaTimer.Reset(d)
		}
	}
	c.tc.Arm()
}

// linger is how long a busy reader, and a writer that just wrote, wait
// for more (netserve.Linger).
const linger = netserve.Linger

// serveLinger reads and handles input until none came for about a linger
// (or the keepalive deadline passed), then returns errWouldBlock. It all
// happens inside one RawRead: the runtime poller's readiness is then not
// reset between reads, so once a read has drained the socket the wait
// starts at once, without a read that would only return EAGAIN. Handlers
// run inside the callback; none closes this connection's socket (a close
// would wait for this read to end): finish does, after this returns.
func (c *conn) serveLinger() error {
	var herr error
	// A deadline that passed while the connection was busy elsewhere
	// would fail the read before the callback runs.
	c.moveReadDeadline()
	// The read buffer and a decoded packet stay while the reader
	// lingers, like its goroutine.
	c.keepBuf = true
	c.lingerPkt = packets.Get().(*packet.Packet)
	defer c.releaseBuf()
	err := c.tc.RawConn().Read(func(fd uintptr) bool {
		for {
			now := c.moveReadDeadline()
			c.grow()
			space := cap(c.rbuf) - len(c.rbuf)
			n, e := netserve.SysRead(int(fd), c.rbuf[len(c.rbuf):cap(c.rbuf)])
			if e == syscall.EAGAIN {
				return false // wait for readability
			}
			if herr = c.filledRaw(n, e, now); herr != nil {
				return true
			}
			c.drained = n < space
			if herr = c.drain(); herr != nil {
				return true
			}
			if c.drained {
				return false // input arriving from now on wakes the wait
			}
		}
	})
	if herr != nil {
		return herr
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Raw reads fail while a passed deadline is set.
		c.nc.SetReadDeadline(time.Time{})
		c.rdeadline = time.Time{}
		return errWouldBlock
	}
	return err
}

// moveReadDeadline sets the linger deadline (or the keepalive one, if
// sooner). Moving a deadline costs a timer update, so one still more than
// half a linger away is kept: a busy connection moves it about twice a
// second, not once per packet. It returns the time it read, which serves
// as the arrival time of the read that follows.
func (c *conn) moveReadDeadline() time.Time {
	now := time.Now()
	wait := c.srv.cfg.readLinger
	if !c.rdeadline.IsZero() && c.rdeadline.Sub(now) >= wait/2 {
		return now
	}
	deadline := now.Add(wait)
	if c.keepAlive > 0 {
		if kd := c.lastIn.Add(c.keepAlive * 3 / 2); kd.Before(deadline) {
			deadline = kd
		}
	}
	c.nc.SetReadDeadline(deadline)
	c.rdeadline = deadline
	return now
}

// keepAliveExpired ends an armed connection whose keepalive (or connect)
// deadline passed. A timer's firing can be under way while its
// connection is busy and be late to take it once it is armed again, with
// a later deadline or none: such a firing serves the connection as a
// report of the poller would.
func (c *conn) keepAliveExpired() {
	if !c.tc.Take() {
		return
	}
	if c.kaDue.IsZero() || time.Now().Before(c.kaDue) {
		// A report of the poller may have been dropped meanwhile, so the
		// burst reads; it does not linger, as no input is known to be there.
		c.timerBurst = true
		c.tc.Resume()
		return
	}
	c.finish(errKeepAlive)
}

// drain handles every whole packet in rbuf, then wakes the connections
// the batch queued anything for.
//
// Before it writes, the reader may yield once, so the other readers the
// runtime woke handle their input first: when they publish to the same
// subscribers (fan-in), each subscriber then gets one write for all of
// them. A yield costs a trip through the scheduler, so the reader yields
// only while yielding pays: after a yield that found a subscriber's
// messages already written, or more than one waiting, it yields for the
// next 16 batches; otherwise it tries once every 64 batches.
func (c *conn) drain() error {
	c.deferring = true
	err := c.drainBatch()
	c.deferring = false
	if len(c.wakes.Conns()) == 0 && !c.selfWake {
		return err
	}
	c.batches++
	yielded := c.yieldFor > 0 || c.batches%64 == 0
	if yielded {
		runtime.Gosched()
	}
	if batched := c.wakeDeferred(); yielded {
		if batched {
			c.yieldFor = 16
		} else if c.yieldFor > 0 {
			c.yieldFor--
		}
	}
	return err
}

func (c *conn) drainBatch() error {
	for {
		h, body, ok, err := c.nextPacket(c.srv.cfg.MaxPacketSize)
		if err != nil || !ok {
			return err
		}
		if err := c.handleRaw(h, body); err != nil {
			return err
		}
	}
}

// readNow reads what the socket holds without waiting.
func (c *conn) readNow() error {
	if !c.rdeadline.IsZero() && !time.Now().Before(c.rdeadline) {
		// A raw read fails at once while a passed deadline is set: the
		// linger deadline of an earlier wait must not cut off a
		// connection that is still busy.
		c.nc.SetReadDeadline(time.Time{})
		c.rdeadline = time.Time{}
	}
	c.rd = rawOp{}
	err := c.tc.RawConn().Read(c.readFn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The linger deadline passed between the check above and the
		// runtime's: this read does not wait, so drop it and read again.
		c.nc.SetReadDeadline(time.Time{})
		c.rdeadline = time.Time{}
		err = c.tc.RawConn().Read(c.readFn)
	}
	if err != nil {
		return err
	}
	if c.rd.e == syscall.EAGAIN {
		if len(c.rbuf) == 0 {
			putReadBuf(c.rbuf)
			c.rbuf = nil
		}
		return errWouldBlock
	}
	return c.filledRaw(c.rd.n, c.rd.e, time.Time{})
}

// finish ends the connection after its input ended with err: the writer
// sends the DISCONNECT a protocol error calls for, the session is
// detached with or without its will, and the server forgets the
// connection.
func (c *conn) finish(err error) {
	defer c.end()
	if c.kaTimer != nil {
		c.kaTimer.Stop()
	}
	if c.client == nil {
		// Polled while awaiting CONNECT: there is no session.
		if err == errKeepAlive {
			err = errConnectTimeout
			c.refused(core.RefusedConnectTimeout)
		}
		c.srv.log.Debug("connect failed", "remote", c.tc.Remote(), "listener", c.l.cfg.Name, "err", err)
		return
	}
	kind := core.DisconnectWithWill
	var ce *errClose
	var reason string
	switch {
	case errors.Is(err, errNormalDisconnect):
		kind = core.DisconnectNormal
		reason = "client sent DISCONNECT"
	case errors.Is(err, errDisconnectWithWill):
		reason = "client sent DISCONNECT with will"
	case errors.As(err, &ce):
		reason = fmt.Sprintf("%s (DISCONNECT 0x%02X)", ce.msg, ce.code)
		c.kick(ce.code)
	case err == errKicked:
		switch code := byte(c.kickCode.Load()); code {
		case 0:
			reason = "closed by the server"
		case packet.ServerShuttingDown:
			reason = "server shutting down"
		case packet.AdministrativeAction:
			reason = "closed by an administrator"
		default:
			reason = fmt.Sprintf("closed by the server (0x%02X)", code)
		}
	default:
		reason = "connection lost: " + err.Error()
	}
	c.markKicked(0)
	if c.ready.Load() && c.running.CompareAndSwap(false, true) {
		// No writer runs: this goroutine writes what is pending and
		// closes, instead of starting one and waiting for it.
		c.writeLoop(nil)
	} else {
		c.kick(0)
	}
	<-c.exited
	c.client.Disconnect(kind, reason)
}

var (
	errNormalDisconnect   = errors.New("client disconnected")
	errDisconnectWithWill = errors.New("client disconnected with will")
)

// readPacket reads the next whole packet. The header is checked
// against maxSize before the body is read or any buffer grown, so a
// declared length alone cannot make the broker allocate. Packets split across reads and several packets in one read are both
// handled: leftover bytes stay in rbuf.
func (c *conn) readPacket(maxSize int, deadline time.Duration) (packet.Header, []byte, error) {
	if deadline > 0 {
		c.nc.SetReadDeadline(time.Now().Add(deadline))
	}
	for {
		h, body, ok, err := c.nextPacket(maxSize)
		if err != nil || ok {
			return h, body, err
		}
		if err := c.fill(); err != nil {
			return packet.Header{}, nil, err
		}
	}
}

// nextPacket returns the first whole packet in rbuf, or ok=false when more
// bytes are needed, after making room for a packet whose header is in.
func (c *conn) nextPacket(maxSize int) (h packet.Header, body []byte, ok bool, err error) {
	if len(c.rbuf) == 0 {
		return h, nil, false, nil
	}
	h, err = packet.ReadHeader(c.rbuf, maxSize)
	if errors.Is(err, packet.ErrIncomplete) {
		return h, nil, false, nil
	}
	if err != nil {
		var pe *packet.Error
		if errors.As(err, &pe) {
			err = protocolErr(pe.Code, "%v", pe)
		}
		return h, nil, false, err
	}
	total := h.Len + h.Remaining
	if len(c.rbuf) >= total {
		return h, c.rbuf[h.Len:total], true, nil
	}
	if cap(c.rbuf) < total {
		nb := make([]byte, len(c.rbuf), total)
		copy(nb, c.rbuf)
		putReadBuf(c.rbuf)
		c.rbuf = nb
	}
	return h, nil, false, nil
}

// readChunk is the size of the pooled read buffers. A connection holds one
// only while it has unparsed bytes; larger packets get a buffer of their
// own that is dropped once handled.
const readChunk = 4096

var readBufs = sync.Pool{New: func() any { return new([readChunk]byte) }}

func getReadBuf() []byte { return readBufs.Get().(*[readChunk]byte)[:0] }

func putReadBuf(b []byte) {
	if cap(b) == readChunk {
		readBufs.Put((*[readChunk]byte)(b[:readChunk]))
	}
}

// grow makes room for at least 512 more bytes in rbuf.
func (c *conn) grow() {
	if c.rbuf == nil {
		c.rbuf = getReadBuf()
		return
	}
	if cap(c.rbuf)-len(c.rbuf) >= 512 {
		return
	}
	nb := make([]byte, len(c.rbuf), 2*cap(c.rbuf))
	copy(nb, c.rbuf)
	putReadBuf(c.rbuf)
	c.rbuf = nb
}

// fill reads more bytes into rbuf.
func (c *conn) fill() error {
	if c.tc.RawConn() != nil {
		return c.fillRaw()
	}
	c.grow()
	n, err := c.nc.Read(c.rbuf[len(c.rbuf):cap(c.rbuf)])
	return c.filled(n, err, time.Time{})
}

// fillRaw waits for the socket to be readable without holding a buffer and
// reads only then, so thousands of idle connections hold no read memory.
// Read deadlines apply as for net.Conn.Read.
func (c *conn) fillRaw() error {
	c.rd = rawOp{wait: true}
	if err := c.tc.RawConn().Read(c.readFn); err != nil {
		return err
	}
	return c.filledRaw(c.rd.n, c.rd.e, time.Time{})
}

// filledRaw is filled for a read(2) that returned n and errno e.
func (c *conn) filledRaw(n int, e syscall.Errno, now time.Time) error {
	switch {
	case e != 0:
		return c.filled(0, e, now)
	case n == 0:
		return c.filled(0, io.EOF, now)
	}
	return c.filled(n, nil, now)
}

// filled takes n bytes read at now (zero: look at the clock) into rbuf, or
// returns the read's error.
func (c *conn) filled(n int, err error, now time.Time) error {
	c.rbuf = c.rbuf[:len(c.rbuf)+n]
	c.srv.bytes.Received(n)
	if n > 0 {
		if now.IsZero() {
			now = time.Now()
		}
		c.lastIn = now
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// consume drops a handled packet from rbuf; a drained buffer goes back to
// the pool.
// releaseBuf ends a linger's hold on the read buffer and the packet: an
// empty buffer goes back to its pool.
func (c *conn) releaseBuf() {
	c.keepBuf = false
	packets.Put(c.lingerPkt)
	c.lingerPkt = nil
	if c.rbuf != nil && len(c.rbuf) == 0 {
		putReadBuf(c.rbuf)
		c.rbuf = nil
	}
}

func (c *conn) consume(n int) {
	rest := len(c.rbuf) - n
	if rest == 0 {
		if c.keepBuf && cap(c.rbuf) == readChunk {
			// Only a pooled buffer stays: one grown for a large
			// packet goes as soon as it is empty.
			c.rbuf = c.rbuf[:0]
			return
		}
		putReadBuf(c.rbuf)
		c.rbuf = nil
		return
	}
	copy(c.rbuf, c.rbuf[n:])
	c.rbuf = c.rbuf[:rest]
}

func (c *conn) readLoop() error {
	maxSize := c.srv.cfg.MaxPacketSize
	for {
		var deadline time.Duration
		if c.keepAlive > 0 {
			// [MQTT-3.1.2-24] 1.5 times the keep alive.
			deadline = c.keepAlive * 3 / 2
		} else {
			c.nc.SetReadDeadline(time.Time{})
		}
		h, body, err := c.readPacket(maxSize, deadline)
		if err != nil {
			return err
		}
		if err := c.handleRaw(h, body); err != nil {
			return err
		}
	}
}

// handleRaw decodes and handles one packet and drops it from rbuf.
func (c *conn) handleRaw(h packet.Header, body []byte) error {
	p := c.lingerPkt
	if p == nil {
		p = packets.Get().(*packet.Packet)
		defer packets.Put(p)
	}
	if err := packet.Decode(p, h, body, c.version); err != nil {
		var pe *packet.Error
		if errors.As(err, &pe) {
			return protocolErr(pe.Code, "decode %v: %v", h.Type, pe)
		}
		return protocolErr(packet.MalformedPacket, "decode: %v", err)
	}
	if c.srv.debug() {
		c.logPacket("mqtt packet received", p)
	}
	err := c.handle(p)
	c.consume(h.Len + h.Remaining)
	return err
}

// logPacket writes a debug line for one packet in or out: what a device's
// developer needs to follow its packets. Callers check debug first.
func (c *conn) logPacket(msg string, p *packet.Packet) {
	attrs := make([]slog.Attr, 0, 8)
	id := ""
	if c.client != nil {
		id = c.client.Info.ClientID
	}
	attrs = append(attrs, slog.String("client", id), slog.String("remote", c.tc.Remote().String()),
		slog.String("type", p.Type.String()))
	switch p.Type {
	case packet.PUBLISH:
		attrs = append(attrs, slog.String("topic", string(p.Topic)), slog.Int("qos", int(p.QoS)),
			slog.Bool("retain", p.Retain), slog.Bool("dup", p.Dup), slog.Int("bytes", len(p.Payload)))
		if p.Properties.HasTopicAlias {
			attrs = append(attrs, slog.Int("topic_alias", int(p.Properties.TopicAlias)))
		}
		if p.QoS > 0 {
			attrs = append(attrs, slog.Int("id", int(p.PacketID)))
		}
	case packet.PUBACK, packet.PUBREC, packet.PUBREL, packet.PUBCOMP:
		attrs = append(attrs, slog.Int("id", int(p.PacketID)), slog.String("code", fmt.Sprintf("0x%02X", p.ReasonCode)))
	case packet.SUBSCRIBE:
		fs := make([]string, len(p.Subscriptions))
		for i, sub := range p.Subscriptions {
			fs[i] = fmt.Sprintf("%s (qos %d)", sub.Filter, sub.QoS)
		}
		attrs = append(attrs, slog.Int("id", int(p.PacketID)), slog.Any("filters", fs))
	case packet.UNSUBSCRIBE:
		attrs = append(attrs, slog.Int("id", int(p.PacketID)), slog.Any("filters", p.Filters))
	case packet.SUBACK, packet.UNSUBACK:
		attrs = append(attrs, slog.Int("id", int(p.PacketID)), slog.String("codes", fmt.Sprintf("% X", p.ReasonCodes)))
	case packet.CONNECT:
		// Never the password.
		attrs = append(attrs, slog.String("client_id", p.ClientID), slog.Int("version", int(p.Version)),
			slog.Bool("clean_start", p.CleanStart), slog.Int("keep_alive", int(p.KeepAlive)),
			slog.String("username", p.Username), slog.Bool("will", p.HasWill))
	case packet.CONNACK:
		attrs = append(attrs, slog.String("code", fmt.Sprintf("0x%02X", p.ReasonCode)), slog.Bool("session_present", p.SessionPresent))
	case packet.DISCONNECT:
		attrs = append(attrs, slog.String("code", fmt.Sprintf("0x%02X", p.ReasonCode)))
	}
	c.srv.log.LogAttrs(context.Background(), slog.LevelDebug, msg, attrs...)
}

func (c *conn) handle(p *packet.Packet) error {
	cl := c.client
	switch p.Type {
	case packet.PUBLISH:
		return c.handlePublish(p)
	case packet.PUBACK:
		if p.ReasonCode >= 0x80 {
			cl.Settle(p.PacketID, core.Rejected)
		} else {
			cl.Settle(p.PacketID, core.Accepted)
		}
	case packet.PUBREC:
		if p.ReasonCode >= 0x80 {
			// The exchange ends with a failing PUBREC [MQTT-4.3.3].
			cl.Settle(p.PacketID, core.Rejected)
			return nil
		}
		ok := cl.Hold(p.PacketID)
		c.sendAck(packet.PUBREL, p.PacketID, ackCode(ok))
	case packet.PUBREL:
		ok := cl.Release(p.PacketID)
		c.sendAck(packet.PUBCOMP, p.PacketID, ackCode(ok))
	case packet.PUBCOMP:
		cl.Complete(p.PacketID)
	case packet.SUBSCRIBE:
		return c.handleSubscribe(p)
	case packet.UNSUBSCRIBE:
		c.handleUnsubscribe(p)
	case packet.PINGREQ:
		c.send(&packet.Packet{Type: packet.PINGRESP})
	case packet.DISCONNECT:
		return c.handleDisconnect(p)
	case packet.AUTH:
		// AUTH is only legal after a CONNECT with an Authentication
		// Method, which CONNACK 0x8C already refused [MQTT-4.12.0-1]; 0x8C
		// is not a DISCONNECT reason, so this is a protocol error.
		return protocolErr(packet.ProtocolError, "AUTH without an authentication method")
	case packet.CONNECT:
		// [MQTT-3.1.0-2] a second CONNECT is a protocol violation.
		return protocolErr(packet.ProtocolError, "second CONNECT")
	default:
		// CONNACK, SUBACK, UNSUBACK, PINGRESP are never sent to a server
		// [MQTT-4.8.0-1] (MQTT 5 section 4.13: a Protocol Error).
		return protocolErr(packet.ProtocolError, "%v sent to the server", p.Type)
	}
	return nil
}

func ackCode(found bool) byte {
	if found {
		return packet.Success
	}
	return packet.PacketIdentifierNotFound
}

func (c *conn) handleDisconnect(p *packet.Packet) error {
	if c.version == packet.V5 {
		if p.Properties.HasSessionExpiry {
			// [MQTT-3.14.2-2] a session that expired with the connection
			// cannot be revived by DISCONNECT.
			if c.sessionExpiry == 0 && p.Properties.SessionExpiry != 0 {
				return protocolErr(packet.ProtocolError, "session expiry set on DISCONNECT after 0 on CONNECT")
			}
			c.client.SetSessionExpiry(sessionExpiry(p.Properties.SessionExpiry))
		}
		if p.ReasonCode == packet.DisconnectWithWill {
			return errDisconnectWithWill
		}
	}
	return errNormalDisconnect
}

func sessionExpiry(secs uint32) time.Duration {
	if secs == 0xFFFFFFFF {
		return core.NeverExpire
	}
	return time.Duration(secs) * time.Second
}

// send encodes a control packet for the writer.
func (c *conn) send(p *packet.Packet) {
	if c.srv.debug() {
		c.logPacket("mqtt packet sent", p)
	}
	c.wmu.Lock()
	var err error
	c.pending, err = packet.Append(c.pending, p, c.version)
	c.wmu.Unlock()
	if err != nil {
		c.srv.log.Error("encode failed", "type", p.Type, "err", err)
		return
	}
	if c.deferring {
		c.selfWake = true
		return
	}
	c.Notify()
}

func (c *conn) sendAck(t packet.Type, id uint16, code byte) {
	p := packet.Packet{Type: t, PacketID: id, ReasonCode: code}
	if t == packet.PUBREL {
		p.Flags = 0x2
	}
	c.send(&p)
}

func (c *conn) handlePublish(p *packet.Packet) error {
	cl := c.client
	// A view of the read buffer until toMessage copies it.
	topicName := unsafe.String(unsafe.SliceData(p.Topic), len(p.Topic))
	if c.version == packet.V5 {
		if p.Properties.HasTopicAlias {
			a := p.Properties.TopicAlias
			if a == 0 || a > c.inAliasMax {
				// [MQTT-3.3.2-8] [MQTT-3.3.2-9]
				return protocolErr(packet.TopicAliasInvalid, "topic alias %d out of range 1..%d", a, c.inAliasMax)
			}
			if topicName != "" {
				if c.inAliases == nil {
					c.inAliases = make(map[uint16]string)
				}
				c.inAliases[a] = strings.Clone(topicName)
			} else if t, ok := c.inAliases[a]; ok {
				topicName = t
			} else {
				return protocolErr(packet.ProtocolError, "unknown topic alias %d with an empty topic", a)
			}
		}
	}
	if topicName == "" {
		return protocolErr(packet.ProtocolError, "empty topic name without a topic alias")
	}
	if err := cl.ValidateTopic(topicName); err != nil {
		return protocolErr(packet.TopicNameInvalid, "topic %q: %v", topicName, err)
	}
	if p.Retain && c.srv.broker.Config().RetainDisabled {
		return protocolErr(packet.RetainNotSupported, "retain is not available")
	}
	m := toMessage(p, topicName)
	ctx := context.Background()
	if c.deferring {
		if c.pubCtx == nil {
			// Made at the first publish: most connections never publish.
			c.pubCtx = core.WithWakeups(context.Background(), &c.wakes)
		}
		ctx = c.pubCtx
	}
	switch p.QoS {
	case 0:
		cl.Publish(ctx, m)
	case 1:
		code := cl.Publish(ctx, m)
		if err := c.refusedV3(code); err != nil {
			return err
		}
		c.sendAck(packet.PUBACK, p.PacketID, reasonCode(code))
	case 2:
		code, _ := cl.PublishQoS2(ctx, p.PacketID, m)
		if code == core.ReceiveMaximumExceeded {
			// [MQTT-3.3.4-7] the client exceeded the server's Receive
			// Maximum: DISCONNECT 0x93.
			return protocolErr(packet.ReceiveMaximumExceeded, "more than %d QoS 2 publishes awaiting PUBREL", c.srv.broker.Config().MaxInboundQoS2)
		}
		if err := c.refusedV3(code); err != nil {
			return err
		}
		c.sendAck(packet.PUBREC, p.PacketID, reasonCode(code))
	}
	return nil
}

// refusedV3 closes an MQTT 3 connection whose QoS 1/2 publish was refused
// for lack of room (a bridge outbox full under the refuse policy): MQTT 3
// has no negative acknowledgement, and a PUBACK would tell the publisher
// the message is safe. Closed without one, the client sends it again when
// it reconnects [MQTT-4.4.0-1]. MQTT 5 gets the reason code 0x97 instead.
func (c *conn) refusedV3(code core.Code) error {
	if code != core.QuotaExceeded || c.version == packet.V5 {
		return nil
	}
	return protocolErr(packet.QuotaExceeded, "publish refused: no room for it (quota exceeded); closed without acknowledging it so that it is sent again")
}

// toMessage copies a decoded PUBLISH out of the read buffer into an
// immutable core.Message.
func toMessage(p *packet.Packet, topicName string) *core.Message {
	m := core.NewMessage(topicName, p.Payload)
	m.QoS, m.Retain = p.QoS, p.Retain
	pr := &p.Properties
	if pr.HasPayloadFormat {
		m.PayloadFormat = pr.PayloadFormat
	}
	if pr.HasMessageExpiry {
		m.Expiry = time.Now().Add(time.Duration(pr.MessageExpiry) * time.Second)
	}
	m.ContentType = pr.ContentType
	m.ResponseTopic = pr.ResponseTopic
	if len(pr.CorrelationData) > 0 {
		m.CorrelationData = append([]byte(nil), pr.CorrelationData...)
	}
	if len(pr.User) > 0 {
		m.UserProperties = make([]core.UserProperty, len(pr.User))
		for i, u := range pr.User {
			m.UserProperties[i] = core.UserProperty{Key: u.Key, Value: u.Value}
		}
	}
	return m
}

func (c *conn) handleSubscribe(p *packet.Packet) error {
	for _, s := range p.Subscriptions {
		if _, _, shared := topic.ParseShared(s.Filter); shared && s.NoLocal {
			// [MQTT-3.8.3-4] No Local on a shared subscription is a
			// Protocol Error, which closes the connection [MQTT-4.13.1-1];
			// nothing of this SUBSCRIBE is applied.
			return protocolErr(packet.ProtocolError, "no local on shared subscription %q", s.Filter)
		}
	}
	reqs := make([]core.SubscribeRequest, len(p.Subscriptions))
	var subID uint32
	if len(p.Properties.SubscriptionIDs) > 0 {
		subID = p.Properties.SubscriptionIDs[0]
	}
	for i, s := range p.Subscriptions {
		reqs[i] = core.SubscribeRequest{Filter: s.Filter}
		o := &reqs[i].Options
		o.QoS, o.NoLocal, o.RetainAsPublished, o.RetainHandling, o.SubscriptionID = s.QoS, s.NoLocal, s.RetainAsPublished, s.RetainHandling, subID
	}
	results := c.client.Subscribe(context.Background(), reqs, make([]core.SubscribeResult, 0, len(reqs)))
	codes := make([]byte, len(results))
	for i, r := range results {
		switch {
		case !r.Code.Failed():
			codes[i] = r.QoS // granted QoS 0, 1 or 2
		case c.version != packet.V5:
			codes[i] = 0x80 // [MQTT-3.9.3-2] v3 knows only 0x80 for failure
		default:
			codes[i] = reasonCode(r.Code)
		}
	}
	c.send(&packet.Packet{Type: packet.SUBACK, PacketID: p.PacketID, ReasonCodes: codes})
	// Retained messages follow the SUBACK [MQTT-3.8.4-4]: the writer
	// drains pending control packets before pulling deliveries.
	c.client.SendRetained(reqs, results)
	return nil
}

func (c *conn) handleUnsubscribe(p *packet.Packet) {
	res := c.client.Unsubscribe(p.Filters, make([]core.Code, 0, len(p.Filters)))
	out := packet.Packet{Type: packet.UNSUBACK, PacketID: p.PacketID, Flags: 0}
	if c.version == packet.V5 {
		out.ReasonCodes = make([]byte, len(res))
		for i, r := range res {
			out.ReasonCodes[i] = reasonCode(r)
		}
	}
	c.send(&out)
}

// writer is the state of one writer run, pooled so an idle connection
// holds none of it. Between writes buf is empty, or holds bytes an inline
// write could not send at once (writeInline hands them to writeLoop).
type writer struct {
	deadlineSet time.Time
	buf         []byte
	ds          []core.Delivery
	out         packet.Packet
}

func putWriter(w *writer) {
	w.buf = w.buf[:0]
	if cap(w.buf) > 64*1024 {
		w.buf = nil
	}
	writers.Put(w)
}

var writers = sync.Pool{New: func() any { return new(writer) }}

// writeAll is writeLoop with a writer of its own.
func (c *conn) writeAll() { c.writeLoop(nil) }

// writeLoop writes pending control packets and pulls deliveries from the
// session until there is nothing left, then exits; Notify starts it again.
// A write that blocks longer than WriteTimeout ends the connection: a
// subscriber that stops reading is cut off instead of slowing anyone else
// (its queue is bounded by the core).
func (c *conn) writeLoop(w *writer) {
	if w == nil {
		w = writers.Get().(*writer)
	}
	w.deadlineSet = time.Time{}
	defer putWriter(w)
	var t *time.Timer
	woken := false
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		if c.kicked.Load() {
			// The writer that handles the kick keeps running set: no
			// other writer starts after it.
			c.writeKick(w)
			return
		}
		c.wakeup.Store(false)
		c.flush(w)
		if c.wakeup.Load() || c.kicked.Load() {
			continue
		}
		// Linger, like the reader, when the previous run ended less than
		// a linger ago: a subscriber that keeps getting messages keeps its
		// writer, one that got a single SUBACK does not hold a goroutine.
		// Moving a timer costs an update, so the timer is not moved per
		// wake-up: when it fires after some, it is set again, and the
		// writer leaves one to two lingers after its last work.
		if t != nil || time.Since(c.lastWriter) < linger {
			if t == nil {
				t = time.NewTimer(linger)
			}
			select {
			case <-c.wakeCh:
				woken = true
				continue
			case <-t.C:
				if woken {
					woken = false
					t.Reset(linger)
					continue
				}
				t = nil // fired: a writer that goes on needs a new one
			}
		}
		c.lastWriter = time.Now()
		c.running.Store(false)
		// A Notify between the checks above and the store would find
		// running still set and start nobody: look again.
		if (c.wakeup.Load() || c.kicked.Load()) && c.running.CompareAndSwap(false, true) {
			continue
		}
		return
	}
}

// flush writes until nothing is pending and the session has nothing to
// pull.
func (c *conn) flush(w *writer) {
	timeout := c.srv.cfg.WriteTimeout
	for !c.broken.Load() {
		if len(w.buf) == 0 && !c.fillWriter(w) {
			return
		}
		// Moving the deadline costs a timer update: refresh it only after
		// a quarter of the timeout, so a write gets at least 3/4 of it.
		if now := time.Now(); now.After(w.deadlineSet.Add(timeout / 4)) {
			c.nc.SetWriteDeadline(now.Add(timeout))
			w.deadlineSet = now
		}
		n, err := c.write(w.buf)
		c.srv.bytes.Sent(n)
		w.buf = w.buf[:0]
		if err != nil {
			c.broken.Store(true)
			c.close()
			return
		}
	}
}

// fillWriter encodes into w.buf the pending control packets and up to 64
// deliveries pulled from the session; false means there was nothing.
func (c *conn) fillWriter(w *writer) bool {
	// Pulling under wmu keeps a SUBACK ahead of the retained messages its
	// subscription queued after it [MQTT-3.8.4-4].
	c.wmu.Lock()
	w.buf = append(w.buf[:0], c.pending...)
	c.pending = c.pending[:0]
	if cap(c.pending) > 4096 {
		c.pending = nil
	}
	w.ds = c.client.Pull(w.ds[:0], 64)
	c.wmu.Unlock()
	for i := range w.ds {
		w.buf = c.appendDelivery(w.buf, &w.ds[i], &w.out)
		w.ds[i] = core.Delivery{}
	}
	return len(w.buf) > 0
}

// wakeDeferred wakes the connections a batch of input queued something
// for. A plain TCP connection with no writer running is written to from
// here (writeInline): at moderate rates that saves two goroutine switches
// per message.
//
// It reports whether a subscriber's write carried other than one delivery:
// none because another reader wrote them, or several.
func (c *conn) wakeDeferred() (batched bool) {
	for _, x := range c.wakes.Conns() {
		if oc, ok := x.(*conn); ok {
			batched = oc.writeInline() != 1 || batched
		} else {
			x.Notify()
		}
	}
	c.wakes.Reset()
	if c.selfWake {
		c.selfWake = false
		c.writeInline()
	}
	return batched
}

// writeInline makes one non-blocking write of what is waiting for c, from
// the calling goroutine, when no writer runs; what cannot go out at once,
// and any error, is left to a writer goroutine. Otherwise it notifies. It
// returns the number of deliveries it took from the session, -1 if it
// left them to a writer.
func (c *conn) writeInline() int {
	if c.tc.RawConn() == nil || !c.ready.Load() || c.kicked.Load() || c.broken.Load() ||
		!c.running.CompareAndSwap(false, true) {
		c.Notify()
		return -1
	}
	c.wakeup.Store(false)
	w := writers.Get().(*writer)
	deliveries := 0
	if c.fillWriter(w) {
		deliveries = len(w.ds)
		full := deliveries >= 64
		n := c.tryWrite(w.buf)
		c.srv.bytes.Sent(n)
		if rest := copy(w.buf, w.buf[n:]); rest > 0 || full {
			w.buf = w.buf[:rest]
			c.tc.Go(func() { c.writeLoop(w) })
			return deliveries
		}
		w.buf = w.buf[:0]
	}
	putWriter(w)
	c.running.Store(false)
	// A Notify while running was set started nobody: look again.
	if (c.wakeup.Load() || c.kicked.Load()) && c.running.CompareAndSwap(false, true) {
		c.tc.Go(c.writeAllFn)
	}
	return deliveries
}

// tryWrite writes what it can of b without waiting and returns how much.
func (c *conn) tryWrite(b []byte) int {
	c.wr = rawOp{b: b}
	if err := c.tc.RawConn().Write(c.writeFn); errors.Is(err, os.ErrDeadlineExceeded) {
		// A deadline a past writer run set: this write does not wait, and
		// the next writer run sets its own.
		c.nc.SetWriteDeadline(time.Time{})
		c.tc.RawConn().Write(c.writeFn)
	}
	n := c.wr.n
	c.wr.b = nil
	return n
}

// write writes all of b as net.Conn.Write does, within the write deadline.
// A plain TCP connection writes with sysWrite and waits for room in the
// runtime's poller.
func (c *conn) write(b []byte) (int, error) {
	if c.tc.RawConn() == nil {
		return c.nc.Write(b)
	}
	c.wr = rawOp{b: b, wait: true}
	err := c.tc.RawConn().Write(c.writeFn)
	n, e := c.wr.n, c.wr.e
	c.wr.b = nil
	if err == nil && e != 0 {
		err = fmt.Errorf("write: %w", e)
	}
	return n, err
}

// writeKick sends the DISCONNECT a Kick asked for (v5 only
// [MQTT-3.14.0-1]), closes the socket and releases run.
func (c *conn) writeKick(w *writer) {
	defer close(c.exited)
	code := byte(c.kickCode.Load())
	if !c.broken.Load() {
		// Acks still pending go out first, in every version.
		c.wmu.Lock()
		buf := append(w.buf, c.pending...) // after what an inline write left
		c.pending = c.pending[:0]
		c.wmu.Unlock()
		if c.version == packet.V5 && code != 0 {
			buf, _ = packet.Append(buf, &packet.Packet{Type: packet.DISCONNECT, ReasonCode: code}, c.version)
		}
		if len(buf) > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(time.Second))
			c.nc.Write(buf)
		}
		w.buf = buf
	}
	c.close()
}

// appendDelivery encodes one delivery. A PUBLISH larger than the client's
// Maximum Packet Size is dropped, not sent [MQTT-3.1.2-24].
func (c *conn) appendDelivery(buf []byte, d *core.Delivery, p *packet.Packet) []byte {
	p.Reset()
	if d.Held {
		p.Type, p.Flags, p.PacketID = packet.PUBREL, 0x2, d.Tag
		out, _ := packet.Append(buf, p, c.version)
		return out
	}
	m := d.Msg
	p.Type = packet.PUBLISH
	p.QoS, p.Retain, p.Dup, p.PacketID = d.QoS, d.Retain, d.Redelivered > 0, d.Tag
	p.Payload = m.Payload
	p.Topic = stringBytes(d.Topic)
	var newAlias uint16
	if c.version == packet.V5 {
		pr := &p.Properties
		if m.PayloadFormat != 0 {
			pr.PayloadFormat, pr.HasPayloadFormat = m.PayloadFormat, true
		}
		if secs, ok := m.RemainingExpiry(time.Now()); ok {
			// [MQTT-3.3.2-6] the remaining lifetime, not the original.
			pr.MessageExpiry, pr.HasMessageExpiry = secs, true
		}
		pr.ContentType = m.ContentType
		pr.ResponseTopic = m.ResponseTopic
		pr.CorrelationData = m.CorrelationData
		for _, u := range m.UserProperties {
			pr.User = append(pr.User, packet.UserProperty{Key: u.Key, Value: u.Value})
		}
		pr.SubscriptionIDs = append(pr.SubscriptionIDs, d.SubIDs...)
		if c.outAliasMax > 0 {
			if a, ok := c.outAliases[d.Topic]; ok {
				pr.TopicAlias, pr.HasTopicAlias = a, true
				p.Topic = nil
			} else if len(c.outAliases) < int(c.outAliasMax) {
				newAlias = uint16(len(c.outAliases) + 1)
				pr.TopicAlias, pr.HasTopicAlias = newAlias, true
			}
		}
	}
	if c.maxOut > 0 && packet.Size(p, c.version) > c.maxOut {
		if c.srv.debug() {
			c.srv.log.Debug("mqtt delivery dropped: larger than the client's Maximum Packet Size",
				"client", c.client.Info.ClientID, "topic", d.Topic, "max", c.maxOut)
		}
		c.client.Reject(d)
		return buf
	}
	out, err := packet.Append(buf, p, c.version)
	if err != nil {
		c.client.Reject(d)
		return buf
	}
	if c.srv.debug() {
		c.logPacket("mqtt packet sent", p)
	}
	if newAlias != 0 {
		if c.outAliases == nil {
			c.outAliases = make(map[string]uint16)
		}
		// The topic is a view into its message: the map must not keep
		// the message alive.
		c.outAliases[strings.Clone(d.Topic)] = newAlias
	}
	return out
}

// certCN returns the verified client certificate's common name, if any.
func certCN(nc net.Conn) string {
	st, ok := netserve.ConnectionState(nc)
	if !ok || len(st.PeerCertificates) == 0 || len(st.VerifiedChains) == 0 {
		return ""
	}
	return st.PeerCertificates[0].Subject.CommonName
}
