package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stompClient is one STOMP 1.2 client over TCP. A publisher SENDs to its
// topic as the destination (with a receipt, which is its acknowledgement,
// at QoS 1 and 2); a subscriber SUBSCRIBEs to its filter with ack mode
// auto at QoS 0 and client-individual otherwise, and ACKs each MESSAGE.
// Its reader goroutine reads the server's frames; writes are serialized
// by mu.
type stompClient struct {
	clientBase
	r    *run
	conn net.Conn
	br   *bufio.Reader

	mu   sync.Mutex
	wbuf []byte

	ready    chan error // CONNECTED and the SUBSCRIBE's RECEIPT, during setup
	done     chan struct{}
	once     sync.Once
	readerWG sync.WaitGroup
}

// connectSTOMP dials the STOMP gateway, CONNECTs and, for a subscriber,
// SUBSCRIBEs, and returns once the gateway confirmed both.
func connectSTOMP(ctx context.Context, r *run, spec *clientSpec) (*stompClient, error) {
	o := r.o
	d := net.Dialer{Timeout: o.ConnectTimeout}
	conn, err := d.DialContext(ctx, "tcp", o.StompAddr)
	if err != nil {
		return nil, err
	}
	c := &stompClient{r: r, conn: conn, br: bufio.NewReaderSize(conn, readBufInitial),
		ready: make(chan error, 2), done: make(chan struct{}),
		clientBase: clientBase{spec: spec, window: int32(o.Inflight), acked: make(chan struct{}, 1)}}
	c.readerWG.Add(1)
	go c.readLoop()
	h := "CONNECT\naccept-version:1.2\nhost:mqgate\nheart-beat:0,0\nclient-id:" + spec.id + "\n"
	if o.Username != "" {
		h += "login:" + o.Username + "\npasscode:" + o.Password + "\n"
	}
	if err := c.write([]byte(h + "\n\x00")); err != nil {
		c.close()
		return nil, err
	}
	if err := c.await(ctx, "CONNECTED"); err != nil {
		c.close()
		return nil, err
	}
	if spec.filter != "" {
		ack := "auto"
		if o.QoS > 0 {
			ack = "client-individual"
		}
		f := "SUBSCRIBE\nid:1\ndestination:" + spec.filter + "\nack:" + ack + "\nreceipt:sub\n\n\x00"
		if err := c.write([]byte(f)); err != nil {
			c.close()
			return nil, err
		}
		if err := c.await(ctx, "RECEIPT of SUBSCRIBE"); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

func (c *stompClient) await(ctx context.Context, what string) error {
	t := time.NewTimer(c.r.o.ConnectTimeout)
	defer t.Stop()
	select {
	case err := <-c.ready:
		return err
	case <-c.done:
		return fmt.Errorf("connection closed waiting for %s", what)
	case <-t.C:
		return fmt.Errorf("no %s within %v", what, c.r.o.ConnectTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *stompClient) write(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.conn.Write(b)
	return err
}

// readLoop reads the server's frames until the connection ends.
func (c *stompClient) readLoop() {
	defer c.readerWG.Done()
	var ack []byte
	for {
		cmd, hdr, body, err := readServerFrame(c.br)
		if err != nil {
			c.fail(err)
			return
		}
		switch cmd {
		case "":
			// A heart-beat.
		case "CONNECTED":
			c.ready <- nil
		case "RECEIPT":
			if hdr["receipt-id"] == "sub" {
				c.ready <- nil
			} else {
				c.acknowledged()
				c.r.st.acked.Add(1)
			}
		case "MESSAGE":
			c.r.st.delivered(body)
			if id, ok := hdr["ack"]; ok {
				ack = append(append(append(ack[:0], "ACK\nid:"...), id...), "\n\n\x00"...)
				if err := c.write(ack); err != nil {
					c.fail(err)
					return
				}
			}
		case "ERROR":
			c.fail(fmt.Errorf("ERROR frame: %s", hdr["message"]))
			return
		default:
			c.fail(fmt.Errorf("unexpected %s frame", cmd))
			return
		}
	}
}

// readServerFrame reads one frame; a lone EOL is a heart-beat (cmd "").
// Headers are read as the server writes them (first wins, escapes kept).
func readServerFrame(br *bufio.Reader) (cmd string, hdr map[string]string, body []byte, err error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", nil, nil, err
	}
	cmd = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if cmd == "" {
		return "", nil, nil, nil
	}
	hdr = map[string]string{}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", nil, nil, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			break
		}
		k, v, _ := strings.Cut(line, ":")
		if _, ok := hdr[k]; !ok {
			hdr[k] = v
		}
	}
	if cl, ok := hdr["content-length"]; ok {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > 256<<20 {
			return "", nil, nil, fmt.Errorf("bad content-length %q", cl)
		}
		body = make([]byte, n+1)
		if _, err := io.ReadFull(br, body); err != nil {
			return "", nil, nil, err
		}
		if body[n] != 0 {
			return "", nil, nil, errors.New("frame does not end with NUL")
		}
		return cmd, hdr, body[:n], nil
	}
	b, err := br.ReadBytes(0)
	if err != nil {
		return "", nil, nil, err
	}
	return cmd, hdr, b[:len(b)-1], nil
}

// publishLoop publishes as run.publishLoop describes: a batch of SEND
// frames per write, held by the inflight window at QoS 1 and 2, where
// each SEND asks for a receipt.
func (c *stompClient) publishLoop(stop <-chan struct{}, rate float64) {
	r := c.r
	o := r.o
	qos := max(o.QoS, 0)
	head := "SEND\ndestination:" + c.spec.topic + "\nqos:" + strconv.Itoa(qos) + "\ncontent-length:" + strconv.Itoa(o.Size) + "\n"
	if qos > 0 {
		head += "receipt:p\n"
	}
	head += "\n"
	payload := make([]byte, o.Size)
	var id uint16
	var buf []byte
	r.publishLoop(stop, c.done, c.acked, rate, func(want int64) (sent int64, blocked int, ok bool) {
		buf = buf[:0]
		for sent < want {
			if blocked = c.admit(r, qos > 0, rate, &id); blocked != blockedNot {
				break
			}
			stamp(payload)
			buf = append(append(append(buf, head...), payload...), 0)
			if qos > 0 {
				c.inflight.Add(1)
			}
			sent++
			r.st.expected.Add(c.spec.fan)
		}
		if len(buf) > 0 {
			if err := c.write(buf); err != nil {
				c.fail(err)
				return sent, blocked, false
			}
		}
		return sent, blocked, true
	})
}

// fail records an error unless the bench is closing the client, and
// closes the connection.
func (c *stompClient) fail(err error) {
	if c.closing.Swap(true) {
		return
	}
	c.r.st.errors.Add(1)
	c.r.noteError(c.spec.id, err)
	c.once.Do(func() { close(c.done) })
	c.conn.Close()
}

// close sends DISCONNECT and closes the connection.
func (c *stompClient) close() {
	if !c.closing.Swap(true) {
		c.write([]byte("DISCONNECT\n\n\x00"))
		c.once.Do(func() { close(c.done) })
		c.conn.Close()
	}
	c.readerWG.Wait()
}
