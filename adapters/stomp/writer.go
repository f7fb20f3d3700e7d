package stomp

import (
	"strconv"
	"time"

	"github.com/mqgate/mqgate/adapters/stomp/frame"
	"github.com/mqgate/mqgate/core"
)

// pullBatch is how many deliveries one Pull takes.
const pullBatch = 64

// writeLoop is the connection's writer: it writes the frames the reader
// queued, then deliveries from the core as MESSAGE frames, and a
// heart-beat EOL when nothing else was written for the negotiated
// interval. After an ERROR or a DISCONNECT's RECEIPT it writes nothing
// more and ends the connection's reads.
func (c *conn) writeLoop() {
	defer close(c.done)
	var (
		buf  []byte
		ends []int // where each frame in buf ends
		ds   []core.Delivery
		hb   *time.Timer
		hbC  <-chan time.Time
		beat bool
	)
	if c.hbOut > 0 {
		hb = time.NewTimer(c.hbOut)
		defer hb.Stop()
		hbC = hb.C
	}
	stopped := false
	for {
		select {
		case <-c.wake:
		case <-hbC:
			beat = true
		case <-c.stop:
			stopped = true
		}
		for more := true; more; {
			more = false
			c.mu.Lock()
			buf = append(buf[:0], c.out...)
			ends = append(ends[:0], c.outEnds...)
			c.out, c.outEnds = c.out[:0], c.outEnds[:0]
			closing := c.closing
			c.mu.Unlock()
			if !closing && !stopped {
				ds = c.client.Pull(ds[:0], pullBatch)
				for i := range ds {
					buf = c.appendMessage(buf, &ds[i])
					ends = append(ends, len(buf))
				}
				more = len(ds) == pullBatch
				clear(ds)
			}
			if len(buf) == 0 && beat {
				buf = append(buf, '\n')
				ends = append(ends, len(buf))
			}
			beat = false
			if len(buf) > 0 {
				c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
				if err := c.writeFrames(buf, ends); err != nil {
					c.shutdown()
					<-c.stop
					return
				}
				if hb != nil {
					hb.Reset(c.hbOut)
				}
			}
			if closing || stopped {
				c.shutdown()
				<-c.stop
				return
			}
		}
		if cap(buf) > 64<<10 {
			buf = nil
		}
	}
}

// appendMessage appends d as a MESSAGE frame [STOMP 1.2 MESSAGE] and
// records it for ACK when its subscription wants one.
func (c *conn) appendMessage(b []byte, d *core.Delivery) []byte {
	m := d.Msg
	if m == nil {
		return b // held: only QoS 2 deliveries are, and STOMP asks for none
	}
	mode := ackAuto
	if len(d.SubIDs) > 0 {
		mode = d.SubIDs[0]
	}
	c.mu.Lock()
	c.seq++
	seq := c.seq
	if mode != ackAuto && d.Tag != 0 {
		c.pending = append(c.pending, pend{seq: seq, tag: d.Tag, sub: d.Key, mode: mode})
	}
	c.mu.Unlock()
	v := c.version
	var num [20]byte
	id := string(strconv.AppendUint(num[:0], seq, 10))
	b = frame.AppendCommand(b, frame.MESSAGE)
	b = frame.AppendHeader(b, v, false, "destination", destFor(c.srv.cfg.Destinations, d.Topic))
	b = frame.AppendHeader(b, v, false, "message-id", id)
	b = frame.AppendHeader(b, v, false, "subscription", d.Key)
	if v >= frame.V12 && mode != ackAuto {
		b = frame.AppendHeader(b, v, false, "ack", id)
	}
	if m.ContentType != "" {
		b = frame.AppendHeader(b, v, false, "content-type", m.ContentType)
	}
	if d.Redelivered > 0 {
		b = frame.AppendHeader(b, v, false, "redelivered", "true")
	}
	for _, u := range m.UserProperties {
		if reserved[u.Key] || u.Key == "" {
			continue
		}
		b = frame.AppendHeader(b, v, false, u.Key, u.Value)
	}
	return frame.AppendBody(b, m.Payload, false)
}

// writeFrames writes buf, whose frames end at ends: in one write on a
// stream, one message per frame on a WebSocket (what STOMP over
// WebSocket clients expect).
func (c *conn) writeFrames(buf []byte, ends []int) error {
	if !c.ws {
		_, err := c.nc.Write(buf)
		return err
	}
	start := 0
	for _, end := range ends {
		if _, err := c.nc.Write(buf[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}
