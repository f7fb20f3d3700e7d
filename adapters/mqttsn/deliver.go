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

// deliver sends what the session has for the client: the deliveries
// Redeliver made due again first, then new ones, registering topic ids as
// needed. It answers a waking client's PINGREQ once everything was
// delivered and acknowledged [MQTT-SN 6.14].
func (c *client) deliver(now time.Time) {
	late := len(c.pending) > 0 // pulled by an earlier call
	for {
		if len(c.pending) == 0 {
			if late {
				c.sentLate(now)
				late = false
			}
			c.pulledAt = now
			c.pending = c.core.Pull(c.pending[:0], pullBatch)
			if !c.pulled {
				c.pulled = true
				c.resumed()
			}
			if len(c.pending) == 0 {
				break
			}
		}
		n := 0
		for n < len(c.pending) && c.sendDelivery(&c.pending[n], now) {
			n++
		}
		if c.state == stateGone {
			return // lost after max_retries
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
	if c.state == stateAwake && c.wakePing && len(c.pending) == 0 && c.regOut == nil && c.core.Unsettled() == 0 {
		c.sendPacket(&packet.Packet{Type: packet.PINGRESP})
		c.state = stateAsleep
		c.wakePing = false
		c.core.SetQueueLimit(c.g.cfg.MaxSleepQueue)
		c.sleepUntil = now.Add(c.sleepFor * 3 / 2)
	}
}

// sentLate records that the deliveries pulled at c.pulledAt went out
// only now, after waiting for a registration: the core stamped them when
// they were pulled, and they are not due again before Tretry from now.
func (c *client) sentLate(now time.Time) {
	if !now.Before(c.lateUntil) {
		c.lateFrom = c.pulledAt
	}
	c.lateUntil = now.Add(c.g.cfg.RetryInterval)
}

// dueBefore is the hand-out time at or before which an unsettled delivery
// is sent again: Tretry ago, but never a delivery still waiting for a
// registration or one that went out late less than Tretry ago.
func (c *client) dueBefore(now time.Time) time.Time {
	t := now.Add(-c.g.cfg.RetryInterval)
	if len(c.pending) > 0 && !t.Before(c.pulledAt) {
		t = c.pulledAt.Add(-1)
	}
	if now.Before(c.lateUntil) && !t.Before(c.lateFrom) {
		t = c.lateFrom.Add(-1)
	}
	return t
}

// stepPUBREL is the retry base of a PUBREL until its first
// retransmission: that hand-out is its first retry.
const stepPUBREL = -1

// resumed starts the retry count of the deliveries the connection's first
// Pull handed out again (an earlier connection's, or from before a
// restart) at their first send on this connection.
func (c *client) resumed() {
	for i := range c.pending {
		if d := &c.pending[i]; d.Tag != 0 && d.Redelivered > 0 {
			c.setRetryBase(d.Tag, d.Redelivered)
		}
	}
}

func (c *client) setRetryBase(tag uint16, base int) {
	if c.retryBase == nil {
		c.retryBase = make(map[uint16]int)
	}
	c.retryBase[tag] = base
}

// forgetRetries drops the retry base of a settled delivery.
func (c *client) forgetRetries(tag uint16) {
	if c.retryBase == nil {
		return
	}
	delete(c.retryBase, tag)
	if len(c.retryBase) == 0 {
		c.retryBase = nil // an idle client keeps no map
	}
}

// retries returns how often d was sent again in its current step on this
// connection.
func (c *client) retries(d *core.Delivery) int {
	if d.Tag == 0 {
		return 0
	}
	if d.Redelivered == 0 {
		// A first hand-out: a base left under its tag is stale.
		c.forgetRetries(d.Tag)
		return 0
	}
	base, ok := c.retryBase[d.Tag]
	if !ok {
		return d.Redelivered
	}
	if base == stepPUBREL {
		base = d.Redelivered - 1
		c.retryBase[d.Tag] = base
	}
	return d.Redelivered - base
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

// sendDelivery writes one delivery, a retransmission with DUP when the
// core handed it out before, or PUBREL for a held one. False means it
// waits for a topic registration, or the client is lost: d was resent
// Nretry times without an answer [MQTT-SN 6.13].
func (c *client) sendDelivery(d *core.Delivery, now time.Time) bool {
	retries := c.retries(d)
	if retries > c.g.cfg.MaxRetries {
		c.lost("no acknowledgement after max_retries")
		return false
	}
	if d.Held {
		c.sendPacket(&packet.Packet{Type: packet.PUBREL, MsgID: d.Tag})
		c.countRetransmit(retries)
		return true
	}
	typ, id, ok := c.topicFor(d.Topic)
	if !ok {
		// A retransmission too: the registry may have forgotten the
		// topic (PUBACK invalid topic id) since it was first sent.
		c.register(d, now)
		return false
	}
	p := packet.Packet{
		Type: packet.PUBLISH, Dup: d.Redelivered > 0, QoS: int8(d.QoS), Retain: d.Retain,
		TopicIDType: typ, TopicID: id, MsgID: d.Tag, Data: d.Msg.Payload,
	}
	if n, err := packet.Size(&p); err != nil || n > c.g.cfg.MaxMessageSize {
		c.core.Reject(d)
		c.forgetRetries(d.Tag)
		return true
	}
	c.sendPacket(&p)
	c.countRetransmit(retries)
	return true
}

func (c *client) countRetransmit(retries int) {
	if retries > 0 {
		c.g.stats.Retransmits.Add(1)
	}
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
	c.regOut = &outRegister{msgID: c.regMsgID, topicID: id, name: d.Topic, data: append([]byte(nil), c.buf...),
		deadline: now.Add(c.g.cfg.RetryInterval)}
}

// timers runs c's keep alive, sleep, will exchange and retransmission
// timers. c.mu is held.
func (c *client) timers(now time.Time) {
	cfg := &c.g.cfg
	switch c.state {
	case stateConnecting:
		if now.Sub(c.connStart) > cfg.RetryInterval*time.Duration(cfg.MaxRetries+1) {
			// The CONNECT never ended: its will never came.
			c.g.broker.CountRefused("mqtt-sn", core.RefusedConnectTimeout)
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
	// [MQTT-SN 6.13] deliveries unacknowledged for Tretry are due again;
	// the next Pull hands them out before new messages.
	due := c.core.Redeliver(c.dueBefore(now)) > 0
	if r := c.regOut; r != nil && !now.Before(r.deadline) {
		if !c.retransmitRegister(r, now) {
			return
		}
	}
	if due || c.regOut == nil && len(c.pending) > 0 && !now.Before(c.regBackoff) {
		c.deliver(now)
	}
}

// retransmitRegister resends the gateway's REGISTER, or ends the client
// after Nretry attempts [MQTT-SN 6.13].
func (c *client) retransmitRegister(r *outRegister, now time.Time) bool {
	r.retries++
	if r.retries > c.g.cfg.MaxRetries {
		c.lost("no acknowledgement after max_retries")
		return false
	}
	c.g.stats.Retransmits.Add(1)
	c.write(r.data)
	r.deadline = now.Add(c.g.cfg.RetryInterval)
	return true
}
