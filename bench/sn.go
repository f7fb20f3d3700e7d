package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
)

const (
	snSocketBuffer = 1 << 20 // deliveries to a subscriber arrive in bursts
	snMinReadBuf   = 1 << 10 // room for a REGISTER with a long topic name
	snMaxRetries   = 10      // retransmissions of one message before the client gives up
	snRegisterID   = 1       // message ids of the setup requests
	snSubscribeID  = 2
)

// snClient is one MQTT-SN 1.2 client on its own UDP socket. The socket has
// one goroutine, its reader, which also answers the gateway, retransmits
// what is unacknowledged and sends PINGREQ when the client has been silent
// for the keep alive. A publisher goroutine writes its PUBLISH datagrams
// itself; mu guards the messages awaiting acknowledgement, which both
// touch. Every other field below mu belongs to the reader.
type snClient struct {
	clientBase
	r         *run
	conn      *net.UDPConn
	topicType byte
	topicID   uint16
	connected bool        // CONNACK accepted: close sends DISCONNECT
	setUp     atomic.Bool // setup is over: failures are counted by fail, not by connectAll
	failErr   error       // why fail closed done; read after done is closed

	lastWrite atomic.Int64  // now() of the last datagram sent
	replies   chan snReply  // CONNACK, REGACK and SUBACK, during setup
	gone      chan struct{} // the gateway answered DISCONNECT
	done      chan struct{} // closed once, by fail or close
	readerWG  sync.WaitGroup

	mu      sync.Mutex
	pending map[uint16]*snOut
	spare   []*snOut

	abuf     []byte // the reader's encoding buffer
	goneSeen bool
}

// snOut is a PUBLISH or PUBREL sent and not yet acknowledged, kept encoded
// for retransmission.
type snOut struct {
	msg     []byte
	sent    time.Time
	rel     bool // PUBREC came: msg is the PUBREL, waiting for PUBCOMP
	retries int
}

type snReply struct {
	typ     packet.Type
	rc      packet.ReturnCode
	topicID uint16
	msgID   uint16
}

// connectSN opens a UDP socket to the gateway, CONNECTs, and names the
// publisher's topic (REGISTER unless short or predefined) or subscribes.
func connectSN(ctx context.Context, r *run, spec *clientSpec) (*snClient, error) {
	o := r.o
	raddr, err := net.ResolveUDPAddr("udp", o.SNAddr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, err
	}
	conn.SetReadBuffer(snSocketBuffer)
	c := &snClient{
		r: r, conn: conn, replies: make(chan snReply, 1),
		gone: make(chan struct{}), done: make(chan struct{}),
		pending:    map[uint16]*snOut{},
		clientBase: clientBase{spec: spec, window: r.snWindow, acked: make(chan struct{}, 1)},
	}
	c.lastWrite.Store(now())
	c.readerWG.Add(1)
	go c.readLoop(max(snMinReadBuf, o.Size+64))
	err = c.setup(ctx)
	c.setUp.Store(true)
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *snClient) setup(ctx context.Context) error {
	o, spec := c.r.o, c.spec
	cp := packet.Packet{Type: packet.CONNECT, CleanSession: true, ProtocolID: packet.ProtocolID,
		Duration: uint16(o.SNKeepAlive / time.Second), ClientID: []byte(spec.id)}
	rep, err := c.request(ctx, &cp, packet.CONNACK, 0)
	if err != nil {
		return err
	}
	if rep.rc != packet.Accepted {
		return fmt.Errorf("connection refused: CONNACK return code %d", rep.rc)
	}
	c.connected = true
	switch {
	case spec.topic == "":
	case spec.snTopicID != 0:
		c.topicType, c.topicID = packet.TopicPredefined, spec.snTopicID
	case len(spec.topic) == 2:
		// [MQTT-SN 3.2.4] a two-character topic travels in the id field.
		c.topicType, c.topicID = packet.TopicShort, packet.ShortTopic(spec.topic)
	default:
		rp := packet.Packet{Type: packet.REGISTER, MsgID: snRegisterID, TopicName: []byte(spec.topic)}
		rep, err := c.request(ctx, &rp, packet.REGACK, snRegisterID)
		if err != nil {
			return err
		}
		if rep.rc != packet.Accepted {
			return fmt.Errorf("REGISTER %q refused: return code %d", spec.topic, rep.rc)
		}
		c.topicType, c.topicID = packet.TopicNormal, rep.topicID
	}
	if spec.filter != "" {
		sp := packet.Packet{Type: packet.SUBSCRIBE, QoS: int8(max(o.QoS, 0)), TopicIDType: packet.TopicNormal,
			MsgID: snSubscribeID, TopicName: []byte(spec.filter)}
		rep, err := c.request(ctx, &sp, packet.SUBACK, snSubscribeID)
		if err != nil {
			return err
		}
		if rep.rc != packet.Accepted {
			return fmt.Errorf("subscription to %q refused: SUBACK return code %d", spec.filter, rep.rc)
		}
	}
	return nil
}

// request sends p and waits for its answer, resending p every -sn-retry as
// a datagram may be lost, until -timeout.
func (c *snClient) request(ctx context.Context, p *packet.Packet, want packet.Type, msgID uint16) (snReply, error) {
	o := c.r.o
	b, err := packet.Append(nil, p)
	if err != nil {
		return snReply{}, err
	}
	deadline := time.NewTimer(o.ConnectTimeout)
	defer deadline.Stop()
	retry := time.NewTicker(o.SNRetry)
	defer retry.Stop()
	if err := c.write(b); err != nil {
		return snReply{}, err
	}
	for {
		select {
		case rep := <-c.replies:
			if rep.typ == want && rep.msgID == msgID {
				return rep, nil
			}
			// An answer to an earlier, resent request.
		case <-retry.C:
			if err := c.write(b); err != nil {
				return snReply{}, err
			}
		case <-deadline.C:
			return snReply{}, fmt.Errorf("no %v within %v", want, o.ConnectTimeout)
		case <-c.done:
			return snReply{}, fmt.Errorf("no %v: %w", want, c.failErr)
		case <-ctx.Done():
			return snReply{}, ctx.Err()
		}
	}
}

func (c *snClient) write(b []byte) error {
	_, err := c.conn.Write(b)
	c.lastWrite.Store(now())
	return err
}

// reply encodes and sends a message from the reader goroutine.
func (c *snClient) reply(p *packet.Packet) error {
	var err error
	c.abuf, err = packet.Append(c.abuf[:0], p)
	if err != nil {
		return err
	}
	return c.write(c.abuf)
}

// readLoop reads one message per datagram into a reused buffer. Its read
// deadline doubles as the timer for keep alive and retransmission; under a
// steady stream, where the deadline never passes, the timers run by clock.
func (c *snClient) readLoop(size int) {
	defer c.readerWG.Done()
	o := c.r.o
	buf := make([]byte, size)
	var p packet.Packet
	tick := min(o.SNKeepAlive, o.SNRetry) / 4
	next := time.Now().Add(tick)
	c.conn.SetReadDeadline(next)
	for {
		n, err := c.conn.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			n, err = 0, c.timers(time.Now())
			next = time.Now().Add(tick)
			c.conn.SetReadDeadline(next)
		} else if err == nil {
			if err = packet.Decode(buf[:n], &p); err == nil {
				err = c.handle(&p)
			}
			if t := time.Now(); err == nil && t.After(next) {
				err = c.timers(t)
				next = t.Add(tick)
				c.conn.SetReadDeadline(next)
			}
		}
		if err != nil {
			c.fail(err)
			return
		}
	}
}

func (c *snClient) handle(p *packet.Packet) error {
	st := &c.r.st
	switch p.Type {
	case packet.PUBLISH:
		st.delivered(p.Data)
		switch p.QoS {
		case 1:
			return c.reply(&packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: packet.Accepted})
		case 2:
			return c.reply(&packet.Packet{Type: packet.PUBREC, MsgID: p.MsgID})
		}
	case packet.REGISTER:
		// [MQTT-SN 6.10] the gateway names a topic before its first delivery
		// on it, as for a wildcard subscription.
		return c.reply(&packet.Packet{Type: packet.REGACK, TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: packet.Accepted})
	case packet.PUBREL:
		return c.reply(&packet.Packet{Type: packet.PUBCOMP, MsgID: p.MsgID})
	case packet.PUBACK:
		c.puback(p)
	case packet.PUBREC:
		return c.pubrec(p)
	case packet.PUBCOMP:
		c.settle(p.MsgID, true, true)
	case packet.CONNACK, packet.REGACK, packet.SUBACK:
		select {
		case c.replies <- snReply{typ: p.Type, rc: p.ReturnCode, topicID: p.TopicID, msgID: p.MsgID}:
		default:
		}
	case packet.DISCONNECT:
		if c.closing.Load() {
			if !c.goneSeen {
				c.goneSeen = true
				close(c.gone)
			}
			return nil
		}
		return errors.New("gateway sent DISCONNECT")
	case packet.PINGRESP, packet.ADVERTISE, packet.GWINFO:
	default:
		return fmt.Errorf("unexpected %v from gateway", p.Type)
	}
	return nil
}

// puback ends a QoS 1 publish, or refuses any publish [MQTT-SN 6.7]: a
// return code other than accepted is counted as an error.
func (c *snClient) puback(p *packet.Packet) {
	if p.ReturnCode != packet.Accepted {
		c.r.st.errors.Add(1)
		c.r.noteError(c.spec.id, fmt.Errorf("PUBACK return code %d for topic id %d", p.ReturnCode, p.TopicID))
	}
	c.settle(p.MsgID, false, p.ReturnCode == packet.Accepted)
}

// pubrec answers PUBREC with PUBREL, kept for retransmission until PUBCOMP.
func (c *snClient) pubrec(p *packet.Packet) error {
	c.mu.Lock()
	if m := c.pending[p.MsgID]; m != nil && !m.rel {
		m.rel, m.retries, m.sent = true, 0, time.Now()
		m.msg, _ = packet.Append(m.msg[:0], &packet.Packet{Type: packet.PUBREL, MsgID: p.MsgID})
	}
	c.mu.Unlock()
	// Unknown or already released: PUBREL again, the gateway lost ours.
	return c.reply(&packet.Packet{Type: packet.PUBREL, MsgID: p.MsgID})
}

// settle frees message id's slot if it is in the state rel expects,
// counting it as acknowledged when ok.
func (c *snClient) settle(id uint16, rel, ok bool) {
	c.mu.Lock()
	m := c.pending[id]
	if m != nil && m.rel == rel {
		delete(c.pending, id)
		c.spare = append(c.spare, m)
	} else {
		m = nil
	}
	c.mu.Unlock()
	if m == nil {
		return
	}
	if ok {
		c.r.st.acked.Add(1)
	}
	c.acknowledged()
}

// timers resends what went unacknowledged for -sn-retry, with DUP set on a
// PUBLISH [MQTT-SN 6.13], and sends PINGREQ after -sn-keepalive of silence
// [MQTT-SN 6.11].
func (c *snClient) timers(t time.Time) error {
	o := c.r.o
	c.mu.Lock()
	for _, m := range c.pending {
		if t.Sub(m.sent) < o.SNRetry {
			continue
		}
		if m.retries++; m.retries > snMaxRetries {
			c.mu.Unlock()
			return fmt.Errorf("no acknowledgement after %d retransmissions", snMaxRetries)
		}
		if !m.rel {
			setDup(m.msg)
		}
		m.sent = t
		c.r.st.retransmits.Add(1)
		if err := c.write(m.msg); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	c.mu.Unlock()
	if time.Duration(now()-c.lastWrite.Load()) >= o.SNKeepAlive {
		return c.reply(&packet.Packet{Type: packet.PINGREQ})
	}
	return nil
}

// setDup sets the DUP flag of an encoded PUBLISH.
func setDup(b []byte) {
	off := 2
	if b[0] == 0x01 {
		off = 4 // 3-octet length form
	}
	b[off] |= 0x80
}

// track keeps an encoded QoS 1/2 PUBLISH until it is acknowledged.
func (c *snClient) track(id uint16, msg []byte) {
	c.mu.Lock()
	var m *snOut
	if n := len(c.spare); n > 0 {
		m, c.spare = c.spare[n-1], c.spare[:n-1]
	} else {
		m = &snOut{}
	}
	m.msg = append(m.msg[:0], msg...)
	m.sent, m.rel, m.retries = time.Now(), false, 0
	c.pending[id] = m
	c.mu.Unlock()
}

// publishLoop publishes as run.publishLoop describes, held by the
// inflight window and the gate, one datagram per message.
func (c *snClient) publishLoop(stop <-chan struct{}, rate float64) {
	r := c.r
	o := r.o
	p := packet.Packet{Type: packet.PUBLISH, QoS: int8(o.QoS), TopicIDType: c.topicType, TopicID: c.topicID,
		Data: make([]byte, o.Size)}
	var buf []byte
	var id uint16
	r.publishLoop(stop, c.done, c.acked, rate, func(want int64) (sent int64, blocked int, ok bool) {
		for sent < want {
			if blocked = c.admit(r, p.QoS > 0, rate, &id); blocked != blockedNot {
				break
			}
			if p.QoS > 0 {
				p.MsgID = id
			}
			stamp(p.Data)
			var err error
			if buf, err = packet.Append(buf[:0], &p); err != nil {
				c.fail(err)
				return sent, blocked, false
			}
			if p.QoS > 0 {
				c.track(id, buf)
				c.inflight.Add(1)
			}
			if err := c.write(buf); err != nil {
				c.fail(err)
				return sent, blocked, false
			}
			sent++
			r.st.expected.Add(c.spec.fan)
		}
		return sent, blocked, true
	})
}

// fail records an error unless the bench is closing the client itself,
// and closes the socket.
func (c *snClient) fail(err error) {
	if c.closing.Swap(true) {
		return
	}
	c.failErr = err
	if c.setUp.Load() {
		c.r.st.errors.Add(1)
		c.r.noteError(c.spec.id, err)
	}
	close(c.done)
	c.conn.Close()
}

// close sends DISCONNECT and waits for the gateway's DISCONNECT
// [MQTT-SN 6.6]; no answer after three tries means the gateway had already
// dropped the session, which counts as an error.
func (c *snClient) close() {
	if c.closing.Swap(true) {
		c.readerWG.Wait()
		return
	}
	if c.connected {
		b, _ := packet.Append(nil, &packet.Packet{Type: packet.DISCONNECT})
		answered := false
		t := time.NewTimer(c.r.o.SNRetry)
		for try := 0; try < 3 && !answered; try++ {
			if c.write(b) != nil {
				break
			}
			t.Reset(c.r.o.SNRetry)
			select {
			case <-c.gone:
				answered = true
			case <-t.C:
			}
		}
		t.Stop()
		if !answered {
			c.r.st.errors.Add(1)
			c.r.noteError(c.spec.id, errors.New("no DISCONNECT from the gateway: the session was lost"))
		}
	}
	close(c.done)
	c.conn.Close()
	c.readerWG.Wait()
}
