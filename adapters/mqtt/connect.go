package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/mqgate/mqgate/adapters/internal/netserve"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
)

// stringBytes views s as bytes without copying; the encoder only reads it.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// handshake reads CONNECT within the connect timeout, authenticates the
// client, attaches it to its session and writes CONNACK. On success the
// connection is ready for the read and write loops. A connection it
// refuses before it asks the core (no CONNECT in time, a CONNECT it does
// not accept) is counted under its reason; one whose peer went away, or
// that the server closed, is not refused.
func (c *conn) handshake() error {
	srv := c.srv
	deadline := c.connectBy
	if deadline.IsZero() {
		deadline = time.Now().Add(srv.cfg.ConnectTimeout)
	}
	if tc, ok := c.nc.(*tls.Conn); ok {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			if timedOut(err) {
				c.refused(core.RefusedConnectTimeout)
			}
			return fmt.Errorf("tls handshake: %w", err)
		}
	}
	limit := maxConnectSize
	if srv.cfg.MaxPacketSize < limit {
		limit = srv.cfg.MaxPacketSize
	}
	h, body, ok, err := c.connectNow(limit)
	if err == nil && !ok {
		c.nc.SetReadDeadline(deadline)
		c.connDeadline = true
		h, body, err = c.readPacket(limit, 0)
	}
	if err != nil {
		var ce *errClose
		switch {
		case timedOut(err):
			c.refused(core.RefusedConnectTimeout)
		case errors.As(err, &ce):
			// A fixed header the limits refuse: malformed, or larger
			// than a CONNECT may be.
			c.refused(core.RefusedMalformedConnect)
		}
		return fmt.Errorf("read CONNECT: %w", err)
	}
	if h.Type != packet.CONNECT {
		// [MQTT-3.1.0-1] the first packet must be CONNECT; no CONNACK can
		// be sent since no protocol version is known.
		c.refused(core.RefusedMalformedConnect)
		return protocolErr(packet.ProtocolError, "first packet is %v, not CONNECT", h.Type)
	}
	p := packets.Get().(*packet.Packet)
	defer packets.Put(p)
	err = packet.Decode(p, h, body, 0)
	c.version = p.Version
	if c.version != packet.V5 && c.version != packet.V311 && c.version != packet.V31 {
		c.version = packet.V311
	}
	if err != nil {
		var pe *packet.Error
		if errors.As(err, &pe) && pe.Code == packet.UnsupportedProtocolVersion {
			// [MQTT-3.1.2-2] CONNACK 0x01 (v5: 0x84), then close.
			c.refused(core.RefusedUnsupportedProtocol)
			c.refuse(packet.UnsupportedProtocolVersion, packet.ConnRefusedProtocolVersion)
		} else {
			c.refused(core.RefusedMalformedConnect)
			if pe != nil && c.version == packet.V5 {
				c.refuse(pe.Code, 0)
			}
		}
		return fmt.Errorf("decode CONNECT: %w", err)
	}
	if c.srv.debug() {
		c.logPacket("mqtt packet received", p)
	}
	// The decoded CONNECT aliases the read buffer (will payload, password):
	// release the buffer only once connect has copied what it keeps.
	err = c.connect(p)
	c.consume(h.Len + h.Remaining)
	return err
}

// awaitConnect leaves a new plain-TCP connection to the poller until its
// CONNECT arrives; the poller then starts run. Most clients have not sent
// CONNECT yet when they are accepted, and waiting in the poller takes no
// goroutine, no read deadline and no read that only finds nothing: a
// flood of connections that never send CONNECT holds no goroutine
// either. The connect timeout is the timer that later watches the keep
// alive. It returns false for a connection the poller cannot watch:
// run serves that one from the start.
func (c *conn) awaitConnect() bool {
	if !c.tc.Pollable() {
		return false
	}
	timeout := c.srv.cfg.ConnectTimeout
	by := time.Now().Add(timeout)
	c.connectBy, c.kaDue = by, by
	c.kaTimer = time.AfterFunc(timeout, c.keepAliveExpired)
	c.tc.Arm()
	if !time.Now().Before(by) {
		// The timer may have fired before the connection was armed,
		// and then found nothing to end.
		c.keepAliveExpired()
	}
	return true
}

// connectNow returns the first packet if it has already arrived: a client
// sends CONNECT as soon as it is connected, and reading it without waiting
// needs no deadline timer.
func (c *conn) connectNow(limit int) (packet.Header, []byte, bool, error) {
	if c.tc.RawConn() == nil {
		return packet.Header{}, nil, false, nil
	}
	if err := c.readNow(); err != nil && err != errWouldBlock {
		return packet.Header{}, nil, false, err
	}
	return c.nextPacket(limit)
}

// refused counts the connection as one the adapter refused for r before
// it asked the core (which counts its own refusals).
func (c *conn) refused(r core.Refusal) { c.srv.broker.CountRefused("mqtt", r) }

// timedOut says err is that of a deadline: the connect timeout passed.
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// writeConnack writes CONNACK with one raw write when the socket takes it
// all, as a new connection's does, else within the write timeout.
func (c *conn) writeConnack(b []byte) error {
	if c.tc.RawConn() != nil {
		b = b[c.tryWrite(b):]
		if len(b) == 0 {
			return nil
		}
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	_, err := c.nc.Write(b)
	return err
}

// tcpKeepAlive turns on TCP keep-alive probes (15 s idle, 15 s apart, 9
// of them) for a client without MQTT keep alive, so a peer that vanished
// without a FIN is still noticed. Listeners of type tcp and tls accept
// connections without them.
func (c *conn) tcpKeepAlive() {
	if err := netserve.SetKeepAlive(c.nc); err != nil {
		c.srv.log.Debug("tcp keep-alive", "remote", c.tc.Remote(), "err", err)
	}
}

// refuse writes a failing CONNACK: code for v5, v3code for 3.1/3.1.1
// (v3code 0 means no v3 CONNACK is defined: close silently).
func (c *conn) refuse(code, v3code byte) {
	reason := code
	if reason == 0 {
		// A v3 refusal without a v5 code: a keep alive above the limit.
		reason = packet.UnspecifiedError
	}
	c.closeStatus(reason)
	p := packet.Packet{Type: packet.CONNACK, ReasonCode: code}
	if c.version != packet.V5 {
		if v3code == 0 {
			return
		}
		p.ReasonCode = v3code
	}
	buf, err := packet.Append(nil, &p, c.version)
	if err != nil {
		return
	}
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.nc.Write(buf)
}

func (c *conn) connect(p *packet.Packet) error {
	srv := c.srv
	b := srv.broker
	v5 := c.version == packet.V5
	info := core.ClientInfo{
		Protocol: "mqtt",
		Listener: c.l.cfg.Name,
		ClientID: p.ClientID,
		Username: p.Username,
		PeerAddr: c.tc.Remote(),
		CertCN:   certCN(c.nc),
		Version:  byte(c.version),
	}
	if c.l.cfg.TLS != nil && c.l.cfg.TLS.CNAsUsername && info.CertCN != "" {
		info.Username = info.CertCN
		info.CertIdentity = true
	}

	// Client identifier [MQTT-3.1.3-5..8].
	assigned := ""
	if len(info.ClientID) > srv.cfg.MaxClientIDLen {
		c.refused(core.RefusedClientIDInvalid)
		c.refuse(packet.ClientIdentifierNotValid, packet.ConnRefusedIdentifierRejected)
		return fmt.Errorf("client id longer than %d bytes", srv.cfg.MaxClientIDLen)
	}
	if info.ClientID == "" {
		if c.version == packet.V31 || c.version == packet.V311 && !p.CleanStart {
			// 3.1 needs 1-23 characters; 3.1.1 assigns only with clean
			// session 1 [MQTT-3.1.3-8].
			c.refused(core.RefusedClientIDInvalid)
			c.refuse(packet.ClientIdentifierNotValid, packet.ConnRefusedIdentifierRejected)
			return errors.New("empty client id")
		}
		info.ClientID = b.AssignClientID(info.Namespace)
		assigned = info.ClientID
	}

	// Keep alive [MQTT-3.1.2-21].
	ka := int(p.KeepAlive)
	serverKA := false
	if ka > srv.cfg.MaxKeepAlive {
		if !v5 {
			c.refused(core.RefusedMalformedConnect)
			c.refuse(0, packet.ConnRefusedIdentifierRejected)
			return fmt.Errorf("keepalive %d above max_keepalive %d", ka, srv.cfg.MaxKeepAlive)
		}
		ka, serverKA = srv.cfg.MaxKeepAlive, true
	}
	c.keepAlive = time.Duration(ka) * time.Second
	if ka == 0 {
		c.tcpKeepAlive()
	}

	if v5 && p.Properties.AuthMethod != "" {
		// No enhanced authentication method is offered.
		c.refused(core.RefusedUnsupportedProtocol)
		c.refuse(packet.BadAuthenticationMethod, 0)
		return fmt.Errorf("authentication method %q not supported", p.Properties.AuthMethod)
	}
	req := &core.OpenRequest{Info: info, CleanStart: p.CleanStart, Conn: c, KeepAlive: c.keepAlive}
	if p.HasPassword {
		req.Password = p.Password
	}
	if v5 {
		pr := &p.Properties
		if pr.HasSessionExpiry {
			req.SessionExpiry = sessionExpiry(pr.SessionExpiry)
		}
		if pr.HasReceiveMaximum {
			req.ReceiveMaximum = int(pr.ReceiveMaximum)
		}
		if pr.HasMaximumPacketSize {
			c.maxOut = int(pr.MaximumPacketSize)
		}
		if pr.HasTopicAliasMaximum {
			c.outAliasMax = pr.TopicAliasMaximum
		}
		c.problemInfo = !pr.HasRequestProblemInfo || pr.RequestProblemInfo == 1
	} else if !p.CleanStart {
		req.SessionExpiry = core.NeverExpire
	}
	c.sessionExpiry = req.SessionExpiry
	c.inAliasMax = uint16(srv.cfg.MaxTopicAlias)
	if p.HasWill {
		w, err := c.will(p)
		if err != nil {
			c.refused(core.RefusedMalformedConnect)
			c.refuse(packet.TopicNameInvalid, 0)
			return err
		}
		req.Will = w
	}

	// The CONNACK is built before the session is touched: a client whose
	// Maximum Packet Size cannot hold it is closed without taking over or
	// creating a session [MQTT-3.1.2-24].
	ack := c.connack(p, &info, assigned, ka, serverKA)
	buf, err := packet.Append(nil, ack, c.version)
	if err != nil {
		return fmt.Errorf("encode CONNACK: %w", err)
	}
	if c.maxOut > 0 && len(buf) > c.maxOut {
		// CONNACK carries no Reason String or User Property to leave out,
		// and none of its other properties may be: the client cannot
		// take it, so it is closed without one.
		c.refused(core.RefusedMalformedConnect)
		return fmt.Errorf("CONNACK of %d bytes exceeds the client's Maximum Packet Size %d", len(buf), c.maxOut)
	}

	client, present, err := b.Open(context.Background(), req)
	if err != nil {
		code := core.ServerUnavailable
		errors.As(err, &code)
		v3 := byte(packet.ConnRefusedServerUnavailable)
		switch code {
		case core.BadUsernameOrPassword:
			v3 = packet.ConnRefusedBadUsernamePassword
		case core.NotAuthorized, core.Banned:
			v3 = packet.ConnRefusedNotAuthorized
		case core.ClientIDNotValid:
			v3 = packet.ConnRefusedIdentifierRejected
		}
		c.refuse(reasonCode(code), v3)
		return fmt.Errorf("open session: %w", err)
	}
	c.client = client
	c.attached.Store(true)

	if present {
		ack.SessionPresent = true
		if buf, err = packet.Append(buf[:0], ack, c.version); err != nil {
			client.Disconnect(core.DisconnectWithWill, "CONNACK could not be encoded")
			return fmt.Errorf("encode CONNACK: %w", err)
		}
	}
	if c.srv.debug() {
		c.logPacket("mqtt packet sent", ack)
	}
	if err := c.writeConnack(buf); err != nil {
		client.Disconnect(core.DisconnectWithWill, "CONNACK could not be written")
		return fmt.Errorf("write CONNACK: %w", err)
	}
	c.srv.bytes.Sent(len(buf))
	// Deliveries of a resumed session follow the CONNACK: the core has
	// already notified, and run starts the writer once ready.
	return nil
}

// connack builds the CONNACK of an accepted CONNECT, Session Present
// left to the caller.
func (c *conn) connack(p *packet.Packet, info *core.ClientInfo, assigned string, ka int, serverKA bool) *packet.Packet {
	ack := &packet.Packet{Type: packet.CONNACK}
	if c.version != packet.V5 {
		return ack
	}
	srv := c.srv
	pr := &ack.Properties
	cfg := srv.broker.Config()
	pr.ReceiveMaximum, pr.HasReceiveMaximum = uint16(cfg.MaxInboundQoS2), true
	pr.MaximumPacketSize, pr.HasMaximumPacketSize = uint32(srv.cfg.MaxPacketSize), true
	if srv.cfg.MaxTopicAlias > 0 {
		pr.TopicAliasMaximum, pr.HasTopicAliasMaximum = uint16(srv.cfg.MaxTopicAlias), true
	}
	if cfg.RetainDisabled {
		pr.RetainAvailable, pr.HasRetainAvailable = 0, true
	}
	if assigned != "" {
		pr.AssignedClientID = assigned // [MQTT-3.2.2-16]
	}
	if serverKA {
		pr.ServerKeepAlive, pr.HasServerKeepAlive = uint16(ka), true
	}
	if cfg.MaxSessionExpiry > 0 && p.Properties.HasSessionExpiry &&
		sessionExpiry(p.Properties.SessionExpiry) > cfg.MaxSessionExpiry {
		pr.SessionExpiry, pr.HasSessionExpiry = uint32(cfg.MaxSessionExpiry/time.Second), true
	}
	if p.Properties.HasRequestResponseInfo && p.Properties.RequestResponseInfo == 1 {
		// The response information is a topic prefix this client may
		// use for responses.
		pr.ResponseInfo = "response/" + info.ClientID
	}
	return ack
}

// will converts the CONNECT will into a core.Will; the will topic must be
// a valid topic name, not a filter and not empty (MQTT 5 section 3.1.3.3).
func (c *conn) will(p *packet.Packet) (*core.Will, error) {
	w := &p.Will
	if w.Topic == "" || core.ValidateTopicName(w.Topic, c.srv.broker.Config().MaxTopicLevels) != nil {
		return nil, fmt.Errorf("invalid will topic %q", w.Topic)
	}
	wp := &w.Properties
	if wp.HasPayloadFormat && wp.PayloadFormat == 1 && !utf8.Valid(w.Payload) {
		return nil, errors.New("will payload is not UTF-8")
	}
	m := core.NewMessage(w.Topic, w.Payload)
	m.QoS, m.Retain = w.QoS, w.Retain
	if c.version == packet.V5 {
		if wp.HasPayloadFormat {
			m.PayloadFormat = wp.PayloadFormat
		}
		m.ContentType = wp.ContentType
		m.ResponseTopic = wp.ResponseTopic
		m.CorrelationData = append([]byte(nil), wp.CorrelationData...)
		for _, u := range wp.User {
			m.UserProperties = append(m.UserProperties, core.UserProperty{Key: u.Key, Value: u.Value})
		}
	}
	cw := &core.Will{Message: m}
	if wp.HasWillDelay {
		cw.Delay = time.Duration(wp.WillDelay) * time.Second
	}
	if wp.HasMessageExpiry {
		cw.Expiry = time.Duration(wp.MessageExpiry) * time.Second
	}
	return cw, nil
}
