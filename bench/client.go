package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt/packet"
)

const (
	writeTimeout   = 10 * time.Second
	readBufInitial = 4 << 10
	readBufBatch   = 64 << 10 // a busy connection's buffer grows to this to read in batches
	maxPendingOut  = 256 << 10
)

// clientSpec is what one simulated client does.
type clientSpec struct {
	index  int
	id     string
	topic  string // publishes here when not empty
	filter string // subscribes to this when not empty
	fan    int64  // deliveries each publish should cause, 0 when unknown
	proto  string // protoMQTT or protoMQTTSN
	// indexed: the topic template held %i, so each publisher has its own.
	indexed bool
	// snTopicID is the predefined MQTT-SN topic id to publish on, 0 to use
	// a short name or REGISTER.
	snTopicID uint16
}

// client is one MQTT connection. Its reader goroutine owns its read buffer
// and acks; mu guards out, the batch of bytes the next flush sends,
// writing, and apkt, used to encode acknowledgements.
type client struct {
	clientBase
	r  *run
	rw io.ReadWriteCloser
	v  packet.Version

	mu    sync.Mutex
	out   []byte
	spare []byte
	// writing: a flush is under way; it sends out until it is empty.
	writing bool
	apkt    packet.Packet
	acks    bool // the reader queued acks since its last flush
	wake    chan struct{}
	ready   chan error // CONNACK and SUBACK outcomes, during setup
	done    chan struct{}

	readerWG sync.WaitGroup
	writerWG sync.WaitGroup
}

// connect dials, sends CONNECT and, for a subscriber, SUBSCRIBE, and returns
// once the broker has accepted both.
func connect(ctx context.Context, r *run, spec *clientSpec) (*client, error) {
	o := r.o
	rw, err := dial(ctx, o)
	if err != nil {
		return nil, err
	}
	c := &client{
		r: r, rw: rw, v: packet.Version(o.Version),
		wake: make(chan struct{}, 1), ready: make(chan error, 1), done: make(chan struct{}),
		clientBase: clientBase{spec: spec, window: int32(o.Inflight), acked: make(chan struct{}, 1)},
	}
	c.readerWG.Add(1)
	c.writerWG.Add(1)
	go c.readLoop()
	go c.writeLoop()
	keepAlive := max(60, min(int(o.Duration/time.Second)*2+60, 65535))
	cp := packet.Packet{
		Type: packet.CONNECT, CleanStart: true, KeepAlive: uint16(keepAlive), ClientID: spec.id,
		Username: o.Username, HasUsername: o.Username != "",
		Password: []byte(o.Password), HasPassword: o.Password != "",
	}
	if err := c.send(&cp); err != nil {
		c.close()
		return nil, err
	}
	if err := c.await(ctx, "CONNACK"); err != nil {
		c.close()
		return nil, err
	}
	if spec.filter != "" {
		sp := packet.Packet{Type: packet.SUBSCRIBE, PacketID: 1,
			Subscriptions: []packet.Subscription{{Filter: spec.filter, QoS: byte(max(o.QoS, 0))}}}
		if err := c.send(&sp); err != nil {
			c.close()
			return nil, err
		}
		if err := c.await(ctx, "SUBACK"); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

func (c *client) await(ctx context.Context, what string) error {
	t := time.NewTimer(c.r.o.ConnectTimeout)
	defer t.Stop()
	select {
	case err := <-c.ready:
		return err
	case <-t.C:
		return fmt.Errorf("no %s within %v", what, c.r.o.ConnectTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send encodes one packet into the outgoing batch and wakes the writer.
func (c *client) send(p *packet.Packet) error {
	c.mu.Lock()
	out, err := packet.Append(c.out, p, c.v)
	if err == nil {
		c.out = out
	}
	c.mu.Unlock()
	c.kick()
	return err
}

// ack queues an acknowledgement from the reader goroutine, which sends
// the acks of a whole read itself once it has handled the read: handing
// them to the writer would cost the bench a goroutine switch per read,
// and that switch would add to the latency it measures.
func (c *client) ack(t packet.Type, id uint16) {
	c.mu.Lock()
	c.apkt.Type, c.apkt.PacketID, c.apkt.ReasonCode = t, id, packet.Success
	c.out, _ = packet.Append(c.out, &c.apkt, c.v)
	c.mu.Unlock()
	c.acks = true
}

func (c *client) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop sends what acknowledgements and setup packets queued, when
// kicked.
func (c *client) writeLoop() {
	defer c.writerWG.Done()
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		if err := c.flush(); err != nil {
			c.fail(err)
			return
		}
	}
}

// flush sends whatever accumulated since the last write in one call, so a
// burst of publishes or acks costs one system call, and repeats until
// nothing is pending. While another goroutine's flush is under way it
// returns at once: that flush sends what was added meanwhile. Publishers
// flush on their own goroutine, so a message costs the bench no hand-off
// to the writer before it is sent.
func (c *client) flush() error {
	c.mu.Lock()
	if c.writing {
		c.mu.Unlock()
		return nil
	}
	c.writing = true
	for len(c.out) > 0 {
		buf := c.out
		c.out, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		if nc, ok := c.rw.(net.Conn); ok {
			nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		}
		_, err := c.rw.Write(buf)
		if cap(buf) > 4*maxPendingOut {
			buf = nil // let a one-off burst's buffer go
		}
		c.mu.Lock()
		c.spare = buf[:0]
		if err != nil {
			c.writing = false
			c.mu.Unlock()
			return err
		}
	}
	c.writing = false
	c.mu.Unlock()
	return nil
}

// readLoop parses packets out of a reused buffer, carrying a partial packet
// over to the next read. The buffer starts small, so an idle connection costs
// little, and grows for a packet that does not fit or for a busy stream.
func (c *client) readLoop() {
	defer c.readerWG.Done()
	buf := make([]byte, readBufInitial)
	n := 0
	var p packet.Packet
	for {
		m, err := c.rw.Read(buf[n:])
		n += m
		if err != nil {
			c.fail(err)
			return
		}
		off, need := 0, 0
		for {
			h, err := packet.ReadHeader(buf[off:n], 0)
			if errors.Is(err, packet.ErrIncomplete) {
				break
			}
			if err != nil {
				c.fail(err)
				return
			}
			total := h.Len + h.Remaining
			if n-off < total {
				need = total
				break
			}
			if err := c.handle(&p, h, buf[off+h.Len:off+total]); err != nil {
				c.fail(err)
				return
			}
			off += total
		}
		if c.acks {
			c.acks = false
			if err := c.flush(); err != nil {
				c.fail(err)
				return
			}
		}
		full := n == len(buf)
		if off > 0 {
			n = copy(buf, buf[off:n])
		}
		if need > len(buf) || (full && off > 0 && len(buf) < readBufBatch) {
			nb := make([]byte, max(need, 2*len(buf)))
			n = copy(nb, buf[:n])
			buf = nb
		}
	}
}

func (c *client) handle(p *packet.Packet, h packet.Header, body []byte) error {
	if err := packet.Decode(p, h, body, c.v); err != nil {
		return err
	}
	st := &c.r.st
	switch p.Type {
	case packet.PUBLISH:
		st.delivered(p.Payload)
		switch p.QoS {
		case 1:
			c.ack(packet.PUBACK, p.PacketID)
		case 2:
			c.ack(packet.PUBREC, p.PacketID)
		}
	case packet.PUBACK, packet.PUBCOMP:
		c.acknowledged()
		st.acked.Add(1)
		if p.ReasonCode >= 0x80 {
			st.errors.Add(1)
		}
	case packet.PUBREC:
		if p.ReasonCode >= 0x80 {
			c.acknowledged()
			st.errors.Add(1)
			return nil
		}
		c.ack(packet.PUBREL, p.PacketID)
	case packet.PUBREL:
		c.ack(packet.PUBCOMP, p.PacketID)
	case packet.CONNACK:
		var err error
		if p.ReasonCode != 0 {
			err = fmt.Errorf("connection refused: CONNACK code 0x%02x", p.ReasonCode)
		} else if p.Properties.HasReceiveMaximum && int32(p.Properties.ReceiveMaximum) < c.window {
			c.window = int32(p.Properties.ReceiveMaximum)
		}
		c.signal(err)
	case packet.SUBACK:
		var err error
		if len(p.ReasonCodes) == 0 || p.ReasonCodes[0] >= 0x80 {
			err = fmt.Errorf("subscription to %q refused: SUBACK %x", c.spec.filter, p.ReasonCodes)
		}
		c.signal(err)
	case packet.DISCONNECT:
		return fmt.Errorf("broker sent DISCONNECT 0x%02x %s", p.ReasonCode, p.Properties.ReasonString)
	case packet.PINGRESP:
	default:
		return fmt.Errorf("unexpected %v from broker", p.Type)
	}
	return nil
}

// fail records a connection error unless the bench is closing the
// connection itself, and stops both goroutines.
func (c *client) fail(err error) {
	if c.closing.Swap(true) {
		return
	}
	c.r.st.errors.Add(1)
	c.r.noteError(c.spec.id, err)
	c.signal(err)
	close(c.done)
	c.rw.Close()
}

func (c *client) signal(err error) {
	select {
	case c.ready <- err:
	default:
	}
}

// close stops the writer, sends DISCONNECT after what it had pending and
// closes the connection.
func (c *client) close() {
	if c.closing.Swap(true) {
		c.writerWG.Wait()
		c.readerWG.Wait()
		return
	}
	close(c.done)
	c.writerWG.Wait()
	c.mu.Lock()
	out := c.out
	c.out = nil
	c.mu.Unlock()
	if nc, ok := c.rw.(net.Conn); ok {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
	}
	d := packet.Packet{Type: packet.DISCONNECT}
	if out, err := packet.Append(out, &d, c.v); err == nil {
		c.rw.Write(out)
	}
	c.rw.Close()
	c.readerWG.Wait()
}
