package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// coapClient is one CoAP client on its own UDP socket, for QoS 0: a
// publisher sends NON POST /ps/{topic}?qos=0, an observer registers GET
// /ps/{filter}?qos=0 with Observe and counts its NON notifications. One
// goroutine, its reader, receives.
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
		clientBase: clientBase{spec: spec, window: 1, acked: make(chan struct{}, 1)}}
	qid := message.Option{ID: message.URIQuery, Value: []byte("clientid=" + spec.id)}
	if spec.topic != "" {
		c.path = append(pathOptions(spec.topic), message.Option{ID: message.URIQuery, Value: []byte("qos=0")}, qid)
	}
	c.readerWG.Add(1)
	go c.readLoop(max(snMinReadBuf, r.o.Size+64))
	if spec.filter != "" {
		opts := append(message.Options{{ID: message.Observe}}, pathOptions(spec.filter)...)
		opts = append(opts, message.Option{ID: message.URIQuery, Value: []byte("qos=0")}, qid)
		b, err := encodeCoAP(message.Confirmable, codes.GET, c.nextMID(), []byte{1}, opts, nil)
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

func (c *coapClient) nextMID() uint16 {
	c.mid++
	return c.mid
}

func (c *coapClient) readLoop(size int) {
	defer c.readerWG.Done()
	buf := make([]byte, size)
	m := message.Message{Options: make(message.Options, 0, 16)}
	for {
		n, err := c.conn.Read(buf)
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
		case m.Type == message.Acknowledgement && m.Code != codes.Empty:
			select {
			case c.reg <- m.Code:
			default:
			}
		case m.Code == codes.Content:
			if m.Type == message.Confirmable {
				ack, _ := encodeCoAP(message.Acknowledgement, codes.Empty, uint16(m.MessageID), nil, nil, nil)
				c.conn.Write(ack)
			}
			c.r.st.delivered(m.Payload)
		}
	}
}

// publishLoop publishes NON messages as run.publishLoop describes.
func (c *coapClient) publishLoop(stop <-chan struct{}, rate float64) {
	r := c.r
	payload := make([]byte, r.o.Size)
	var id uint16
	r.publishLoop(stop, c.done, c.acked, rate, func(want int64) (sent int64, blocked int, ok bool) {
		for sent < want {
			if blocked = c.admit(r, false, rate, &id); blocked != blockedNot {
				break
			}
			stamp(payload)
			b, err := encodeCoAP(message.NonConfirmable, codes.POST, c.nextMID(), nil, c.path, payload)
			if err == nil {
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

var errCoAPQoS = errors.New("CoAP clients in the bench publish and observe at QoS 0 only (-q 0)")
