package coap

import (
	"math/rand/v2"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"

	"github.com/mqgate/mqgate/core"
)

// service handles a kick or sends the notifications the core has for c.
// Called with c.mu held.
func (c *client) service(now time.Time) {
	if c.gone {
		return
	}
	if k := c.kicked.Load(); k != 0 {
		c.g.endLocked(c, core.DisconnectWithWill, core.Code(k-1).String())
		return
	}
	c.pull = c.cc.Pull(c.pull[:0], 32)
	for i := range c.pull {
		c.notify(&c.pull[i], now)
		c.pull[i] = core.Delivery{}
	}
}

// notify sends one delivery as a notification of its observation: CON for
// QoS 1 and 2 with one in flight, NON for QoS 0 [RFC7641 4.2].
func (c *client) notify(d *core.Delivery, now time.Time) {
	o := c.obs[d.Key]
	if o == nil || d.Msg == nil {
		// The observation was cancelled after the message was queued.
		if d.Tag != 0 {
			delete(c.pending, d.Tag)
			c.cc.Settle(d.Tag, core.Rejected)
		}
		return
	}
	typ := byte(typeNON)
	var mid uint16
	var seq uint32
	if d.Tag != 0 {
		typ = typeCON
		if p := c.pending[d.Tag]; p != nil && d.Redelivered > 0 {
			// A retransmission: the same message, same MID and Observe
			// value [RFC7252 4.2].
			mid, seq = p.mid, p.seq
			p.attempts++
			p.timeout *= 2
			p.deadline = now.Add(p.timeout)
			c.g.stats.Retransmits.Add(1)
		} else {
			o.seq = nextSeq(o.seq)
			mid, seq = c.mid(), o.seq
			timeout := c.g.ackTimeout()
			if c.pending == nil {
				c.pending = map[uint16]*pendingCON{}
			}
			c.pending[d.Tag] = &pendingCON{mid: mid, key: o.key, seq: seq, timeout: timeout, deadline: now.Add(timeout)}
		}
	} else {
		o.seq = nextSeq(o.seq)
		mid, seq = c.mid(), o.seq
		c.recent[c.recentPos] = recentNote{mid: mid, key: o.key}
		c.recentPos = (c.recentPos + 1) % len(c.recent)
	}
	opts := message.Options{{ID: message.Observe, Value: uintBytes(seq)}}
	payload := d.Msg.Payload
	if len(payload) > 16<<c.g.blockSZX() {
		// [RFC7959 3.4] the first block; the client reads the others with
		// GET and Block2 on the observed path.
		rp := c.g.block(d.Msg, nil, true)
		opts = append(opts, rp.opts...)
		payload = rp.payload
		o.large = d.Msg
	} else if cf, ok := contentFormatOf(d.Msg); ok {
		opts = append(opts, message.Option{ID: message.ContentFormat, Value: uintBytes(cf)})
	}
	b, err := c.g.encode(c.buf, typ, codeContent, mid, o.token, opts, payload)
	if err != nil || len(b) > c.g.cfg.MaxMessageSize {
		// Too large for one datagram even so: dropped and counted.
		c.g.log.Debug("coap notification too large", "client", c.id, "bytes", len(d.Msg.Payload))
		// Rejected, so the core counts it dropped (tag 0 too) and takes
		// its bytes out of the sent counts.
		delete(c.pending, d.Tag)
		c.cc.Reject(d)
		return
	}
	c.buf = b
	c.peer.write(b)
}

// nextSeq is the Observe value after s: 24 bits, wrapping [RFC7641 3.4];
// a client compares them modulo 2^24, so the wrap is still "newer".
func nextSeq(s uint32) uint32 { return (s + 1) & 0xffffff }

// ackTimeout is ACK_TIMEOUT scaled by a random factor between 1 and
// ACK_RANDOM_FACTOR 1.5 [RFC7252 4.8].
func (g *Gateway) ackTimeout() time.Duration {
	t := g.cfg.AckTimeout
	return t + time.Duration(rand.Int64N(int64(t/2)+1))
}

// timers retransmits c's CON notification when its timeout passed, gives
// up on it after MaxRetransmit, and ends c after a silent heartbeat
// window. Called with c.mu held.
func (c *client) timers(now time.Time) {
	if c.gone {
		return
	}
	if now.Sub(c.lastSeen) > c.g.cfg.Heartbeat {
		c.g.stats.HeartbeatLost.Add(1)
		c.g.endLocked(c, core.DisconnectWithWill, "heartbeat timeout")
		return
	}
	if c.xfer != nil && now.Sub(c.xfer.touched) > blockTimeout {
		c.xfer = nil // abandoned
	}
	due := false
	for tag, p := range c.pending {
		if now.Before(p.deadline) {
			continue
		}
		if p.attempts >= c.g.cfg.MaxRetransmit {
			// [RFC7641 4.5] a notification never acknowledged ends its
			// observation.
			delete(c.pending, tag)
			c.cc.Settle(tag, core.Rejected)
			c.cancel(p.key)
			c.g.stats.ObserveLost.Add(1)
			continue
		}
		due = true
	}
	if due {
		c.cc.Redeliver(now)
		c.service(now)
	}
}

// ack settles the CON notification with mid; reset also cancels its
// observation, as an RST to a NON notification does [RFC7641 3.6].
func (c *client) ack(mid uint16, reset bool) {
	for tag, p := range c.pending {
		if p.mid != mid {
			continue
		}
		delete(c.pending, tag)
		if reset {
			c.cc.Settle(tag, core.Rejected)
			c.cancel(p.key)
			c.g.stats.ObserveLost.Add(1)
		} else {
			c.cc.Settle(tag, core.Accepted)
			c.verified = true
		}
		return
	}
	if !reset {
		return
	}
	for i := range c.recent {
		if n := &c.recent[i]; n.key != "" && n.mid == mid {
			c.cancel(n.key)
			n.key = ""
			c.g.stats.ObserveLost.Add(1)
			return
		}
	}
}

// cancel ends the observation with key.
func (c *client) cancel(key string) {
	if c.obs[key] == nil {
		return
	}
	delete(c.obs, key)
	c.cc.UnsubscribeKey(key)
}
