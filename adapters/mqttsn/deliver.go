package mqttsn

import (
	"time"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
)

// pullBatch is how many queued messages one Pull takes.
const pullBatch = 32

// service runs on the service goroutine when the client was notified.
// c.mu is held.
func (c *client) service(now time.Time) {
	if k := c.kicked.Load(); k != 0 && c.state != stateGone {
		if core.Code(k-1) == core.ServerShuttingDown && (c.state == stateActive || c.state == stateAwake) {
			c.sendPacket(&packet.Packet{Type: packet.DISCONNECT})
		}
		c.g.endLocked(c, core.DisconnectWithWill, "kicked by the core")
		return
	}
	switch c.state {
	case stateActive, stateAwake:
		c.deliver(now)
	}
}

// deliver sends what the session has for the client, registering topic
// ids as needed, and answers a waking client's PINGREQ once everything
// was delivered and acknowledged [MQTT-SN 6.14].
func (c *client) deliver(now time.Time) {
	for {
		if len(c.pending) == 0 {
			c.pending = c.core.Pull(c.pending[:0], pullBatch)
			if len(c.pending) == 0 {
				break
			}
		}
		n := 0
		for n < len(c.pending) && c.sendDelivery(&c.pending[n], now) {
			c.pending[n] = core.Delivery{}
			n++
		}
		rest := copy(c.pending, c.pending[n:])
		clear(c.pending[rest:])
		c.pending = c.pending[:rest]
		if rest > 0 {
			break // waiting for a REGACK
		}
	}
	if len(c.pending) == 0 && cap(c.pending) > 4*pullBatch {
		c.pending = nil
	}
	if c.state == stateAwake && c.wakePing && len(c.pending) == 0 && len(c.inflight) == 0 && c.regOut == nil {
		c.sendPacket(&packet.Packet{Type: packet.PINGRESP})
		c.state = stateAsleep
		c.wakePing = false
		c.core.SetQueueLimit(c.g.cfg.MaxSleepQueue)
		c.sleepUntil = now.Add(c.sleepFor * 3 / 2)
	}
}

// topicFor finds how to name topic t to this client without registering.
func (c *client) topicFor(t string) (typ byte, id uint16, ok bool) {
	if pid, ok := c.g.preID[t]; ok {
		return packet.TopicPredefined, pid, true
	}
	if len(t) == 2 {
		return packet.TopicShort, packet.ShortTopic(t), true
	}
	if rid, ok := c.reg.ID(t); ok && (c.regOut == nil || c.regOut.name != t) {
		return packet.TopicNormal, rid, true
	}
	return 0, 0, false
}

// sendDelivery writes one delivery; false means it waits for a topic
// registration.
func (c *client) sendDelivery(d *core.Delivery, now time.Time) bool {
	if d.Held {
		c.sendPacket(&packet.Packet{Type: packet.PUBREL, MsgID: d.Tag})
		c.track(&outMsg{typ: packet.PUBREL, qos: 2, msgID: d.Tag, data: append([]byte(nil), c.buf...), deadline: now.Add(c.g.cfg.RetryInterval)})
		return true
	}
	typ, id, ok := c.topicFor(d.Topic)
	if !ok {
		c.register(d, now)
		return false
	}
	p := packet.Packet{
		Type: packet.PUBLISH, Dup: d.Redelivered > 0, QoS: int8(d.QoS), Retain: d.Retain,
		TopicIDType: typ, TopicID: id, MsgID: d.Tag, Data: d.Msg.Payload,
	}
	if n, err := packet.Size(&p); err != nil || n > c.g.cfg.MaxMessageSize {
		c.core.Settle(d.Tag, core.Rejected)
		return true
	}
	c.sendPacket(&p)
	if d.QoS > 0 {
		c.track(&outMsg{typ: packet.PUBLISH, qos: d.QoS, msgID: d.Tag, data: append([]byte(nil), c.buf...), deadline: now.Add(c.g.cfg.RetryInterval)})
	}
	return true
}

func (c *client) track(om *outMsg) {
	if c.inflight == nil {
		c.inflight = make(map[uint16]*outMsg)
	}
	c.inflight[om.msgID] = om
}

// register sends the gateway's REGISTER for d's topic unless one is in
// flight or the client asked for a pause [MQTT-SN 6.10].
func (c *client) register(d *core.Delivery, now time.Time) {
	if c.regOut != nil || now.Before(c.regBackoff) {
		return
	}
	id, ok := c.reg.Add(d.Topic, c.g.cfg.MaxRegisteredTopics)
	if !ok {
		// No id left for this client: the message cannot be named.
		c.dropPendingTopic(d.Topic)
		return
	}
	c.regMsgID++
	if c.regMsgID == 0 {
		c.regMsgID = 1
	}
	c.sendPacket(&packet.Packet{Type: packet.REGISTER, TopicID: id, MsgID: c.regMsgID, TopicName: []byte(d.Topic)})
	c.regOut = &outMsg{typ: packet.REGISTER, msgID: c.regMsgID, data: append([]byte(nil), c.buf...),
		deadline: now.Add(c.g.cfg.RetryInterval), topicID: id, name: d.Topic}
}

// setDup sets the DUP flag of an encoded PUBLISH for its retransmission.
func setDup(b []byte) {
	off := 2
	if b[0] == 0x01 {
		off = 4
	}
	b[off] |= 0x80
}

// timers runs c's keep alive, sleep, will exchange and retransmission
// timers. c.mu is held.
func (c *client) timers(now time.Time) {
	cfg := &c.g.cfg
	switch c.state {
	case stateConnecting:
		if now.Sub(c.connStart) > cfg.RetryInterval*time.Duration(cfg.MaxRetries+1) {
			c.g.endLocked(c, core.DisconnectNormal, "will exchange timed out")
		}
		return
	case stateAsleep:
		if now.After(c.sleepUntil) {
			// [MQTT-SN 6.14] the sleep timer ran out: lost.
			c.lost("sleep timer expired")
		}
		return
	case stateActive, stateAwake:
	default:
		return
	}
	if c.keepAlive > 0 && now.Sub(c.lastSeen) > c.keepAlive*3/2 {
		c.lost("keep alive timeout")
		return
	}
	for _, om := range c.inflight {
		if now.Before(om.deadline) {
			continue
		}
		if !c.retransmit(om, now) {
			return
		}
	}
	if r := c.regOut; r != nil && !now.Before(r.deadline) {
		if !c.retransmit(r, now) {
			return
		}
	}
	if c.regOut == nil && len(c.pending) > 0 && !now.Before(c.regBackoff) {
		c.deliver(now)
	}
}

// retransmit resends om, or ends the client after Nretry attempts
// [MQTT-SN 6.13].
func (c *client) retransmit(om *outMsg, now time.Time) bool {
	om.retries++
	if om.retries > c.g.cfg.MaxRetries {
		c.lost("no acknowledgement after max_retries")
		return false
	}
	if om.typ == packet.PUBLISH {
		setDup(om.data)
	}
	c.g.stats.Retransmits.Add(1)
	c.write(om.data)
	om.deadline = now.Add(c.g.cfg.RetryInterval)
	return true
}
