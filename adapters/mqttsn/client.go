package mqttsn

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

type clientState int

const (
	stateConnecting clientState = iota // will exchange under way
	stateActive
	stateAsleep
	stateAwake // woken by PINGREQ, receiving what was queued
	stateGone
)

// client is one MQTT-SN client. Its fields below mu are guarded by it;
// the reader of its socket and the service goroutine take turns.
type client struct {
	g      *Gateway
	queued atomic.Bool   // in Gateway.dirty
	kicked atomic.Uint32 // core.Code+1 of a Kick not yet handled

	mu         sync.Mutex
	state      clientState
	id         string
	peer       peer
	core       *core.Client
	keepAlive  time.Duration
	lastSeen   time.Time
	connStart  time.Time
	sleepFor   time.Duration
	sleepUntil time.Time

	// CONNECT and will, kept for WILLTOPICUPD / WILLMSGUPD.
	clean      bool
	duration   uint16
	hasWill    bool
	willTopic  string
	willQoS    byte
	willRetain bool
	willMsg    []byte

	sess *sessionState
	reg  *Registry
	// The core keeps the inflight window: a delivery stays unsettled there
	// until the client acknowledges it, and Redeliver hands it out again.
	pending  []core.Delivery // pulled, waiting for a topic registration
	pulledAt time.Time       // when pending was pulled
	// Deliveries handed out at or after lateFrom waited for a
	// registration before they were sent: none is due again before
	// lateUntil, one retry interval after they went out.
	lateFrom, lateUntil time.Time
	pulled              bool // the connection's first Pull is done
	// retryBase is, for a delivery whose current step did not start with
	// its first hand-out, the Redelivered count it started at: one resumed
	// from an earlier connection, or a PUBREL (stepPUBREL until its first
	// retransmission shows the count). [MQTT-SN 6.13] counts the
	// retransmissions of each message on a connection; the core counts
	// hand-outs over the session's life.
	retryBase  map[uint16]int
	regOut     *outRegister // the one gateway REGISTER in flight [MQTT-SN 6.10]
	regMsgID   uint16
	regBackoff time.Time // REGACK congestion: no REGISTER before then
	wakePing   bool      // a PINGREQ woke the client: PINGRESP once drained
	buf        []byte
}

// outRegister is the gateway's REGISTER awaiting its REGACK. It is the
// adapter's own: a registration, not a delivery of the core.
type outRegister struct {
	msgID    uint16
	topicID  uint16
	name     string
	data     []byte // encoded, for retransmission
	deadline time.Time
	retries  int
}

var _ core.Conn = (*client)(nil)

// Notify implements core.Conn.
func (c *client) Notify() { c.g.markDirty(c) }

// Kick implements core.Conn: the service goroutine ends the client.
func (c *client) Kick(code core.Code) {
	c.kicked.CompareAndSwap(0, uint32(code)+1)
	c.g.markDirty(c)
}

func (c *client) sendPacket(p *packet.Packet) {
	var err error
	c.buf, err = packet.Append(c.buf[:0], p)
	if err != nil {
		c.g.log.Error("mqtt-sn encode failed", "type", p.Type, "err", err)
		return
	}
	c.write(c.buf)
}

func (c *client) write(b []byte) {
	n, err := c.peer.write(b)
	c.g.broker.Traffic("mqtt-sn").Sent(n)
	if err != nil {
		c.g.log.Debug("mqtt-sn write failed", "client", c.id, "err", err)
	}
}

// datagram handles one datagram from p.
func (g *Gateway) datagram(l *listener, p peer, b []byte) {
	g.broker.Traffic("mqtt-sn").Received(len(b))
	var fw packet.Forward
	inner, wrapped, err := packet.Unwrap(b, &fw)
	if err != nil || len(inner) > g.cfg.MaxMessageSize {
		g.stats.Malformed.Add(1)
		return
	}
	var pk packet.Packet
	if err := packet.Decode(inner, &pk); err != nil {
		g.stats.Malformed.Add(1)
		g.log.Debug("mqtt-sn malformed datagram", "listener", l.cfg.Name, "remote", p.addr.String(), "err", err)
		return
	}
	if wrapped {
		// [MQTT-SN 5.5] answered through the same forwarder.
		p.fw, p.ctrl, p.node = true, fw.Ctrl, string(fw.NodeID)
	}
	switch {
	case pk.Type == packet.SEARCHGW:
		// [MQTT-SN 6.1] GWINFO answers SEARCHGW.
		b, _ := packet.Append(nil, &packet.Packet{Type: packet.GWINFO, GatewayID: g.cfg.GatewayID})
		p.write(b)
		return
	case pk.Type == packet.ADVERTISE || pk.Type == packet.GWINFO:
		return // other gateways' announcements
	case pk.Type == packet.CONNECT:
		g.connect(p, &pk)
		return
	case pk.Type == packet.PINGREQ && len(pk.ClientID) > 0:
		g.pingWithID(p, &pk)
		return
	}
	g.mu.Lock()
	c := g.byAddr[p.key()]
	g.mu.Unlock()
	if c == nil {
		if pk.Type == packet.PUBLISH && pk.QoS == -1 {
			g.publishMinusOne(p, &pk)
			return
		}
		g.stats.Unknown.Add(1)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateGone {
		return
	}
	c.lastSeen = time.Now()
	c.handle(&pk)
}

// maxClientIDLen bounds client ids; MQTT-SN says 1-23 characters, real
// clients send longer ones.
const maxClientIDLen = 1024

// refuse answers a CONNECT the gateway refuses before it asks the core,
// counted under why.
func (g *Gateway) refuse(p peer, rc packet.ReturnCode, why core.Refusal) {
	g.stats.Refused.Add(1)
	g.broker.CountRefused("mqtt-sn", why)
	b, _ := packet.Append(nil, &packet.Packet{Type: packet.CONNACK, ReturnCode: rc})
	p.write(b)
}

// connect starts a connection: the will exchange if the client has a
// will, otherwise straight to CONNACK.
func (g *Gateway) connect(p peer, pk *packet.Packet) {
	switch {
	case pk.ProtocolID != packet.ProtocolID:
		// [MQTT-SN 5.3.8] 0x01 is the only protocol id.
		g.refuse(p, packet.RejectedNotSupported, core.RefusedUnsupportedProtocol)
		return
	case len(pk.ClientID) > maxClientIDLen:
		g.refuse(p, packet.RejectedNotSupported, core.RefusedClientIDInvalid)
		return
	}
	id := string(pk.ClientID)
	if id == "" {
		id = g.broker.AssignClientID(g.cfg.Namespace)
	}
	key := p.key()
	g.mu.Lock()
	if g.stopping {
		g.mu.Unlock()
		return
	}
	prev := g.byAddr[key]
	if prev == nil && g.byID[id] == nil && len(g.byAddr) >= g.cfg.MaxClients {
		g.mu.Unlock()
		g.log.Warn("mqtt-sn connect refused: max_clients reached", "client", id, "max", g.cfg.MaxClients)
		g.refuse(p, packet.RejectedCongestion, core.RefusedServerBusy)
		return
	}
	c := &client{g: g, id: id, peer: p, state: stateConnecting, connStart: time.Now(), lastSeen: time.Now()}
	g.byAddr[key] = c
	g.mu.Unlock()
	if prev != nil {
		// The address now belongs to this CONNECT; whoever held it
		// before lost its link [MQTT-SN 6.x: a new CONNECT replaces].
		prev.mu.Lock()
		g.endLocked(prev, core.DisconnectWithWill, "address taken by a new CONNECT")
		prev.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateGone {
		return
	}
	c.clean, c.duration, c.hasWill = pk.CleanSession, pk.Duration, pk.Will
	if pk.Will {
		// [MQTT-SN 6.3] the gateway asks for the will topic, then the
		// will message.
		c.sendPacket(&packet.Packet{Type: packet.WILLTOPICREQ})
		return
	}
	c.completeConnect()
}

// completeConnect authenticates the client, attaches it to its session
// and answers CONNACK.
func (c *client) completeConnect() {
	g := c.g
	l := c.peer.l
	info := core.ClientInfo{
		Protocol:   "mqtt-sn",
		Listener:   l.cfg.Name,
		Namespace:  g.cfg.Namespace,
		ClientID:   c.id,
		Username:   l.cfg.Username,
		PeerAddr:   c.peer.addr,
		CertCN:     c.peer.cn,
		Mountpoint: g.cfg.Mountpoint,
		Version:    packet.ProtocolID,
	}
	// Retransmit: unacknowledged deliveries stay in the core's inflight
	// window, stamped, and the timers resend them [MQTT-SN 6.13].
	req := &core.OpenRequest{Info: info, CleanStart: c.clean, Conn: c, ReceiveMaximum: g.cfg.MaxInflight,
		KeepAlive: time.Duration(c.duration) * time.Second, Retransmit: true}
	if l.cfg.Password != "" {
		req.Password = []byte(l.cfg.Password)
	}
	if !c.clean {
		req.SessionExpiry = g.cfg.SessionExpiry
		if req.SessionExpiry == 0 {
			req.SessionExpiry = core.NeverExpire
		}
	}
	if c.hasWill {
		w, ok := c.buildWill()
		if !ok {
			c.sendPacket(&packet.Packet{Type: packet.CONNACK, ReturnCode: packet.RejectedNotSupported})
			g.stats.Refused.Add(1)
			g.broker.CountRefused("mqtt-sn", core.RefusedMalformedConnect)
			g.endLocked(c, core.DisconnectNormal, "invalid will topic")
			return
		}
		req.Will = w
	}
	cl, present, err := g.broker.Open(context.Background(), req)
	if err != nil {
		// MQTT-SN has no authentication return code: a refused login is
		// "not supported"; anything else is congestion, worth a retry.
		rc, why := packet.RejectedCongestion, "open session failed"
		if errors.Is(err, core.BadUsernameOrPassword) || errors.Is(err, core.NotAuthorized) || errors.Is(err, core.Banned) {
			rc, why = packet.RejectedNotSupported, "not authenticated"
		}
		g.log.Debug("mqtt-sn connect refused", "client", c.id, "listener", l.cfg.Name, "err", err)
		c.sendPacket(&packet.Packet{Type: packet.CONNACK, ReturnCode: rc})
		g.stats.Refused.Add(1)
		g.endLocked(c, core.DisconnectNormal, why)
		return
	}
	c.core = cl
	c.state = stateActive
	c.keepAlive = time.Duration(c.duration) * time.Second
	c.lastSeen = time.Now()
	g.mu.Lock()
	s := g.sessions[c.id]
	if c.clean || !present || s == nil {
		s = &sessionState{reg: newRegistry(g.cfg.MaxPredefinedID)}
		g.sessions[c.id] = s
	}
	s.expires = time.Time{}
	c.sess, c.reg = s, s.reg
	g.byID[c.id] = c
	g.mu.Unlock()
	c.sendPacket(&packet.Packet{Type: packet.CONNACK, ReturnCode: packet.Accepted})
	// A resumed session's messages follow the CONNACK.
	g.markDirty(c)
}

// buildWill turns the client's will into a core.Will; false when the
// topic is not a valid topic name.
func (c *client) buildWill() (*core.Will, bool) {
	if core.ValidateTopicName(c.willTopic, c.g.broker.Config().MaxTopicLevels) != nil {
		return nil, false
	}
	return &core.Will{Message: &core.Message{
		Topic:   c.willTopic,
		Payload: c.willMsg,
		QoS:     c.willQoS,
		Retain:  c.willRetain,
	}}, true
}

// endLocked ends c: it leaves the address and client id maps and its core
// session is detached with kind. Called with c.mu held.
func (g *Gateway) endLocked(c *client, kind core.DisconnectKind, reason string) {
	if c.state == stateGone {
		return
	}
	c.state = stateGone
	if c.core != nil {
		c.core.Disconnect(kind, reason)
	}
	g.log.Debug("mqtt-sn client ended", "client", c.id, "reason", reason)
	g.mu.Lock()
	if k := c.peer.key(); g.byAddr[k] == c {
		delete(g.byAddr, k)
	}
	if g.byID[c.id] == c {
		delete(g.byID, c.id)
		if s := g.sessions[c.id]; s != nil && s == c.sess {
			switch {
			case c.clean:
				delete(g.sessions, c.id)
			case g.cfg.SessionExpiry > 0:
				s.expires = time.Now().Add(g.cfg.SessionExpiry)
			}
		}
	}
	g.mu.Unlock()
	c.pending = nil
	c.retryBase = nil
	c.regOut = nil
}

// lost ends a client whose link is gone: keep alive, sleep timer or
// retransmissions exhausted. Its will is published [MQTT-SN 6.3].
func (c *client) lost(reason string) {
	c.g.stats.Lost.Add(1)
	c.g.endLocked(c, core.DisconnectWithWill, reason)
}

// pingWithID handles PINGREQ carrying a client id: a sleeping client
// waking up [MQTT-SN 6.14], or any client telling where it is now.
func (g *Gateway) pingWithID(p peer, pk *packet.Packet) {
	g.mu.Lock()
	c := g.byID[string(pk.ClientID)]
	g.mu.Unlock()
	if c == nil {
		g.stats.Unknown.Add(1)
		return
	}
	c.mu.Lock()
	if c.state == stateGone {
		c.mu.Unlock()
		return
	}
	var prev *client
	if c.peer.key() != p.key() {
		// A DTLS session proves its identity: only the same listener
		// and certificate identity may move a session.
		if p.l != c.peer.l || c.peer.cn != p.cn {
			c.mu.Unlock()
			g.stats.Unknown.Add(1)
			return
		}
		prev = c.rebind(p)
	}
	c.lastSeen = time.Now()
	switch c.state {
	case stateAsleep, stateAwake:
		c.state = stateAwake
		c.wakePing = true
		c.core.SetQueueLimit(0)
		g.markDirty(c)
	case stateActive:
		c.sendPacket(&packet.Packet{Type: packet.PINGRESP})
	}
	c.mu.Unlock()
	if prev != nil {
		prev.mu.Lock()
		g.endLocked(prev, core.DisconnectWithWill, "address taken by another client")
		prev.mu.Unlock()
	}
}

// rebind moves c to a new address (NAT rebinding) and returns the client
// that held that address, if any.
func (c *client) rebind(p peer) *client {
	g := c.g
	g.mu.Lock()
	defer g.mu.Unlock()
	old := c.peer.key()
	if g.byAddr[old] == c {
		delete(g.byAddr, old)
	}
	prev := g.byAddr[p.key()]
	g.byAddr[p.key()] = c
	c.peer = p
	if prev == c {
		prev = nil
	}
	return prev
}

// publishMinusOne handles PUBLISH QoS -1 from a client without a
// connection [MQTT-SN 6.8]: predefined and short topic ids only.
func (g *Gateway) publishMinusOne(p peer, pk *packet.Packet) {
	if !g.cfg.QoSMinusOne {
		g.stats.Unknown.Add(1)
		return
	}
	var name string
	switch pk.TopicIDType {
	case packet.TopicPredefined:
		n, ok := g.preName[pk.TopicID]
		if !ok {
			g.stats.Unknown.Add(1)
			return
		}
		name = n
	case packet.TopicShort:
		name = packet.ShortTopicName(pk.TopicID)
	default:
		g.stats.Unknown.Add(1)
		return
	}
	user := g.cfg.QoSMinusOneUsername
	if user == "" {
		user = p.l.cfg.Username
	}
	info := core.ClientInfo{
		Protocol: "mqtt-sn", Listener: p.l.cfg.Name, Namespace: g.cfg.Namespace,
		ClientID: g.cfg.QoSMinusOneClientID, Username: user, PeerAddr: p.addr, CertCN: p.cn,
		Mountpoint: g.cfg.Mountpoint, Version: packet.ProtocolID,
	}
	m := core.NewMessage(name, pk.Data)
	m.Retain = pk.Retain
	if _, err := g.broker.Publish(context.Background(), &info, m); err != nil {
		// QoS -1 has no answer: the refusal is only counted.
		g.stats.Denied.Add(1)
	}
}

// handle dispatches a message from a known client. c.mu is held.
func (c *client) handle(pk *packet.Packet) {
	if c.state == stateConnecting {
		c.handleWillExchange(pk)
		return
	}
	switch pk.Type {
	case packet.REGISTER:
		c.handleRegister(pk)
	case packet.REGACK:
		c.handleRegack(pk)
	case packet.PUBLISH:
		c.handlePublish(pk)
	case packet.PUBACK:
		c.handlePuback(pk)
	case packet.PUBREC:
		// The core holds a QoS 2 delivery, held before or not (a
		// retransmitted PUBREC), and stamps it: the PUBREL is resent
		// after Tretry, its retransmissions counted afresh.
		if c.core.Hold(pk.MsgID) {
			c.setRetryBase(pk.MsgID, stepPUBREL)
			c.sendPacket(&packet.Packet{Type: packet.PUBREL, MsgID: pk.MsgID})
		}
	case packet.PUBCOMP:
		if c.core.Complete(pk.MsgID) {
			c.forgetRetries(pk.MsgID)
			c.g.markDirty(c) // a waking client may be drained now
		}
	case packet.PUBREL:
		// Inbound QoS 2: PUBCOMP whether or not the id was known, so a
		// retransmitted PUBREL completes [MQTT-SN 6.7].
		c.core.Release(pk.MsgID)
		c.sendPacket(&packet.Packet{Type: packet.PUBCOMP, MsgID: pk.MsgID})
	case packet.SUBSCRIBE:
		c.handleSubscribe(pk)
	case packet.UNSUBSCRIBE:
		c.handleUnsubscribe(pk)
	case packet.PINGREQ:
		if c.state == stateAwake {
			c.wakePing = true
			c.g.markDirty(c)
			return
		}
		c.sendPacket(&packet.Packet{Type: packet.PINGRESP})
	case packet.DISCONNECT:
		c.handleDisconnect(pk)
	case packet.WILLTOPICUPD:
		c.handleWillTopicUpdate(pk)
	case packet.WILLMSGUPD:
		c.willMsg = append([]byte(nil), pk.Data...)
		if c.hasWill {
			w, _ := c.buildWill()
			c.core.SetWill(w)
		}
		c.sendPacket(&packet.Packet{Type: packet.WILLMSGRESP, ReturnCode: packet.Accepted})
	default:
		// Gateway-to-client types (CONNACK, SUBACK, ...) are ignored.
	}
}

func (c *client) handleWillExchange(pk *packet.Packet) {
	switch pk.Type {
	case packet.WILLTOPIC:
		if len(pk.TopicName) == 0 {
			// [MQTT-SN 5.4.7] an empty WILLTOPIC: no will.
			c.hasWill = false
			c.completeConnect()
			return
		}
		c.willTopic, c.willQoS, c.willRetain = string(pk.TopicName), byte(pk.QoS), pk.Retain
		c.sendPacket(&packet.Packet{Type: packet.WILLMSGREQ})
	case packet.WILLMSG:
		if c.willTopic == "" {
			return // WILLMSG before WILLTOPIC
		}
		c.willMsg = append([]byte(nil), pk.Data...)
		c.completeConnect()
	}
}

func (c *client) handleWillTopicUpdate(pk *packet.Packet) {
	rc := packet.Accepted
	if len(pk.TopicName) == 0 {
		// Empty WILLTOPICUPD deletes the will [MQTT-SN 5.4.21].
		c.hasWill, c.willTopic, c.willMsg = false, "", nil
		c.core.SetWill(nil)
	} else {
		old := c.willTopic
		c.willTopic, c.willQoS, c.willRetain = string(pk.TopicName), byte(pk.QoS), pk.Retain
		if w, ok := c.buildWill(); ok {
			c.hasWill = true
			c.core.SetWill(w)
		} else {
			c.willTopic = old
			rc = packet.RejectedNotSupported
		}
	}
	c.sendPacket(&packet.Packet{Type: packet.WILLTOPICRESP, ReturnCode: rc})
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "+#") }

func (c *client) handleRegister(pk *packet.Packet) {
	name := string(pk.TopicName)
	ack := packet.Packet{Type: packet.REGACK, MsgID: pk.MsgID, ReturnCode: packet.Accepted}
	switch {
	case name == "" || hasWildcard(name) || core.ValidateTopicName(name, c.g.broker.Config().MaxTopicLevels) != nil:
		// [MQTT-SN 5.4.10] REGISTER takes a topic name, not a filter.
		ack.ReturnCode = packet.RejectedNotSupported
	default:
		id, ok := c.reg.Add(name, c.g.cfg.MaxRegisteredTopics)
		if !ok {
			ack.ReturnCode = packet.RejectedCongestion
		}
		ack.TopicID = id
	}
	c.sendPacket(&ack)
}

func (c *client) handleRegack(pk *packet.Packet) {
	r := c.regOut
	if r == nil || r.msgID != pk.MsgID {
		return
	}
	c.regOut = nil
	switch pk.ReturnCode {
	case packet.Accepted:
	case packet.RejectedCongestion:
		// [MQTT-SN 6.10] wait before trying again.
		c.reg.Remove(r.topicID)
		c.regBackoff = time.Now().Add(c.g.cfg.RetryInterval)
	default:
		// The client refuses the topic: its messages cannot be delivered.
		c.reg.Remove(r.topicID)
		c.dropPendingTopic(r.name)
	}
	c.g.markDirty(c)
}

func (c *client) dropPendingTopic(name string) {
	keep := c.pending[:0]
	for i := range c.pending {
		d := c.pending[i]
		if !d.Held && d.Topic == name {
			c.core.Reject(&d)
			c.forgetRetries(d.Tag)
			continue
		}
		keep = append(keep, d)
	}
	c.pending = keep
}

// returnCode maps a core outcome to an MQTT-SN return code, counting
// authorization denials.
func (c *client) returnCode(code core.Code) packet.ReturnCode {
	switch code {
	case core.Success, core.NoMatchingSubscribers:
		return packet.Accepted
	case core.QuotaExceeded, core.ReceiveMaximumExceeded:
		return packet.RejectedCongestion
	case core.NotAuthorized:
		c.g.stats.Denied.Add(1)
	}
	return packet.RejectedNotSupported
}

// topicName resolves a topic id of the given type.
func (c *client) topicName(typ byte, id uint16) (string, bool) {
	switch typ {
	case packet.TopicNormal:
		return c.reg.Name(id)
	case packet.TopicPredefined:
		n, ok := c.g.preName[id]
		return n, ok
	case packet.TopicShort:
		return packet.ShortTopicName(id), true
	}
	return "", false
}

func (c *client) handlePublish(pk *packet.Packet) {
	ack := packet.Packet{Type: packet.PUBACK, TopicID: pk.TopicID, MsgID: pk.MsgID}
	name, ok := c.topicName(pk.TopicIDType, pk.TopicID)
	if !ok {
		// [MQTT-SN 6.7] unknown topic id: PUBACK invalid topic id, even
		// for QoS 0.
		ack.ReturnCode = packet.RejectedInvalidTopicID
		c.sendPacket(&ack)
		return
	}
	qos := pk.QoS
	if qos == -1 {
		if !c.g.cfg.QoSMinusOne || pk.TopicIDType == packet.TopicNormal {
			c.g.stats.Unknown.Add(1)
			return
		}
		qos = 0
	}
	m := core.NewMessage(name, pk.Data)
	m.QoS, m.Retain = byte(qos), pk.Retain
	ctx := context.Background()
	switch qos {
	case 0:
		if code := c.core.Publish(ctx, m); code == core.NotAuthorized {
			c.g.stats.Denied.Add(1)
		}
	case 1:
		ack.ReturnCode = c.returnCode(c.core.Publish(ctx, m))
		c.sendPacket(&ack)
	case 2:
		code, _ := c.core.PublishQoS2(ctx, pk.MsgID, m)
		if code.Failed() {
			ack.ReturnCode = c.returnCode(code)
			c.sendPacket(&ack)
			return
		}
		c.sendPacket(&packet.Packet{Type: packet.PUBREC, MsgID: pk.MsgID})
	}
}

// handlePuback settles the delivery the PUBACK names. The core reports
// whether the MsgID named a delivery that could be settled so; a PUBACK
// for anything else (a delivery awaiting PUBCOMP, a settled or unknown
// MsgID) is ignored.
func (c *client) handlePuback(pk *packet.Packet) {
	tag := pk.MsgID
	switch pk.ReturnCode {
	case packet.Accepted:
		// A QoS 2 delivery is accepted with PUBREC; a PUBACK refuses it.
		if !c.core.Settle(tag, core.Accepted) && !c.core.Settle(tag, core.Rejected) {
			return
		}
	case packet.RejectedCongestion:
		// Try again later: the delivery stays unsettled, and the timer
		// resends it once it is Tretry old.
		return
	default:
		if !c.core.Settle(tag, core.Rejected) {
			return
		}
		if pk.ReturnCode == packet.RejectedInvalidTopicID && pk.TopicID != 0 {
			// The client lost the registration: register again next time.
			c.reg.Remove(pk.TopicID)
		}
	}
	c.forgetRetries(tag)
	c.g.markDirty(c)
}

func (c *client) handleSubscribe(pk *packet.Packet) {
	ack := packet.Packet{Type: packet.SUBACK, MsgID: pk.MsgID}
	var filter string
	switch pk.TopicIDType {
	case packet.TopicNormal:
		filter = string(pk.TopicName)
	case packet.TopicPredefined:
		n, ok := c.g.preName[pk.TopicID]
		if !ok {
			ack.ReturnCode = packet.RejectedInvalidTopicID
			c.sendPacket(&ack)
			return
		}
		filter, ack.TopicID = n, pk.TopicID
	case packet.TopicShort:
		filter, ack.TopicID = packet.ShortTopicName(pk.TopicID), pk.TopicID
	}
	reqs := []core.SubscribeRequest{{Filter: filter, Options: topic.Options{QoS: byte(pk.QoS)}}}
	res := c.core.Subscribe(context.Background(), reqs, make([]core.SubscribeResult, 0, 1))
	if res[0].Code.Failed() {
		ack.TopicID = 0
		ack.ReturnCode = c.returnCode(res[0].Code)
		c.sendPacket(&ack)
		return
	}
	ack.QoS = int8(res[0].QoS)
	if pk.TopicIDType == packet.TopicNormal && !hasWildcard(filter) {
		// [MQTT-SN 5.4.16] a topic name gets its id in SUBACK; a
		// wildcard filter gets 0 and a REGISTER per matching topic.
		id, ok := c.reg.Add(filter, c.g.cfg.MaxRegisteredTopics)
		if !ok {
			c.core.Unsubscribe([]string{filter}, nil)
			c.sendPacket(&packet.Packet{Type: packet.SUBACK, MsgID: pk.MsgID, ReturnCode: packet.RejectedCongestion})
			return
		}
		ack.TopicID = id
	}
	c.sendPacket(&ack)
	c.core.SendRetained(reqs, res)
}

func (c *client) handleUnsubscribe(pk *packet.Packet) {
	var filter string
	switch pk.TopicIDType {
	case packet.TopicNormal:
		filter = string(pk.TopicName)
	case packet.TopicPredefined:
		filter = c.g.preName[pk.TopicID]
	case packet.TopicShort:
		filter = packet.ShortTopicName(pk.TopicID)
	}
	if filter != "" {
		c.core.Unsubscribe([]string{filter}, nil)
	}
	c.sendPacket(&packet.Packet{Type: packet.UNSUBACK, MsgID: pk.MsgID})
}

func (c *client) handleDisconnect(pk *packet.Packet) {
	c.sendPacket(&packet.Packet{Type: packet.DISCONNECT})
	if !pk.HasDuration || pk.Duration == 0 {
		// [MQTT-SN 6.3] a DISCONNECT discards the will.
		c.g.endLocked(c, core.DisconnectNormal, "client disconnected")
		return
	}
	// [MQTT-SN 6.14] asleep: messages wait in the session queue until a
	// PINGREQ wakes the client; missing the wake-up by half the duration
	// again counts as a lost link.
	c.state = stateAsleep
	c.wakePing = false
	c.core.SetQueueLimit(c.g.cfg.MaxSleepQueue)
	c.sleepFor = time.Duration(pk.Duration) * time.Second
	c.sleepUntil = time.Now().Add(c.sleepFor * 3 / 2)
}
