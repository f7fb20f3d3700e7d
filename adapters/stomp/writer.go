package stomp

import (
	"strconv"
	"sync"
	"time"

	"github.com/mqgate/mqgate/adapters/stomp/frame"
	"github.com/mqgate/mqgate/core"
)

// pullBatch is how many deliveries one Pull takes.
const pullBatch = 64

// The writer runs on demand, like MQTT's: Notify starts one on a worker
// when there is something to write (queued frames, deliveries, a
// heart-beat due), and it ends when it has written everything, so an idle
// connection holds no writer goroutine and no write buffer. One writer
// runs at a time (running); wmu is held for its whole run, so finish,
// which takes wmu, knows no writer runs or will write after it.

// writeBufs holds write buffers between runs.
var writeBufs = sync.Pool{New: func() any { return new(writeBuf) }}

type writeBuf struct {
	b    []byte
	ends []int // where each frame in b ends
	ds   []core.Delivery
	rel  []core.Delivery // held deliveries released
}

// Notify implements core.Conn: deliveries wait.
func (c *conn) Notify() {
	c.wakeup.Store(true)
	if c.ready.Load() && c.running.CompareAndSwap(false, true) {
		c.tc.Go(c.writeFn)
	}
}

// beat is the heart-beat timer's firing: a beat is due unless something
// is written first.
func (c *conn) beat() {
	c.beatDue.Store(true)
	c.Notify()
}

// writeRun writes what waits, then ends; a wake-up that came meanwhile
// starts another round. After an ERROR or a DISCONNECT's RECEIPT it
// writes nothing more and ends the connection's reads.
func (c *conn) writeRun() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for {
		if c.final.Load() {
			c.running.Store(false)
			return // finish writes what is left
		}
		c.wakeup.Store(false)
		closing, err := c.writeAll()
		if err != nil || closing {
			c.shutdown()
			return // running stays set: no writer starts again
		}
		c.running.Store(false)
		if !c.wakeup.Load() || !c.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// writeAll writes the queued frames, then deliveries while there are
// any, or a heart-beat if it is due and nothing else went out.
func (c *conn) writeAll() (closing bool, err error) {
	w := writeBufs.Get().(*writeBuf)
	defer func() {
		if cap(w.b) > 64<<10 {
			w.b = nil
		}
		clear(w.ds)
		writeBufs.Put(w)
	}()
	wrote := false
	for more := true; more; {
		more = false
		c.mu.Lock()
		w.b = append(w.b[:0], c.out...)
		w.ends = append(w.ends[:0], c.outEnds...)
		c.out, c.outEnds = c.out[:0], c.outEnds[:0]
		closing = c.closing
		c.mu.Unlock()
		if !closing {
			w.rel = c.release(w.rel[:0])
			for i := range w.rel {
				w.b = c.appendMessage(w.b, &w.rel[i])
				w.ends = append(w.ends, len(w.b))
			}
			clear(w.rel)
			w.ds = c.client.Pull(w.ds[:0], pullBatch)
			for i := range w.ds {
				if c.hold(&w.ds[i]) {
					continue
				}
				w.b = c.appendMessage(w.b, &w.ds[i])
				w.ends = append(w.ends, len(w.b))
			}
			more = len(w.ds) == pullBatch
		}
		if len(w.b) == 0 {
			break
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
		if err := c.writeFrames(w.b, w.ends); err != nil {
			return closing, err
		}
		wrote = true
	}
	if !wrote && c.beatDue.Load() && !closing {
		c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
		n, err := c.nc.Write([]byte{'\n'})
		c.srv.bytes.Sent(n)
		if err != nil {
			return closing, err
		}
		wrote = true
	}
	if wrote {
		c.beatDue.Store(false)
		if c.hbTimer != nil {
			c.hbTimer.Reset(c.hbOut)
		}
	}
	return closing, nil
}

// hold keeps d back when its subscription has prefetch-count MESSAGEs
// awaiting ACK (or older ones held), and reports whether it did. Held
// deliveries are inflight in the core, so the session's window bounds
// them.
func (c *conn) hold(d *core.Delivery) bool {
	if d.Msg == nil || d.Tag == 0 || len(d.SubIDs) == 0 || d.SubIDs[0] == ackAuto {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := c.prefetch[d.Key]
	if limit == 0 {
		return false
	}
	if len(c.held[d.Key]) == 0 && c.outstandingLocked(d.Key) < limit {
		return false
	}
	if c.held == nil {
		c.held = map[string][]core.Delivery{}
	}
	c.held[d.Key] = append(c.held[d.Key], *d)
	return true
}

// release appends to out the held deliveries that now have room, oldest
// first, and forgets them.
func (c *conn) release(out []core.Delivery) []core.Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, ds := range c.held {
		n := min(c.prefetch[key]-c.outstandingLocked(key), len(ds))
		if n <= 0 {
			continue
		}
		out = append(out, ds[:n]...)
		if n == len(ds) {
			delete(c.held, key)
		} else {
			c.held[key] = ds[n:]
		}
	}
	return out
}

// outstandingLocked counts the MESSAGEs of subscription key awaiting ACK.
func (c *conn) outstandingLocked(key string) int {
	n := 0
	for i := range c.pending {
		if c.pending[i].sub == key {
			n++
		}
	}
	return n
}

// writeFrames writes buf, whose frames end at ends: in one write on a
// stream, one message per frame on a WebSocket (what STOMP over
// WebSocket clients expect).
func (c *conn) writeFrames(buf []byte, ends []int) error {
	if !c.ws {
		n, err := c.nc.Write(buf)
		c.srv.bytes.Sent(n)
		return err
	}
	start := 0
	for _, end := range ends {
		n, err := c.nc.Write(buf[start:end])
		c.srv.bytes.Sent(n)
		if err != nil {
			return err
		}
		start = end
	}
	return nil
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
