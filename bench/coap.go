package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// coapClient is one CoAP client on its own UDP socket. At QoS 0 a
// publisher sends NON POST /ps/{topic}?qos=0; at QoS 1 it sends CON POST
// /ps/{topic}?qos=1 and waits for the 2.04 in the piggybacked ACK, a window
// of -inflight requests outstanding (1 unless set, NSTART of RFC 7252
// 4.7), resending one unanswered for -sn-retry with the same MID. An
// observer registers GET /ps/{filter}?qos=N with Observe, counts its
// notifications and acknowledges CON ones. One goroutine, its reader,
// receives and runs the retransmission timer.
type coapClient struct {
	clientBase
	r        *run
	conn     *net.UDPConn
	path     message.Options // Uri-Path and Uri-Query of the publishes
	mid      uint16          // the registration's and the publisher's MIDs
	pingMID  uint16          // the ping goroutine's
	reg      chan codes.Code // the registration's response code
	done     chan struct{}
	failErr  error
	readerWG sync.WaitGroup

	mu      sync.Mutex
	pending map[uint16]*coapOut // CON publishes by MID
	spare   []*coapOut
	token   uint32
}

// coapOut is a CON publish sent and not yet answered, kept encoded for
// retransmission.
type coapOut struct {
	msg     []byte
	sent    time.Time
	retries int
}

func connectCoAP(ctx context.Context, r *run, spec *clientSpec) (*coapClient, error) {
	raddr, err := net.ResolveUDPAddr("udp", r.o.CoAPAddr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, err
	}
	conn.SetReadBuffer(snSocketBuffer)
	c := &coapClient{r: r, conn: conn, reg: make(chan codes.Code, 1), done: make(chan struct{}),
		pending:    map[uint16]*coapOut{},
		clientBase: clientBase{spec: spec, window: r.snWindow, acked: make(chan struct{}, 1)}}
	qid := message.Option{ID: message.URIQuery, Value: []byte("clientid=" + spec.id)}
	qos := message.Option{ID: message.URIQuery, Value: []byte("qos=" + strconv.Itoa(r.o.QoS))}
	if spec.topic != "" {
		c.path = append(pathOptions(spec.topic), qos, qid)
	}
	c.readerWG.Add(1)
	go c.readLoop(max(snMinReadBuf, r.o.Size+64))
	if spec.filter != "" {
		opts := append(message.Options{{ID: message.Observe}}, pathOptions(spec.filter)...)
		opts = append(opts, qos, qid)
		b, err := encodeCoAP(message.Confirmable, codes.GET, c.nextMID(), registrationToken, opts, nil)
		if err == nil {
			err = c.registerRetrying(ctx, b)
		}
		if err != nil {
			c.close()
			return nil, err
		}
		c.readerWG.Add(1)
		go c.pingLoop()
	}
	return c, nil
}

// pingLoop keeps an observer that only receives alive at the gateway: an
// empty CON (a CoAP ping) every 30 seconds, within the default heartbeat
// window of 2 minutes.
func (c *coapClient) pingLoop() {
	defer c.readerWG.Done()
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			b, _ := encodeCoAP(message.Confirmable, codes.Empty, c.nextPingMID(), nil, nil, nil)
			c.conn.Write(b)
		}
	}
}

// registerRetrying sends the Observe registration until its answer comes,
// every -sn-retry, as a datagram may be lost.
func (c *coapClient) registerRetrying(ctx context.Context, b []byte) error {
	t := time.NewTicker(c.r.o.SNRetry)
	defer t.Stop()
	for {
		if _, err := c.conn.Write(b); err != nil {
			return err
		}
		select {
		case code := <-c.reg:
			if code != codes.Content {
				return fmt.Errorf("observe %q refused: %v", c.spec.filter, code)
			}
			return nil
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.failErr
		}
	}
}

// pathOptions maps a topic or filter to Uri-Path options after "ps", each
// level percent-encoded where the gateway would read it otherwise.
func pathOptions(topic string) message.Options {
	o := message.Options{{ID: message.URIPath, Value: []byte("ps")}}
	for _, level := range strings.Split(topic, "/") {
		level = strings.ReplaceAll(level, "%", "%25")
		o = append(o, message.Option{ID: message.URIPath, Value: []byte(level)})
	}
	return o
}

func encodeCoAP(typ message.Type, code codes.Code, mid uint16, token []byte, opts message.Options, payload []byte) ([]byte, error) {
	m := message.Message{Type: typ, Code: code, MessageID: int32(mid), Token: token, Options: opts, Payload: payload}
	n, err := coder.DefaultCoder.Size(m)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err = coder.DefaultCoder.Encode(m, b)
	return b, err
}

// nextPingMID is from the upper half of the MID space, so the ping
// goroutine never shares a MID counter with the registration.
func (c *coapClient) nextPingMID() uint16 {
	c.pingMID++
	return 0x8000 | c.pingMID&0x7fff
}

// nextMID is from the lower half of the MID space, never 0.
func (c *coapClient) nextMID() uint16 {
	if c.mid++; c.mid&0x7fff == 0 {
		c.mid++
	}
	return c.mid & 0x7fff
}

// registrationToken is the Observe registration's token; a publish's token
// is four bytes, so the two never meet.
var registrationToken = []byte{1}

// readLoop reads one message per datagram into a reused buffer. Its read
// deadline doubles as the retransmission timer; under a steady stream,
// where the deadline never passes, the timer runs by clock.
func (c *coapClient) readLoop(size int) {
	defer c.readerWG.Done()
	buf := make([]byte, size)
	m := message.Message{Options: make(message.Options, 0, 16)}
	tick := c.r.o.SNRetry / 4
	next := time.Now().Add(tick)
	c.conn.SetReadDeadline(next)
	for {
		n, err := c.conn.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if err = c.timers(time.Now()); err == nil {
				next = time.Now().Add(tick)
				c.conn.SetReadDeadline(next)
				continue
			}
		}
		if err != nil {
			if !c.closing.Load() {
				c.fail(err)
			}
			return
		}
		m.Options = m.Options[:0]
		if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil {
			c.fail(fmt.Errorf("undecodable datagram from the gateway: %w", err))
			return
		}
		switch {
		case m.Type == message.Acknowledgement && m.Code != codes.Empty && bytes.Equal(m.Token, registrationToken):
			select {
			case c.reg <- m.Code:
			default:
			}
		case m.Type == message.Acknowledgement && m.Code != codes.Empty:
			if err := c.answered(uint16(m.MessageID), m.Code); err != nil {
				c.fail(err)
				return
			}
		case m.Code == codes.Content:
			if m.Type == message.Confirmable {
				ack, _ := encodeCoAP(message.Acknowledgement, codes.Empty, uint16(m.MessageID), nil, nil, nil)
				c.conn.Write(ack)
			}
			c.r.st.delivered(m.Payload)
		}
		if t := time.Now(); t.After(next) {
			if err := c.timers(t); err != nil {
				c.fail(err)
				return
			}
			next = t.Add(tick)
			c.conn.SetReadDeadline(next)
		}
	}
}

// answered settles the CON publish with mid: 2.04 acknowledges it, any
// other code is the run's error.
func (c *coapClient) answered(mid uint16, code codes.Code) error {
	c.mu.Lock()
	m := c.pending[mid]
	if m != nil {
		delete(c.pending, mid)
		c.spare = append(c.spare, m)
	}
	c.mu.Unlock()
	if m == nil {
		return nil // a duplicate answer to a retransmission
	}
	if code != codes.Changed {
		return fmt.Errorf("publish to %q answered %v", c.spec.topic, code)
	}
	c.r.st.acked.Add(1)
	c.acknowledged()
	return nil
}

// timers resends a CON publish unanswered for -sn-retry with its MID, so
// the gateway answers it from its duplicate cache if the first arrived.
func (c *coapClient) timers(t time.Time) error {
	o := c.r.o
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.pending {
		if t.Sub(m.sent) < o.SNRetry {
			continue
		}
		if m.retries++; m.retries > snMaxRetries {
			return fmt.Errorf("no answer after %d retransmissions", snMaxRetries)
		}
		m.sent = t
		c.r.st.retransmits.Add(1)
		if _, err := c.conn.Write(m.msg); err != nil {
			return err
		}
	}
	return nil
}

// track keeps an encoded CON publish until it is answered.
func (c *coapClient) track(mid uint16, msg []byte) {
	c.mu.Lock()
	var m *coapOut
	if n := len(c.spare); n > 0 {
		m, c.spare = c.spare[n-1], c.spare[:n-1]
	} else {
		m = &coapOut{}
	}
	m.msg = append(m.msg[:0], msg...)
	m.sent, m.retries = time.Now(), 0
	c.pending[mid] = m
	c.mu.Unlock()
}

// publishLoop publishes as run.publishLoop describes: NON at QoS 0, CON
// held by the window at QoS 1.
func (c *coapClient) publishLoop(stop <-chan struct{}, rate float64) {
	r := c.r
	confirmable := r.o.QoS > 0
	payload := make([]byte, r.o.Size)
	var id uint16
	token := make([]byte, 4)
	r.publishLoop(stop, c.done, c.acked, rate, func(want int64) (sent int64, blocked int, ok bool) {
		for sent < want {
			if blocked = c.admit(r, confirmable, rate, &id); blocked != blockedNot {
				break
			}
			stamp(payload)
			typ, mid, tok := message.NonConfirmable, c.nextMID(), []byte(nil)
			if confirmable {
				c.token++
				binary.BigEndian.PutUint32(token, c.token)
				typ, tok = message.Confirmable, token
			}
			b, err := encodeCoAP(typ, codes.POST, mid, tok, c.path, payload)
			if err == nil {
				if confirmable {
					c.track(mid, b)
					c.inflight.Add(1)
				}
				_, err = c.conn.Write(b)
			}
			if err != nil {
				c.fail(err)
				return sent, blocked, false
			}
			sent++
			r.st.expected.Add(c.spec.fan)
		}
		return sent, blocked, true
	})
}

func (c *coapClient) fail(err error) {
	if c.closing.Swap(true) {
		return
	}
	c.failErr = err
	c.r.st.errors.Add(1)
	c.r.noteError(c.spec.id, err)
	close(c.done)
	c.conn.Close()
}

func (c *coapClient) close() {
	if c.closing.Swap(true) {
		c.readerWG.Wait()
		return
	}
	close(c.done)
	c.conn.Close()
	c.readerWG.Wait()
}

var errCoAPQoS = errors.New("CoAP clients in the bench publish and observe at QoS 0 or 1 (-q 0 or 1)")
