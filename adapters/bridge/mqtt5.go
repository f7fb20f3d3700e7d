package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session"

	"github.com/mqgate/mqgate/core/store"
)

// mqtt5 is an MQTT 5 upstream through paho.golang's paho.Client (not
// autopaho, whose queue drops a message once it is written to the
// socket). Every connection gets a fresh session state whose store is
// the bridge's upSession (session5.go): what the library resends when the
// upstream kept the session is the QoS 2 entries the outbox says are in
// flight.
type mqtt5 struct {
	c    *paho.Client
	us   *upSession
	sess *tap
	ending
	pub sync.Mutex // one Publish at a time, so they go out in order
	// What the upstream's CONNACK allows.
	maxQoS    byte
	retainOK  bool
	maxPacket int // 0: no limit
}

// tap is paho's in-memory session state with one change: the response to
// a QoS 1/2 PUBLISH goes to the callback Publish set, so Publish can send
// without waiting (in order, many in flight) and still learn the outcome.
// The state itself still enforces the upstream's Receive Maximum.
type tap struct {
	session.SessionManager
	next func(<-chan packets.ControlPacket) // taken by the next PUBLISH
	// disconnected hears of the upstream's DISCONNECT before the library
	// ends the connection, so its reason is the connection's error.
	disconnected func(*packets.Disconnect)
}

func (t *tap) ConnectionLost(dp *packets.Disconnect) error {
	if dp != nil && t.disconnected != nil {
		t.disconnected(dp)
	}
	return t.SessionManager.ConnectionLost(dp)
}

func (t *tap) AddToSession(ctx context.Context, p session.Packet, resp chan<- packets.ControlPacket) error {
	if f := t.next; f != nil && p.Type() == packets.PUBLISH {
		t.next = nil
		mine := make(chan packets.ControlPacket, 1)
		if err := t.SessionManager.AddToSession(ctx, p, mine); err != nil {
			return err
		}
		go f(mine)
		return nil
	}
	return t.SessionManager.AddToSession(ctx, p, resp)
}

var _ upstream = (*mqtt5)(nil)

func dialMQTT5(ctx context.Context, br *Bridge, addr string) (upstream, error) {
	cfg, handle := br.cfg, br.handleInbound
	t, err := parseAddr(addr, cfg.TLS != nil)
	if err != nil {
		return nil, err
	}
	pw, err := cfg.password()
	if err != nil {
		return nil, err
	}
	var conn net.Conn
	switch t.scheme {
	case "tcp":
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", t.host)
	case "tls":
		tc, terr := cfg.tlsConfig(t.host)
		if terr != nil {
			return nil, terr
		}
		d := tls.Dialer{Config: tc}
		conn, err = d.DialContext(ctx, "tcp", t.host)
	case "ws", "wss":
		var tc *tls.Config
		if t.scheme == "wss" {
			if tc, err = cfg.tlsConfig(t.host); err != nil {
				return nil, err
			}
		}
		conn, err = dialWebSocket(ctx, t, tc)
	}
	if err != nil {
		return nil, err
	}
	u := &mqtt5{us: br.sess, sess: &tap{SessionManager: newState5(br)}}
	u.sess.disconnected = func(d *packets.Disconnect) { u.serverDisconnect(d.ReasonCode, cfg.ClientID) }
	u.done = make(chan struct{})
	var c *paho.Client
	c = paho.NewClient(paho.ClientConfig{
		ClientID: cfg.ClientID,
		Session:  u.sess,
		Conn:     packets.NewThreadSafeConn(syncedConn{conn, br.sess}),
		// The library acknowledges a PUBLISH once this handler returned,
		// and it returns once the message is durable locally. (Manual
		// acknowledgements would do the same, but start a goroutine in
		// Connect that races with the library's shutdown when the link
		// drops right after CONNACK.)
		PacketTimeout: time.Hour, // the connection's loss ends a wait, not a timer
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			p := pr.Packet
			if p.QoS == 2 && p.Duplicate() && br.inIDs.seen(p.PacketID) {
				return true, nil // published locally already; PUBREC again
			}
			err := handle(fromPaho5(p))
			if err == nil && p.QoS == 2 {
				// Recorded before the PUBREC goes: a resent PUBLISH after
				// a connection lost with it is not new.
				err = br.inIDs.add(p.PacketID)
			}
			if err != nil {
				// Not acknowledged: the DISCONNECT goes first and the
				// connection is closed before the library's PUBACK, so
				// the upstream sends the message again.
				u.lost(err)
				c.Disconnect(&paho.Disconnect{ReasonCode: 0x80})
				conn.Close()
				return true, err
			}
			return true, nil
		}},
		OnClientError:      func(err error) { u.lost(err) },
		OnServerDisconnect: func(d *paho.Disconnect) { u.serverDisconnect(d.ReasonCode, cfg.ClientID) },
	})
	u.c = c
	cp := &paho.Connect{
		ClientID:   cfg.ClientID,
		KeepAlive:  uint16(cfg.KeepAlive / time.Second),
		CleanStart: cfg.CleanStart,
		Properties: &paho.ConnectProperties{},
	}
	if cfg.SessionExpiry > 0 {
		se := uint32(min(cfg.SessionExpiry/time.Second, 1<<32-1))
		cp.Properties.SessionExpiryInterval = &se
	}
	if cfg.Username != "" {
		cp.Username, cp.UsernameFlag = cfg.Username, true
	}
	if pw != nil {
		cp.Password, cp.PasswordFlag = pw, true
	}
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		conn.Close()
		if ca != nil {
			return nil, fmt.Errorf("upstream refused the connection with reason 0x%02x: %w", ca.ReasonCode, err)
		}
		return nil, err
	}
	u.maxQoS, u.retainOK = 2, true
	if p := ca.Properties; p != nil {
		if p.MaximumQoS != nil {
			u.maxQoS = *p.MaximumQoS
		}
		u.retainOK = p.RetainAvailable
		if p.MaximumPacketSize != nil {
			u.maxPacket = int(*p.MaximumPacketSize)
		}
	}
	go func() {
		<-c.Done()
		u.lost(errors.New("connection closed"))
	}()
	return u, nil
}

// serverDisconnect ends the connection with the reason of the upstream's
// DISCONNECT.
func (u *mqtt5) serverDisconnect(code byte, clientID string) {
	if code == 0x8E {
		// Two bridges (two boxes, or a copied config) with one client id
		// take each other's session in turn.
		u.lost(fmt.Errorf("upstream sent DISCONNECT 0x8E: another client connected with client id %q", clientID))
		return
	}
	u.lost(fmt.Errorf("upstream sent DISCONNECT with reason 0x%02x", code))
}

func fromPaho5(p *paho.Publish) *store.Message {
	m := &store.Message{Topic: p.Topic, Payload: p.Payload, QoS: p.QoS, Retain: p.Retain}
	if pp := p.Properties; pp != nil {
		m.ContentType, m.ResponseTopic, m.CorrelationData = pp.ContentType, pp.ResponseTopic, pp.CorrelationData
		if pp.PayloadFormat != nil {
			m.PayloadFormat = *pp.PayloadFormat
		}
		if pp.MessageExpiry != nil {
			m.Expiry = time.Now().Add(time.Duration(*pp.MessageExpiry) * time.Second)
		}
		for _, u := range pp.User {
			m.UserProperties = append(m.UserProperties, store.UserProperty{Key: u.Key, Value: u.Value})
		}
	}
	return m
}

func toPaho5(m *store.Message) *paho.Publish {
	p := &paho.Publish{Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, Retain: m.Retain, Properties: &paho.PublishProperties{
		ContentType: m.ContentType, ResponseTopic: m.ResponseTopic, CorrelationData: m.CorrelationData,
	}}
	if m.PayloadFormat != 0 {
		pf := m.PayloadFormat
		p.Properties.PayloadFormat = &pf
	}
	if !m.Expiry.IsZero() {
		// [MQTT-3.3.2-6] the expiry forwarded is what is left of it.
		left := uint32(max((time.Until(m.Expiry)+time.Second-1)/time.Second, 1))
		p.Properties.MessageExpiry = &left
	}
	for _, u := range m.UserProperties {
		p.Properties.User = append(p.Properties.User, paho.UserProperty{Key: u.Key, Value: u.Value})
	}
	return p
}

func (u *mqtt5) Publish(seq uint64, m *store.Message, done func(error)) {
	p := toPaho5(m)
	// An upstream that takes less (AWS IoT: no QoS 2) gets what it takes
	// rather than a message refused over and over (checklist #8, #20).
	p.QoS = min(p.QoS, u.maxQoS)
	if !u.retainOK {
		p.Retain = false
	}
	if u.maxPacket > 0 && packetSize(p) > u.maxPacket {
		done(fmt.Errorf("%w: %d bytes, over the upstream's maximum packet size %d", errRefused, packetSize(p), u.maxPacket))
		return
	}
	u.pub.Lock()
	defer u.pub.Unlock()
	u.us.publishing(seq, p.QoS)
	if p.QoS > 0 {
		u.sess.next = func(resp <-chan packets.ControlPacket) {
			select {
			case r := <-resp:
				done(pubResult(r))
			case <-u.done:
				done(errLost)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-u.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := u.c.PublishWithOptions(ctx, p, paho.PublishOptions{Method: paho.PublishMethod_AsyncSend})
	if u.sess.next != nil || p.QoS == 0 || err != nil && !errors.Is(err, paho.ErrNetworkErrorAfterStored) {
		// Not in the session: the callback will not run.
		u.sess.next = nil
		switch {
		case err == nil:
			done(nil)
		case errors.Is(err, paho.ErrInvalidArguments):
			done(fmt.Errorf("%w: %v", errRefused, err))
		default:
			done(fmt.Errorf("%w: %v", errLost, err))
		}
	}
}

// packetSize is an upper bound of p's size on the wire.
func packetSize(p *paho.Publish) int {
	n := 5 + 2 + len(p.Topic) + 2 + 4 + len(p.Payload)
	if pp := p.Properties; pp != nil {
		n += 16 + len(pp.ContentType) + len(pp.ResponseTopic) + len(pp.CorrelationData)
		for _, u := range pp.User {
			n += 5 + len(u.Key) + len(u.Value)
		}
	}
	return n
}

// pubResult reads the upstream's answer to a QoS 1/2 PUBLISH.
func pubResult(r packets.ControlPacket) error {
	var rc byte
	switch p := r.Content.(type) {
	case *packets.Puback:
		rc = p.ReasonCode
	case *packets.Pubrec:
		rc = p.ReasonCode
	case *packets.Pubcomp:
		rc = p.ReasonCode
	default:
		return errLost // the session ended first
	}
	if rc >= 0x80 {
		return fmt.Errorf("%w: reason 0x%02x", errRefused, rc)
	}
	return nil
}

func (u *mqtt5) Subscribe(ctx context.Context, subs []remoteSub) error {
	if len(subs) == 0 {
		return nil
	}
	s := &paho.Subscribe{}
	for _, r := range subs {
		// No Local: what this bridge published upstream does not come
		// back; Retain As Published keeps the retain flag of live
		// messages.
		s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: r.Filter, QoS: r.QoS, NoLocal: true, RetainAsPublished: true})
	}
	ctx, cancel := u.untilLost(ctx)
	defer cancel()
	sa, err := u.c.Subscribe(ctx, s)
	if err != nil {
		if u.lostFirst() {
			return u.Err()
		}
		return err
	}
	for i, rc := range sa.Reasons {
		if rc >= 0x80 {
			return fmt.Errorf("subscription to %q refused with reason 0x%02x", subs[i].Filter, rc)
		}
	}
	return nil
}

func (u *mqtt5) Unsubscribe(ctx context.Context, filters []string) error {
	ctx, cancel := u.untilLost(ctx)
	defer cancel()
	ua, err := u.c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: filters})
	if err != nil && u.lostFirst() {
		return u.Err()
	}
	if err != nil && ua != nil {
		return fmt.Errorf("%w: %v", errRefused, err) // a reason code of 0x80 or more
	}
	return err
}

// untilLost returns ctx, also cancelled when the connection is lost:
// paho.golang's Subscribe and Unsubscribe wait for their acknowledgement
// until their context ends, also when the connection was cut before it
// came (checklist #9), and the bridge's own timeout is long.
func (u *mqtt5) untilLost(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-u.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// lostFirst reports whether the connection is lost.
func (u *mqtt5) lostFirst() bool {
	select {
	case <-u.done:
		return true
	default:
		return false
	}
}

func (u *mqtt5) Close() {
	u.c.Disconnect(&paho.Disconnect{ReasonCode: 0})
	u.lost(errors.New("closed"))
	u.sess.Close()
}
