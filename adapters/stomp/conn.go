package stomp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mqgate/mqgate/adapters/internal/netserve"
	"github.com/mqgate/mqgate/adapters/stomp/frame"
	"github.com/mqgate/mqgate/core"
)

// Ack modes, carried as the subscription identifier of the core's
// subscription so a delivery says how it is acknowledged, also on a
// session resumed by a new connection.
const (
	ackAuto uint32 = iota + 1
	ackClient
	ackIndividual
)

// conn is one STOMP connection and its netserve.Stream. The owner of its
// reads (run on a goroutine of its own, or burst for a polled
// connection) handles the frames; a writer, run on demand after
// CONNECTED, owns the write side. Frames the reader answers with
// (RECEIPT, ERROR) go through out, so the writer keeps their order.
type conn struct {
	srv *Server
	l   *listener
	tc  transport
	nc  net.Conn

	version frame.Version
	client  *core.Client
	hbIn    time.Duration // the client's heart-beat interval we check (0: none)
	hbOut   time.Duration // our heart-beat interval (0: none)
	ws      bool          // a WebSocket: one frame per message
	wsMax   frame.Version // the version its subprotocol names (0: none)

	// Reader only (the owner of the connection's reads).
	asked     bool        // CONNECT went to the core, which counts a refusal itself
	timer     *time.Timer // a polled connection's connect or heart-beat deadline
	due       time.Time   // when the timer's firing ends the connection; zero: never
	connectBy time.Time   // the CONNECT deadline of a polled connection
	lastIn    time.Time   // when input last arrived, for a polled connection
	rbuf      []byte
	fr        frame.Frame
	subs      map[string]bool // subscription ids of this connection
	txs       map[string]*tx
	txBytes   int // SEND bodies held by open transactions

	mu      sync.Mutex
	out     []byte // encoded frames for the writer
	outEnds []int  // where each frame in out ends
	closing bool   // after out is written, the connection ends
	pending []pend // unacknowledged deliveries, in the order handed out
	seq     uint64 // the last message-id handed out
	// prefetch is the prefetch-count of a subscription (sub id -> most
	// MESSAGEs awaiting ACK); held are its deliveries that wait for room.
	prefetch map[string]int
	held     map[string][]core.Delivery

	// The writer (writer.go).
	wmu     sync.Mutex  // held by a writer for its whole run, and by finish
	writeFn func()      // c.writeRun, made once
	wakeup  atomic.Bool // something waits for the writer
	running atomic.Bool // a writer runs or is about to
	ready   atomic.Bool // CONNECTED is queued: writers may run
	final   atomic.Bool // finish took over: no writer writes again
	beatDue atomic.Bool // the heart-beat timer fired since the last write
	hbTimer *time.Timer // our heart-beats (nil: none)
	kicked  atomic.Bool
}

// pend is one delivery that waits for ACK or NACK.
type pend struct {
	seq  uint64
	tag  uint16
	sub  string
	mode uint32
}

// tx is an open transaction: its frames take effect at COMMIT.
type tx struct {
	ops   []txOp
	bytes int
}

type txOp struct {
	msg  *core.Message // SEND
	nack bool          // ACK or NACK of id
	id   string
}

var (
	_ core.Conn       = (*conn)(nil)
	_ netserve.Stream = (*conn)(nil)
	_ transport       = (*netserve.Conn)(nil)
)

// transport is what a connection needs of its transport: a
// *netserve.Conn, or a SockJS session (sockjs.go), which is never
// pollable.
type transport interface {
	NetConn() net.Conn
	Remote() netip.AddrPort
	Go(f func())
	Shutdown()
	Close() error
	Take() bool
	Pollable() bool
	Arm()
	RawConn() syscall.RawConn
	WebSocket() (subprotocol string, ok bool)
}

func newConn(s *Server, l *listener, tc transport) *conn {
	c := &conn{srv: s, l: l, tc: tc, nc: tc.NetConn()}
	c.writeFn = c.writeRun
	if sub, ok := tc.WebSocket(); ok {
		c.ws = true
		switch sub {
		case "v10.stomp":
			c.wsMax = frame.V10
		case "v11.stomp":
			c.wsMax = frame.V11
		case "v12.stomp":
			c.wsMax = frame.V12
		}
	}
	return c
}

// Start implements netserve.Stream: a plain TCP connection on Linux
// waits in the poller (see poll.go); any other is read by a goroutine of
// its own, on one of the server's workers.
func (c *conn) Start() {
	if c.tc.Pollable() {
		c.connectBy = time.Now().Add(c.srv.cfg.ConnectTimeout)
		c.due = c.connectBy
		c.timer = time.AfterFunc(c.srv.cfg.ConnectTimeout, c.timerFired)
		c.tc.Arm()
		return
	}
	c.tc.Go(c.run)
}

// Readable implements netserve.Stream: the poller reported input.
func (c *conn) Readable() { c.burst() }

// PollFailed implements netserve.Stream.
func (c *conn) PollFailed(err error) { c.finish(err, false) }

// Stop implements netserve.Stream: the server is shutting down.
func (c *conn) Stop() { c.Kick(core.ServerShuttingDown) }

// Kick implements core.Conn: an ERROR frame says why and the connection
// closes.
func (c *conn) Kick(code core.Code) {
	if !c.kicked.CompareAndSwap(false, true) {
		return
	}
	c.fail(code.String(), "", "")
	if !c.ready.Load() {
		// No writer yet: the handshake is still under way.
		c.shutdown()
	}
}

// errKicked ends a connection the server closed.
var errKicked = errors.New("connection closed by the server")

// shutdown ends the connection's reads. A connection idle in the poller
// would not notice, so it is finished here.
func (c *conn) shutdown() {
	c.tc.Shutdown()
	if c.tc.Take() {
		go c.finish(errKicked, false)
	}
}

// errProtocol ends a connection with an ERROR frame.
type errProtocol struct {
	msg, detail string
	receipt     string // the receipt header of the frame it answers
	timeout     bool   // no CONNECT, or no heart-beat, in time
}

func (e *errProtocol) Error() string { return e.msg }

func protoErr(msg string, args ...any) error {
	return &errProtocol{msg: fmt.Sprintf(msg, args...)}
}

// errDisconnect ends a connection after DISCONNECT.
var errDisconnect = errors.New("client disconnected")

// run is the connection's owner: it reads CONNECT, then every frame.
func (c *conn) run() {
	err := c.handshake()
	if err == nil {
		err = c.readLoop()
	}
	c.finish(err, errors.Is(err, errDisconnect))
}

// finish ends the connection: its session is detached, the writer
// stopped and the socket closed. A connection the adapter refused
// before it asked the core is counted under its reason.
func (c *conn) finish(err error, clean bool) {
	var pe *errProtocol
	if errors.As(err, &pe) {
		c.fail(pe.msg, pe.detail, pe.receipt)
	}
	if c.client == nil && !c.asked {
		if r, ok := refusal(err); ok {
			c.srv.broker.CountRefused("stomp", r)
		}
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.hbTimer != nil {
		c.hbTimer.Stop()
	}
	// Wait for a running writer; then write what is left (an ERROR, the
	// RECEIPT of a DISCONNECT) and let no writer write again.
	c.final.Store(true)
	c.wmu.Lock()
	c.flushDirect()
	c.wmu.Unlock()
	if c.client != nil {
		kind := core.DisconnectWithWill
		if clean {
			kind = core.DisconnectNormal
		}
		c.client.Disconnect(kind, err.Error())
	}
	c.srv.log.Debug("stomp connection closed", "remote", c.tc.Remote(), "err", err)
	c.tc.Close()
}

// fail queues an ERROR frame and marks the connection closing
// [STOMP 1.2 ERROR]: the server closes the connection after it.
func (c *conn) fail(msg, detail, receipt string) {
	// The version is the reader's until CONNECTED is queued; a kick may
	// come from another goroutine before that.
	v := frame.V12
	if c.ready.Load() {
		v = c.version
	}
	c.mu.Lock()
	if !c.closing {
		c.out = frame.AppendCommand(c.out, frame.ERROR)
		c.out = frame.AppendHeader(c.out, v, false, "message", msg)
		if receipt != "" {
			// [STOMP 1.2 ERROR] the frame that caused it asked for a
			// receipt.
			c.out = frame.AppendHeader(c.out, v, false, "receipt-id", receipt)
		}
		c.out = frame.AppendHeader(c.out, v, false, "content-type", "text/plain")
		c.out = frame.AppendBody(c.out, []byte(detail), false)
		c.outEnds = append(c.outEnds, len(c.out))
		c.closing = true
	}
	c.mu.Unlock()
	c.Notify()
}

// flushDirect writes what waits in out, under wmu.
func (c *conn) flushDirect() {
	c.mu.Lock()
	b, ends := c.out, c.outEnds
	c.out, c.outEnds = nil, nil
	c.mu.Unlock()
	if len(b) > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
		c.writeFrames(b, ends)
	}
}

// send queues a frame the reader produced for the writer.
func (c *conn) queue(f func(b []byte) []byte) {
	c.mu.Lock()
	c.out = f(c.out)
	c.outEnds = append(c.outEnds, len(c.out))
	c.mu.Unlock()
	c.Notify()
}

func (c *conn) receipt(id []byte) {
	if id == nil {
		return
	}
	c.queue(func(b []byte) []byte {
		b = frame.AppendCommand(b, frame.RECEIPT)
		b = frame.AppendHeader(b, c.version, false, "receipt-id", string(id))
		return append(b, '\n', 0)
	})
}

// read reads more input into rbuf, within deadline d (0: none).
func (c *conn) read(d time.Duration) error {
	if err := c.grow(); err != nil {
		return err
	}
	if d > 0 {
		c.nc.SetReadDeadline(time.Now().Add(d))
	} else {
		c.nc.SetReadDeadline(time.Time{})
	}
	n, err := c.nc.Read(c.rbuf[len(c.rbuf):cap(c.rbuf)])
	c.rbuf = c.rbuf[:len(c.rbuf)+n]
	c.srv.bytes.Received(n)
	if err != nil && n == 0 {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return c.timeout()
		}
		return err
	}
	return nil
}

// grow makes room in rbuf for another read, up to the most one frame
// may take under the limits in force.
func (c *conn) grow() error {
	if len(c.rbuf) < cap(c.rbuf) {
		return nil
	}
	if c.rbuf == nil {
		// A burst that finds no input gives the buffer back at once.
		c.rbuf = getReadBuf()
		return nil
	}
	limit := c.srv.limits.MaxFrame() + 1
	if c.client == nil {
		limit = c.srv.first.MaxFrame() + 1
	}
	if cap(c.rbuf) >= limit {
		return protoErr("frame too large")
	}
	nb := make([]byte, len(c.rbuf), min(max(2*cap(c.rbuf), readChunk), limit))
	copy(nb, c.rbuf)
	putReadBuf(c.rbuf[:0])
	c.rbuf = nb
	return nil
}

// readChunk is the size of a pooled read buffer: a polled connection
// takes one for a burst and gives it back when the burst leaves nothing.
const readChunk = 4096

var readBufs = sync.Pool{New: func() any { return new([readChunk]byte) }}

func getReadBuf() []byte { return readBufs.Get().(*[readChunk]byte)[:0] }

// putReadBuf pools b if it is a pooled buffer.
func putReadBuf(b []byte) {
	if cap(b) == readChunk {
		readBufs.Put((*[readChunk]byte)(b[:readChunk]))
	}
}

// timeout is the error of a connection whose input stopped: no CONNECT
// in time, or no heart-beat.
func (c *conn) timeout() error {
	if c.client == nil {
		return &errProtocol{msg: fmt.Sprintf("no CONNECT frame within %s", c.srv.cfg.ConnectTimeout), timeout: true}
	}
	return &errProtocol{msg: "heart-beat timeout", timeout: true}
}

// refusal says why the adapter refused a connection that ended with err
// before its CONNECT reached the core: every ERROR before then is a
// CONNECT it did not accept, or none in time. A peer that went away, or
// a connection the server closed, was not refused (ok false).
func refusal(err error) (r core.Refusal, ok bool) {
	var pe *errProtocol
	switch {
	case errors.Is(err, errNoVersion):
		return core.RefusedUnsupportedProtocol, true
	case !errors.As(err, &pe):
		return 0, false
	case pe.timeout:
		return core.RefusedConnectTimeout, true
	}
	return core.RefusedMalformedConnect, true
}

// next returns the next complete frame, reading as needed within d.
func (c *conn) next(lim *frame.Limits, v frame.Version, d time.Duration) (*frame.Frame, int, error) {
	for {
		n, err := frame.Parse(c.rbuf, v, lim, &c.fr)
		if err == nil {
			return &c.fr, n, nil
		}
		if !errors.Is(err, frame.ErrShort) {
			var fe *frame.Error
			if errors.As(err, &fe) {
				return nil, 0, &errProtocol{msg: fe.Msg}
			}
			return nil, 0, err
		}
		if n > 0 {
			c.consume(n)
		}
		if err := c.read(d); err != nil {
			return nil, 0, err
		}
	}
}

// consume drops the first n bytes of rbuf.
func (c *conn) consume(n int) {
	rest := copy(c.rbuf, c.rbuf[n:])
	c.rbuf = c.rbuf[:rest]
	if rest == 0 && cap(c.rbuf) > 64<<10 {
		c.rbuf = nil // a large frame's buffer is not kept while idle
	}
}

// readLoop serves frames after CONNECTED.
func (c *conn) readLoop() error {
	d := c.hbGrace()
	for {
		f, n, err := c.next(&c.srv.limits, c.version, d)
		if err != nil {
			return err
		}
		err = c.handle(f)
		c.consume(n)
		if err != nil {
			return err
		}
	}
}

// hbGrace is how long the client may be silent: its heart-beat interval
// plus a margin for its timers and the network (0: no heart-beats).
func (c *conn) hbGrace() time.Duration {
	if c.hbIn == 0 {
		return 0
	}
	return c.hbIn + c.hbIn/2 + time.Second
}

// handle serves one frame; an ERROR it causes carries the frame's receipt
// as receipt-id.
func (c *conn) handle(f *frame.Frame) error {
	err := c.dispatch(f)
	var pe *errProtocol
	if errors.As(err, &pe) && pe.receipt == "" {
		if r, ok := f.Value("receipt"); ok {
			pe.receipt = string(r)
		}
	}
	return err
}

// dispatch serves one frame by its command.
func (c *conn) dispatch(f *frame.Frame) error {
	switch f.Command {
	case frame.SEND:
		return c.handleSend(f)
	case frame.SUBSCRIBE:
		return c.handleSubscribe(f)
	case frame.UNSUBSCRIBE:
		return c.handleUnsubscribe(f)
	case frame.ACK, frame.NACK:
		return c.handleAck(f)
	case frame.BEGIN, frame.COMMIT, frame.ABORT:
		return c.handleTx(f)
	case frame.DISCONNECT:
		// Everything before it was handled; no MESSAGE follows the
		// RECEIPT [STOMP 1.2 DISCONNECT].
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		c.receipt(valueOrNil(f, "receipt"))
		return errDisconnect
	case frame.CONNECT, frame.STOMP:
		return protoErr("already connected")
	}
	return protoErr("unexpected command %s", f.Command)
}

func valueOrNil(f *frame.Frame, name string) []byte {
	v, ok := f.Value(name)
	if !ok {
		return nil
	}
	return append([]byte{}, v...)
}

// handleTx serves BEGIN, COMMIT and ABORT [STOMP 1.2 BEGIN].
func (c *conn) handleTx(f *frame.Frame) error {
	id, ok := f.Value("transaction")
	if !ok || len(id) == 0 {
		return protoErr("%s without a transaction header", f.Command)
	}
	t := c.txs[string(id)]
	switch f.Command {
	case frame.BEGIN:
		if t != nil {
			return protoErr("transaction %q is already open", id)
		}
		if len(c.txs) >= c.srv.cfg.MaxTransactions {
			return protoErr("too many open transactions (at most %d)", c.srv.cfg.MaxTransactions)
		}
		if c.txs == nil {
			c.txs = map[string]*tx{}
		}
		c.txs[string(id)] = &tx{}
	case frame.COMMIT:
		if t == nil {
			return protoErr("no open transaction %q", id)
		}
		delete(c.txs, string(id))
		c.txBytes -= t.bytes
		for _, op := range t.ops {
			var err error
			if op.msg != nil {
				err = c.publish(op.msg)
			} else {
				err = c.settle(op.id, op.nack)
			}
			if err != nil {
				return err
			}
		}
	case frame.ABORT:
		if t == nil {
			return protoErr("no open transaction %q", id)
		}
		delete(c.txs, string(id))
		c.txBytes -= t.bytes
	}
	c.receipt(valueOrNil(f, "receipt"))
	return nil
}

// inTx returns the transaction a frame names, nil for none.
func (c *conn) inTx(f *frame.Frame) (*tx, error) {
	id, ok := f.Value("transaction")
	if !ok {
		return nil, nil
	}
	t := c.txs[string(id)]
	if t == nil {
		return nil, protoErr("no open transaction %q", id)
	}
	if len(t.ops) >= c.srv.cfg.MaxTransactionFrames {
		return nil, protoErr("transaction %q holds too many frames (at most %d)", id, c.srv.cfg.MaxTransactionFrames)
	}
	return t, nil
}
