package mqtt_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/core"
)

// client5 is a paho.golang (MQTT 5) client whose messages land on a
// channel.
type client5 struct {
	*paho.Client
	nc       net.Conn
	msgs     chan *paho.Publish
	connack  *paho.Connack
	serverDC chan *paho.Disconnect
}

type conn5 func(*paho.Connect)

func connect5(t *testing.T, addr, id string, opts ...conn5) *client5 {
	t.Helper()
	c, err := tryConnect5(addr, id, opts...)
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}); c.nc.Close() })
	return c
}

func tryConnect5(addr, id string, opts ...conn5) (*client5, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &client5{nc: nc, msgs: make(chan *paho.Publish, 1000), serverDC: make(chan *paho.Disconnect, 1)}
	c.Client = paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			c.msgs <- pr.Packet
			return true, nil
		}},
		OnServerDisconnect: func(d *paho.Disconnect) { c.serverDC <- d },
	})
	cp := &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30, Properties: &paho.ConnectProperties{}}
	for _, o := range opts {
		o(cp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	c.connack = ca
	if err != nil {
		nc.Close()
		return c, err
	}
	return c, nil
}

type pahoPublish = paho.Publish

func u32(v uint32) *uint32 { return &v }
func u16(v uint16) *uint16 { return &v }

func (c *client5) sub(t *testing.T, s *paho.Subscribe) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sa, err := c.Subscribe(ctx, s)
	if err != nil && sa == nil {
		t.Fatalf("subscribe: %v", err)
	}
	return sa.Reasons
}

func (c *client5) pub(t *testing.T, p *paho.Publish) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Publish(ctx, p)
	if err != nil && r == nil {
		t.Fatalf("publish %s: %v", p.Topic, err)
	}
	if r == nil {
		return 0
	}
	return r.ReasonCode
}

func subOne(filter string, qos byte) *paho.Subscribe {
	return &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}}
}

func TestV5AssignedClientIDAndConnackProperties(t *testing.T) {
	ts := startServer(t)
	c := connect5(t, ts.tcp(), "", func(cp *paho.Connect) { cp.Properties.RequestResponseInfo = true })
	p := c.connack.Properties
	if p.AssignedClientID == "" {
		t.Fatal("no assigned client id for an empty client id")
	}
	if p.ReceiveMaximum == nil || *p.ReceiveMaximum != 32 || p.TopicAliasMaximum == nil || *p.TopicAliasMaximum != 16 {
		t.Fatalf("connack properties: %+v", p)
	}
	if p.ResponseInfo == "" {
		t.Fatal("response information requested but not sent")
	}
}

func TestV5PropertiesPassThroughAndExpiryRewritten(t *testing.T) {
	ts := startServer(t)
	sub := connect5(t, ts.tcp(), "sub", func(cp *paho.Connect) {
		cp.CleanStart = false
		cp.Properties.SessionExpiryInterval = u32(300)
	})
	sub.sub(t, subOne("props/#", 1))
	sub.Disconnect(&paho.Disconnect{})
	// The messages below must find the session offline: published while
	// the DISCONNECT is still on its way, they would be in flight, and a
	// message whose delivery has started is completed whatever its
	// expiry [MQTT-3.3.2-5].
	waitFor(t, "the session offline", func() bool {
		s, ok := ts.broker.Session("", "sub")
		return ok && !s.Connected
	})

	pub := connect5(t, ts.tcp(), "pub")
	pf := byte(1)
	pub.pub(t, &paho.Publish{Topic: "props/a", QoS: 1, Payload: []byte("hello"), Properties: &paho.PublishProperties{
		ContentType: "text/plain", ResponseTopic: "reply/here", CorrelationData: []byte{1, 2, 3},
		PayloadFormat: &pf, MessageExpiry: u32(100),
		User: paho.UserProperties{{Key: "k1", Value: "v1"}, {Key: "k1", Value: "v2"}},
	}})
	pub.pub(t, &paho.Publish{Topic: "props/short", QoS: 1, Payload: []byte("expires"), Properties: &paho.PublishProperties{MessageExpiry: u32(1)}})
	// Let the short-lived message expire while the subscriber is offline.
	time.Sleep(1100 * time.Millisecond)

	sub = connect5(t, ts.tcp(), "sub", func(cp *paho.Connect) {
		cp.CleanStart = false
		cp.Properties.SessionExpiryInterval = u32(300)
	})
	if !sub.connack.SessionPresent {
		t.Fatal("session not present on resume")
	}
	m := recv(t, sub.msgs, "message with properties")
	pp := m.Properties
	if string(m.Payload) != "hello" || pp.ContentType != "text/plain" || pp.ResponseTopic != "reply/here" ||
		string(pp.CorrelationData) != "\x01\x02\x03" || pp.PayloadFormat == nil || *pp.PayloadFormat != 1 {
		t.Fatalf("properties lost: %+v", pp)
	}
	if len(pp.User) != 2 || pp.User[0] != (paho.UserProperty{Key: "k1", Value: "v1"}) || pp.User[1].Value != "v2" {
		t.Fatalf("user properties: %+v", pp.User)
	}
	if pp.MessageExpiry == nil || *pp.MessageExpiry >= 100 || *pp.MessageExpiry < 90 {
		t.Fatalf("message expiry not rewritten to the remaining time: %v", pp.MessageExpiry)
	}
	pub.pub(t, &paho.Publish{Topic: "props/end", QoS: 1, Payload: []byte("end")})
	if m := recv(t, sub.msgs, "end"); m.Topic != "props/end" {
		t.Fatalf("expired message delivered: %s %q", m.Topic, m.Payload)
	}
}

func TestV5SubscriptionIdentifiersOverlapDeliveredOnce(t *testing.T) {
	ts := startServer(t)
	c := connect5(t, ts.tcp(), "ids")
	c.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "o/#", QoS: 0}}, Properties: &paho.SubscribeProperties{SubscriptionIdentifier: ptr(7)}})
	c.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "o/+", QoS: 2}}, Properties: &paho.SubscribeProperties{SubscriptionIdentifier: ptr(9)}})
	c.sub(t, subOne("o/x", 1))
	c.pub(t, &paho.Publish{Topic: "o/x", QoS: 2, Payload: []byte("once")})
	m := recv(t, c.msgs, "overlapping delivery")
	if m.QoS != 2 {
		t.Fatalf("QoS %d, want the highest granted (2)", m.QoS)
	}
	ids := map[int]bool{}
	// paho.golang exposes one identifier; read them all from the raw
	// properties is not possible, so check the one it gives is ours.
	if m.Properties.SubscriptionIdentifier != nil {
		ids[*m.Properties.SubscriptionIdentifier] = true
	}
	if !ids[7] && !ids[9] {
		t.Fatalf("subscription identifiers missing: %+v", m.Properties)
	}
	c.pub(t, &paho.Publish{Topic: "o/end", QoS: 1, Payload: []byte("end")})
	if m := recv(t, c.msgs, "end"); m.Topic != "o/end" {
		t.Fatalf("overlapping subscriptions delivered twice: %s", m.Topic)
	}
}

func ptr(v int) *int { return &v }

func TestV5NoLocalRetainAsPublishedRetainHandling(t *testing.T) {
	ts := startServer(t)
	c := connect5(t, ts.tcp(), "self")
	pub := connect5(t, ts.tcp(), "other")
	pub.pub(t, &paho.Publish{Topic: "rh/x", QoS: 1, Retain: true, Payload: []byte("kept")})
	c.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "nl/#", QoS: 1, NoLocal: true},
		{Topic: "rap/#", QoS: 1, RetainAsPublished: true},
		{Topic: "rh/#", QoS: 1, RetainHandling: 2},
	}})
	c.pub(t, &paho.Publish{Topic: "nl/mine", QoS: 1, Payload: []byte("own")})
	pub.pub(t, &paho.Publish{Topic: "rap/a", QoS: 1, Retain: true, Payload: []byte("rap")})
	m := recv(t, c.msgs, "retain as published")
	if m.Topic != "rap/a" || !m.Retain {
		t.Fatalf("got %s retain=%v; want rap/a with retain kept (own nl/ message must not arrive)", m.Topic, m.Retain)
	}
	// Retain handling 1 sends retained messages only for a new subscription.
	c.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "rh/+", QoS: 1, RetainHandling: 1}}})
	if m := recv(t, c.msgs, "retained on new subscription"); m.Topic != "rh/x" || !m.Retain {
		t.Fatalf("got %+v", m)
	}
	c.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "rh/+", QoS: 1, RetainHandling: 1}}})
	pub.pub(t, &paho.Publish{Topic: "nl/end", QoS: 1, Payload: []byte("end")})
	if m := recv(t, c.msgs, "end"); m.Topic != "nl/end" {
		t.Fatalf("retained resent for an existing subscription: %s", m.Topic)
	}
}

func TestV5TopicAliasBothWays(t *testing.T) {
	ts := startServer(t)
	c := connect5(t, ts.tcp(), "alias", func(cp *paho.Connect) { cp.Properties.TopicAliasMaximum = u16(4) })
	c.sub(t, subOne("alias/#", 1))
	// Client to server: set alias 3, then use it with an empty topic.
	c.pub(t, &paho.Publish{Topic: "alias/long/topic", QoS: 1, Payload: []byte("a"), Properties: &paho.PublishProperties{TopicAlias: u16(3)}})
	c.pub(t, &paho.Publish{Topic: "", QoS: 1, Payload: []byte("b"), Properties: &paho.PublishProperties{TopicAlias: u16(3)}})
	// Server to client: the first delivery sets an alias with the topic,
	// the second sends the alias alone.
	first := recv(t, c.msgs, "a")
	second := recv(t, c.msgs, "b")
	if string(first.Payload) != "a" || first.Topic != "alias/long/topic" || first.Properties.TopicAlias == nil {
		t.Fatalf("first delivery: topic %q alias %v", first.Topic, first.Properties.TopicAlias)
	}
	if string(second.Payload) != "b" || second.Topic != "" || second.Properties.TopicAlias == nil ||
		*second.Properties.TopicAlias != *first.Properties.TopicAlias {
		t.Fatalf("second delivery: topic %q alias %v, want the alias alone", second.Topic, second.Properties.TopicAlias)
	}
}

func TestV5MaximumPacketSizeDropsOversized(t *testing.T) {
	ts := startServer(t)
	c := connect5(t, ts.tcp(), "small", func(cp *paho.Connect) { cp.Properties.MaximumPacketSize = u32(200) })
	c.sub(t, subOne("big/#", 1))
	pub := connect5(t, ts.tcp(), "pub")
	pub.pub(t, &paho.Publish{Topic: "big/1", QoS: 1, Payload: make([]byte, 500)})
	pub.pub(t, &paho.Publish{Topic: "big/2", QoS: 1, Payload: []byte("fits")})
	if m := recv(t, c.msgs, "small message"); m.Topic != "big/2" {
		t.Fatalf("oversized message was sent: %s (%d bytes)", m.Topic, len(m.Payload))
	}
}

// TestV5OversizedQoS0IsNotCountedSent: a QoS 0 delivery dropped for the
// client's Maximum Packet Size leaves the messages and payload bytes sent
// to MQTT clients at what did go out.
func TestV5OversizedQoS0IsNotCountedSent(t *testing.T) {
	ts := startServer(t)
	c := connect5(t, ts.tcp(), "small", func(cp *paho.Connect) { cp.Properties.MaximumPacketSize = u32(200) })
	c.sub(t, subOne("big/#", 0))
	pub := connect5(t, ts.tcp(), "pub")
	pub.pub(t, &paho.Publish{Topic: "big/1", QoS: 1, Payload: make([]byte, 500)})
	pub.pub(t, &paho.Publish{Topic: "big/2", QoS: 1, Payload: []byte("fits")})
	if m := recv(t, c.msgs, "small message"); m.Topic != "big/2" {
		t.Fatalf("oversized message was sent: %s (%d bytes)", m.Topic, len(m.Payload))
	}
	for _, mc := range ts.broker.MessageCounts() {
		if mc.Protocol == "mqtt" && mc.QoS == 0 && (mc.Sent != 1 || mc.SentBytes != 4) {
			t.Errorf("mqtt QoS 0 sent %d messages, %d bytes; want 1 and 4", mc.Sent, mc.SentBytes)
		}
	}
}

func TestV5WillDelayAndTakeover(t *testing.T) {
	ts := startServer(t)
	w := connect5(t, ts.tcp(), "watch")
	w.sub(t, subOne("wd/#", 1))

	withWill := func(delay uint32) conn5 {
		return func(cp *paho.Connect) {
			cp.CleanStart = false
			cp.Properties.SessionExpiryInterval = u32(60)
			cp.WillMessage = &paho.WillMessage{Topic: "wd/dev", Payload: []byte("dead"), QoS: 1}
			cp.WillProperties = &paho.WillProperties{WillDelayInterval: u32(delay)}
		}
	}
	// Takeover with a will delay: the new connection resumes the session
	// before the delay elapses, so no will [MQTT-3.1.3-9]; the old
	// connection is told 0x8E.
	old := connect5(t, ts.tcp(), "dev", withWill(30))
	connect5(t, ts.tcp(), "dev", withWill(30))
	// The reason code 0x8E itself is checked by TestTakeoverSendsDisconnect8E.
	recv(t, old.Done(), "old connection closed")
	// DISCONNECT with reason 0x04 publishes the will (delay 0 here).
	c := connect5(t, ts.tcp(), "dev2", withWill(0))
	c.Disconnect(&paho.Disconnect{ReasonCode: 0x04})
	if m := recv(t, w.msgs, "will"); string(m.Payload) != "dead" {
		t.Fatalf("got %+v", m)
	}
	// Normal DISCONNECT: no will; a delayed will after a lost link fires
	// after its delay.
	c3 := connect5(t, ts.tcp(), "dev3", withWill(1))
	c3.nc.Close()
	start := time.Now()
	m := recv(t, w.msgs, "delayed will")
	if string(m.Payload) != "dead" || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("delayed will %q after %v", m.Payload, time.Since(start))
	}
	none(t, w.msgs, "the taken-over client's will")
}

func TestV5DeniedPublishAndSubscribeReasonCodes(t *testing.T) {
	ts := startServer(t, func(bc *core.Config, _ *mqtt.Config) {
		bc.Authorizer = denyTopics{"secret/x": true, "secret/#": true}
	})
	c := connect5(t, ts.tcp(), "deny")
	if got := c.sub(t, subOne("secret/#", 1)); len(got) != 1 || got[0] != 0x87 {
		t.Fatalf("SUBACK %v, want [0x87]", got)
	}
	if rc := c.pub(t, &paho.Publish{Topic: "secret/x", QoS: 1, Payload: []byte("x")}); rc != 0x87 {
		t.Fatalf("PUBACK 0x%02X, want 0x87", rc)
	}
	if rc := c.pub(t, &paho.Publish{Topic: "secret/x", QoS: 2, Payload: []byte("x")}); rc != 0x87 {
		t.Fatalf("PUBREC 0x%02X, want 0x87", rc)
	}
	if rc := c.pub(t, &paho.Publish{Topic: "open/x", QoS: 1, Payload: []byte("x")}); rc != 0x10 {
		t.Fatalf("PUBACK 0x%02X, want 0x10 (no matching subscribers)", rc)
	}
}

type denyTopics map[string]bool

func (d denyTopics) Authorize(_ context.Context, _ *core.ClientInfo, _ core.Action, t string) (core.Verdict, error) {
	if d[t] {
		return core.Deny, nil
	}
	return core.Allow, nil
}

func TestV5SharedSubscriptionNoRetained(t *testing.T) {
	ts := startServer(t)
	pub := connect5(t, ts.tcp(), "pub")
	pub.pub(t, &paho.Publish{Topic: "sh/x", QoS: 1, Retain: true, Payload: []byte("retained")})
	c := connect5(t, ts.tcp(), "member")
	c.sub(t, subOne("$share/grp/sh/#", 1))
	pub.pub(t, &paho.Publish{Topic: "sh/y", QoS: 1, Payload: []byte("live")})
	if m := recv(t, c.msgs, "live"); m.Topic != "sh/y" {
		t.Fatalf("retained message sent to a shared subscription: %s", m.Topic)
	}
	// No Local on a shared subscription is a protocol error
	// [MQTT-3.8.3-4]; spec_test.go checks the DISCONNECT it gets.
}

func TestV5ManyClientsFanOut(t *testing.T) {
	ts := startServer(t)
	const n = 50
	subs := make([]*client5, n)
	for i := range subs {
		subs[i] = connect5(t, ts.tcp(), fmt.Sprintf("fan-%d", i))
		subs[i].sub(t, subOne("fan/+", 1))
	}
	pub := connect5(t, ts.tcp(), "pub")
	for i := range 20 {
		pub.pub(t, &paho.Publish{Topic: "fan/x", QoS: 1, Payload: []byte(fmt.Sprint(i))})
	}
	for _, s := range subs {
		for i := range 20 {
			if m := recv(t, s.msgs, "fan-out"); string(m.Payload) != fmt.Sprint(i) {
				t.Fatalf("out of order: got %q want %d", m.Payload, i)
			}
		}
	}
}
