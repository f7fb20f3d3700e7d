package mqttsn

import (
	"context"
	"fmt"
	"testing"
	"time"

	snclient "github.com/energomonitor/bisquitt/client"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
)

func TestPublishFromMQTTSNToMQTT(t *testing.T) {
	e := startEnv(t)
	sub := e.mqttSubscribe("paho-sub", "#", 2)
	c, _ := e.snClient(snclient.ClientConfig{ClientID: "pub-1", CleanSession: true}, e.snAddr)
	if err := c.Register("sn/temp"); err != nil {
		t.Fatal(err)
	}
	for qos := uint8(0); qos <= 2; qos++ {
		payload := fmt.Sprintf("qos%d", qos)
		if err := c.Publish("sn/temp", []byte(payload), qos, false); err != nil {
			t.Fatalf("publish QoS %d: %v", qos, err)
		}
		m := recv(t, sub, payload)
		if m.topic != "sn/temp" || m.payload != payload || m.qos != qos {
			t.Fatalf("got %+v, want sn/temp %s QoS %d", m, payload, qos)
		}
	}
	// QoS -1 from a connected bisquitt client (its "QoS 3") on a short
	// and a predefined topic.
	if err := c.Publish("ab", []byte("short-minus-one"), 3, false); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, sub, "short"); m.topic != "ab" || m.payload != "short-minus-one" {
		t.Fatalf("got %+v", m)
	}
	if err := c.PublishPredefined(7, []byte("pre-minus-one"), 3, false); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, sub, "predefined"); m.topic != "pre/seven" || m.payload != "pre-minus-one" {
		t.Fatalf("got %+v", m)
	}
	// QoS -1 without any connection, as a raw datagram.
	r := e.raw()
	r.send(packet.Packet{Type: packet.PUBLISH, QoS: -1, TopicIDType: packet.TopicPredefined, TopicID: 1, Data: []byte("no-connection")})
	if m := recv(t, sub, "connectionless"); m.topic != "pre/one" || m.payload != "no-connection" {
		t.Fatalf("got %+v", m)
	}
	// Retained, and a 300-byte payload (3-octet length form).
	big := string(make([]byte, 300))
	if err := c.Publish("sn/temp", []byte(big), 1, true); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, sub, "big"); len(m.payload) != 300 || !m.retain && false {
		t.Fatalf("got %d bytes", len(m.payload))
	}
}

func TestQoSMinusOneOff(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.QoSMinusOne = false })
	sub := e.mqttSubscribe("paho-sub", "#", 0)
	r := e.raw()
	r.send(packet.Packet{Type: packet.PUBLISH, QoS: -1, TopicIDType: packet.TopicShort, TopicID: packet.ShortTopic("zz"), Data: []byte("x")})
	waitFor(t, "the datagram counted", func() bool { return e.gw.Stats().Unknown.Load() == 1 })
	select {
	case m := <-sub:
		t.Fatalf("QoS -1 delivered while off: %+v", m)
	default:
	}
}

func TestSubscribeOverMQTTSN(t *testing.T) {
	e := startEnv(t)
	pub := e.mqttClient("paho-pub")
	c, ch := e.snClient(snclient.ClientConfig{ClientID: "sub-1", CleanSession: true}, e.snAddr)
	if err := c.Subscribe("room/1/temp", 1, handler(ch)); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe("house/+/hum", 2, handler(ch)); err != nil {
		t.Fatal(err)
	}
	if err := c.SubscribePredefined(7, 1, handler(ch)); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe("xy", 0, handler(ch)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		topic string
		qos   byte
	}{{"room/1/temp", 1}, {"house/kitchen/hum", 2}, {"house/cellar/hum", 1}, {"pre/seven", 1}, {"xy", 0}, {"house/kitchen/hum", 2}}
	for i, tc := range cases {
		payload := fmt.Sprintf("m%d", i)
		e.mqttPublish(pub, tc.topic, tc.qos, false, payload)
		m := recv(t, ch, tc.topic)
		if m.topic != tc.topic || m.payload != payload || m.qos != tc.qos {
			t.Fatalf("got %+v, want %s %s QoS %d", m, tc.topic, payload, tc.qos)
		}
	}
	// bisquitt keeps one message id space for its own requests and the
	// gateway's publishes: while the last QoS 2 delivery still awaits its
	// PUBREL (a loaded machine), an UNSUBSCRIBE that drew the same id
	// would have its UNSUBACK taken for that exchange. Let it finish.
	waitFor(t, "the last delivery settled", func() bool {
		d, ok := e.broker.Session("mqttsn", "sub-1")
		return ok && d.Inflight == 0
	})
	if err := c.Unsubscribe("room/1/temp"); err != nil {
		t.Fatal(err)
	}
	e.mqttPublish(pub, "room/1/temp", 1, false, "after-unsubscribe")
	e.mqttPublish(pub, "xy", 0, false, "marker")
	if m := recv(t, ch, "marker"); m.payload != "marker" {
		t.Fatalf("got %+v after unsubscribing", m)
	}
}

func TestRetainedAfterSubscribe(t *testing.T) {
	e := startEnv(t)
	pub := e.mqttClient("paho-pub")
	e.mqttPublish(pub, "ret/a", 1, true, "kept")
	r := e.raw()
	r.connect("ret-1", true, 60)
	r.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: 1, MsgID: 1, TopicName: []byte("ret/#")})
	if p := r.expect(packet.SUBACK); p.TopicID != 0 || p.ReturnCode != packet.Accepted || p.QoS != 1 {
		t.Fatalf("SUBACK %+v, want topic id 0 for a wildcard", p)
	}
	reg := r.expect(packet.REGISTER)
	if string(reg.TopicName) != "ret/a" {
		t.Fatalf("REGISTER %q", reg.TopicName)
	}
	r.send(packet.Packet{Type: packet.REGACK, TopicID: reg.TopicID, MsgID: reg.MsgID})
	p := r.expect(packet.PUBLISH)
	if p.TopicID != reg.TopicID || !p.Retain || string(p.Data) != "kept" {
		t.Fatalf("PUBLISH %+v", p)
	}
	r.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID})
}

func TestWill(t *testing.T) {
	e := startEnv(t)
	sub := e.mqttSubscribe("paho-sub", "will/#", 1)
	// A bisquitt client with a will goes through the will exchange and
	// disconnects cleanly: no will.
	c, _ := e.snClient(snclient.ClientConfig{ClientID: "will-clean", CleanSession: true, WillTopic: "will/clean", WillPayload: []byte("clean"), WillQOS: 1}, e.snAddr)
	c.Close()
	waitFor(t, "clean client gone", func() bool { return e.clientState("will-clean") == stateGone })

	// A raw client with a will goes silent: the keep alive expires and the
	// will is published.
	r := e.raw()
	r.send(packet.Packet{Type: packet.CONNECT, Will: true, CleanSession: true, ProtocolID: packet.ProtocolID, Duration: 1, ClientID: []byte("will-lost")})
	r.expect(packet.WILLTOPICREQ)
	r.send(packet.Packet{Type: packet.WILLTOPIC, QoS: 1, TopicName: []byte("will/lost")})
	r.expect(packet.WILLMSGREQ)
	r.send(packet.Packet{Type: packet.WILLMSG, Data: []byte("gone")})
	if p := r.expect(packet.CONNACK); p.ReturnCode != packet.Accepted {
		t.Fatalf("CONNACK %d", p.ReturnCode)
	}
	// WILLMSGUPD changes the message.
	r.send(packet.Packet{Type: packet.WILLMSGUPD, Data: []byte("gone for good")})
	if p := r.expect(packet.WILLMSGRESP); p.ReturnCode != packet.Accepted {
		t.Fatalf("WILLMSGRESP %d", p.ReturnCode)
	}
	m := recv(t, sub, "will")
	if m.topic != "will/lost" || m.payload != "gone for good" {
		t.Fatalf("will %+v", m)
	}
	if e.gw.Stats().Lost.Load() == 0 {
		t.Fatal("lost client not counted")
	}

	// An empty WILLTOPICUPD deletes the will.
	r2 := e.raw()
	r2.send(packet.Packet{Type: packet.CONNECT, Will: true, CleanSession: true, ProtocolID: packet.ProtocolID, Duration: 1, ClientID: []byte("will-deleted")})
	r2.expect(packet.WILLTOPICREQ)
	r2.send(packet.Packet{Type: packet.WILLTOPIC, TopicName: []byte("will/deleted")})
	r2.expect(packet.WILLMSGREQ)
	r2.send(packet.Packet{Type: packet.WILLMSG, Data: []byte("x")})
	r2.expect(packet.CONNACK)
	r2.send(packet.Packet{Type: packet.WILLTOPICUPD})
	if p := r2.expect(packet.WILLTOPICRESP); p.ReturnCode != packet.Accepted {
		t.Fatalf("WILLTOPICRESP %d", p.ReturnCode)
	}
	waitFor(t, "silent client lost", func() bool { return e.clientState("will-deleted") == stateGone })
	pub := e.mqttClient("paho-pub")
	e.mqttPublish(pub, "will/marker", 1, false, "marker")
	if m := recv(t, sub, "marker"); m.topic != "will/marker" {
		t.Fatalf("deleted will was published: %+v", m)
	}
}

func TestSleepingClientWakesAndGetsQueuedMessages(t *testing.T) {
	e := startEnv(t)
	pub := e.mqttClient("paho-pub")
	r := e.raw()
	r.connect("raw-sleeper", false, 60)
	r.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: 1, MsgID: 1, TopicName: []byte("nap/#")})
	r.expect(packet.SUBACK)
	r.send(packet.Packet{Type: packet.DISCONNECT, HasDuration: true, Duration: 30})
	r.expect(packet.DISCONNECT)
	waitFor(t, "asleep", func() bool { return e.clientState("raw-sleeper") == stateAsleep })
	for i := range 3 {
		e.mqttPublish(pub, fmt.Sprintf("nap/%d", i), byte(i%2), false, fmt.Sprintf("q%d", i))
	}
	if b := r.readRaw(100 * time.Millisecond); b != nil {
		t.Fatalf("sleeping client was sent %x", b)
	}
	// [MQTT-SN 6.14] PINGREQ with the client id wakes it: queued messages
	// (with REGISTERs first), then PINGRESP.
	r.send(packet.Packet{Type: packet.PINGREQ, ClientID: []byte("raw-sleeper")})
	got := map[string]string{}
	names := map[uint16]string{}
	for {
		b := r.readRaw(10 * time.Second)
		var p packet.Packet
		if err := packet.Decode(b, &p); err != nil {
			t.Fatalf("decode %x: %v", b, err)
		}
		if p.Type == packet.PINGRESP {
			break
		}
		switch p.Type {
		case packet.REGISTER:
			names[p.TopicID] = string(p.TopicName)
			r.send(packet.Packet{Type: packet.REGACK, TopicID: p.TopicID, MsgID: p.MsgID})
		case packet.PUBLISH:
			got[names[p.TopicID]] = string(p.Data)
			if p.QoS == 1 {
				r.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID})
			}
		default:
			t.Fatalf("unexpected %v", p.Type)
		}
	}
	for i := range 3 {
		if got[fmt.Sprintf("nap/%d", i)] != fmt.Sprintf("q%d", i) {
			t.Fatalf("before PINGRESP got %v", got)
		}
	}
	if e.clientState("raw-sleeper") != stateAsleep {
		t.Fatal("client not back asleep after PINGRESP")
	}
}

func TestSleepTimerExpiryEndsClient(t *testing.T) {
	e := startEnv(t)
	sub := e.mqttSubscribe("paho-sub", "will/#", 1)
	r := e.raw()
	r.send(packet.Packet{Type: packet.CONNECT, Will: true, CleanSession: true, ProtocolID: packet.ProtocolID, Duration: 60, ClientID: []byte("oversleeper")})
	r.expect(packet.WILLTOPICREQ)
	r.send(packet.Packet{Type: packet.WILLTOPIC, TopicName: []byte("will/oversleeper")})
	r.expect(packet.WILLMSGREQ)
	r.send(packet.Packet{Type: packet.WILLMSG, Data: []byte("overslept")})
	r.expect(packet.CONNACK)
	r.send(packet.Packet{Type: packet.DISCONNECT, HasDuration: true, Duration: 1})
	r.expect(packet.DISCONNECT)
	if m := recv(t, sub, "will of the client that never woke"); m.payload != "overslept" {
		t.Fatalf("got %+v", m)
	}
	if e.clientState("oversleeper") != stateGone {
		t.Fatal("client still known")
	}
}

func TestNATRebindingKeepsSession(t *testing.T) {
	e := startEnv(t)
	pub := e.mqttClient("paho-pub")
	r1 := e.raw()
	r1.connect("nat-1", false, 60)
	r1.send(packet.Packet{Type: packet.REGISTER, MsgID: 1, TopicName: []byte("nat/up")})
	reg := r1.expect(packet.REGACK)
	r1.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: 1, MsgID: 2, TopicName: []byte("nat/down")})
	sack := r1.expect(packet.SUBACK)

	// Same client, new source port: PINGREQ with its client id moves it.
	r2 := e.raw()
	r2.send(packet.Packet{Type: packet.PINGREQ, ClientID: []byte("nat-1")})
	r2.expect(packet.PINGRESP)
	e.mqttPublish(pub, "nat/down", 1, false, "to-new-port")
	p := r2.expect(packet.PUBLISH)
	if p.TopicID != sack.TopicID || string(p.Data) != "to-new-port" {
		t.Fatalf("PUBLISH %+v", p)
	}
	r2.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID})
	if b := r1.readRaw(50 * time.Millisecond); b != nil {
		t.Fatalf("old port still receives %x", b)
	}
	// The old address no longer acts on the session.
	before := e.gw.Stats().Unknown.Load()
	r1.send(packet.Packet{Type: packet.PUBLISH, QoS: 1, TopicID: reg.TopicID, MsgID: 5, Data: []byte("stale")})
	waitFor(t, "stale datagram counted", func() bool { return e.gw.Stats().Unknown.Load() == before+1 })

	// A reconnect with CONNECT from a third port, clean session 0, keeps
	// the topic ids registered before.
	r3 := e.raw()
	r3.connect("nat-1", false, 60)
	sub := e.mqttSubscribe("paho-sub", "nat/up", 1)
	r3.send(packet.Packet{Type: packet.PUBLISH, QoS: 1, TopicID: reg.TopicID, MsgID: 6, Data: []byte("same-id")})
	if a := r3.expect(packet.PUBACK); a.ReturnCode != packet.Accepted {
		t.Fatalf("PUBACK %d: registration not kept", a.ReturnCode)
	}
	if m := recv(t, sub, "publish"); m.payload != "same-id" {
		t.Fatalf("got %+v", m)
	}
}

func TestAddressReusedByAnotherClient(t *testing.T) {
	e := startEnv(t)
	r := e.raw()
	r.connect("first", true, 60)
	r.connect("second", true, 60)
	waitFor(t, "first dropped", func() bool { return e.clientState("first") == stateGone })
	if e.clientState("second") != stateActive {
		t.Fatal("second not active")
	}
}

func TestReturnCodes(t *testing.T) {
	deny := denyTopics{"secret/x": true}
	e := startEnv(t, func(b *core.Config, _ *Config) { b.Authorizer = deny })
	r := e.raw()
	r.connect("rc-1", true, 60)
	// Wildcard REGISTER is refused.
	r.send(packet.Packet{Type: packet.REGISTER, MsgID: 1, TopicName: []byte("a/+")})
	if p := r.expect(packet.REGACK); p.ReturnCode != packet.RejectedNotSupported {
		t.Fatalf("wildcard REGACK %d", p.ReturnCode)
	}
	// Unknown topic id.
	r.send(packet.Packet{Type: packet.PUBLISH, QoS: 1, TopicID: 4242, MsgID: 2, Data: []byte("x")})
	if p := r.expect(packet.PUBACK); p.ReturnCode != packet.RejectedInvalidTopicID {
		t.Fatalf("PUBACK %d", p.ReturnCode)
	}
	// Unknown predefined id in SUBSCRIBE.
	r.send(packet.Packet{Type: packet.SUBSCRIBE, TopicIDType: packet.TopicPredefined, TopicID: 999, MsgID: 3})
	if p := r.expect(packet.SUBACK); p.ReturnCode != packet.RejectedInvalidTopicID {
		t.Fatalf("SUBACK %d", p.ReturnCode)
	}
	// Authorization denial: not supported, counted.
	r.send(packet.Packet{Type: packet.REGISTER, MsgID: 4, TopicName: []byte("secret/x")})
	reg := r.expect(packet.REGACK)
	r.send(packet.Packet{Type: packet.PUBLISH, QoS: 1, TopicID: reg.TopicID, MsgID: 5, Data: []byte("x")})
	if p := r.expect(packet.PUBACK); p.ReturnCode != packet.RejectedNotSupported {
		t.Fatalf("denied PUBACK %d", p.ReturnCode)
	}
	r.send(packet.Packet{Type: packet.SUBSCRIBE, MsgID: 6, TopicName: []byte("secret/x")})
	if p := r.expect(packet.SUBACK); p.ReturnCode != packet.RejectedNotSupported {
		t.Fatalf("denied SUBACK %d", p.ReturnCode)
	}
	if n := e.gw.Stats().Denied.Load(); n != 2 {
		t.Fatalf("denied = %d, want 2", n)
	}
	// QoS 2 inbound handshake.
	r.send(packet.Packet{Type: packet.REGISTER, MsgID: 7, TopicName: []byte("q2/x")})
	reg = r.expect(packet.REGACK)
	r.send(packet.Packet{Type: packet.PUBLISH, QoS: 2, TopicID: reg.TopicID, MsgID: 8, Data: []byte("x")})
	r.expect(packet.PUBREC)
	r.send(packet.Packet{Type: packet.PUBREL, MsgID: 8})
	r.expect(packet.PUBCOMP)
	// SEARCHGW is answered with GWINFO; PINGREQ with PINGRESP.
	r.send(packet.Packet{Type: packet.SEARCHGW})
	r.expect(packet.GWINFO)
	r.send(packet.Packet{Type: packet.PINGREQ})
	r.expect(packet.PINGRESP)
	r.send(packet.Packet{Type: packet.DISCONNECT})
	r.expect(packet.DISCONNECT)
}

type denyTopics map[string]bool

func (d denyTopics) Authorize(_ context.Context, _ *core.ClientInfo, _ core.Action, t string) (core.Verdict, error) {
	if d[t] {
		return core.Deny, nil
	}
	return core.Ignore, nil
}

func TestRetransmissionAndRegisterCongestion(t *testing.T) {
	e := startEnv(t)
	pub := e.mqttClient("paho-pub")
	r := e.raw()
	r.connect("retry-1", true, 60)
	r.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: 1, MsgID: 1, TopicName: []byte("rt/#")})
	r.expect(packet.SUBACK)
	e.mqttPublish(pub, "rt/a", 1, false, "x")
	reg := r.expect(packet.REGISTER)
	start := time.Now()
	// Congestion: the gateway waits Tretry before registering again.
	r.send(packet.Packet{Type: packet.REGACK, TopicID: reg.TopicID, MsgID: reg.MsgID, ReturnCode: packet.RejectedCongestion})
	reg2 := r.expect(packet.REGISTER)
	if time.Since(start) < 150*time.Millisecond {
		t.Fatalf("REGISTER again after %v, before Tretry", time.Since(start))
	}
	r.send(packet.Packet{Type: packet.REGACK, TopicID: reg2.TopicID, MsgID: reg2.MsgID})
	p := r.expect(packet.PUBLISH)
	if p.Dup {
		t.Fatal("first PUBLISH has DUP")
	}
	// Not acknowledged: resent with DUP after Tretry.
	p2 := r.expect(packet.PUBLISH)
	if !p2.Dup || p2.MsgID != p.MsgID {
		t.Fatalf("retransmission %+v", p2)
	}
	r.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID})
	// Nretry exhausted ends the client.
	e.mqttPublish(pub, "rt/a", 1, false, "y")
	waitFor(t, "client lost after retries", func() bool { return e.clientState("retry-1") == stateGone })
}

func TestMalformedDatagramsAreDroppedAndCounted(t *testing.T) {
	e := startEnv(t)
	r := e.raw()
	r.connect("victim", true, 60)
	bad := 0
	for _, f := range loadFixtures(t) {
		if f.Expect != "malformed" || len(f.Bytes) == 0 {
			continue
		}
		r.sendBytes(f.Bytes)
		bad++
	}
	waitFor(t, "every bad datagram counted", func() bool { return e.gw.Stats().Malformed.Load() == int64(bad) })
	r.send(packet.Packet{Type: packet.PINGREQ})
	r.expect(packet.PINGRESP)
	if e.clientState("victim") != stateActive {
		t.Fatal("client disturbed by malformed datagrams")
	}
}

func TestForwarderEncapsulation(t *testing.T) {
	e := startEnv(t)
	r := e.raw()
	fw := packet.Forward{Ctrl: 1, NodeID: []byte{0xab, 0xcd}}
	send := func(p packet.Packet) {
		msg, _ := packet.Append(nil, &p)
		b, _ := packet.AppendForward(nil, &fw, msg)
		r.sendBytes(b)
	}
	read := func(want packet.Type) packet.Packet {
		b := r.readRaw(10 * time.Second)
		var got packet.Forward
		inner, wrapped, err := packet.Unwrap(b, &got)
		if err != nil || !wrapped || string(got.NodeID) != string(fw.NodeID) {
			t.Fatalf("reply %x not encapsulated for node abcd: %v", b, err)
		}
		var p packet.Packet
		if err := packet.Decode(inner, &p); err != nil || p.Type != want {
			t.Fatalf("got %+v %v, want %v", p, err, want)
		}
		return p
	}
	send(packet.Packet{Type: packet.CONNECT, CleanSession: true, ProtocolID: packet.ProtocolID, Duration: 60, ClientID: []byte("behind-forwarder")})
	read(packet.CONNACK)
	send(packet.Packet{Type: packet.PINGREQ})
	read(packet.PINGRESP)
	// A second node behind the same forwarder is a different client.
	fw.NodeID = []byte{0x01}
	send(packet.Packet{Type: packet.CONNECT, CleanSession: true, ProtocolID: packet.ProtocolID, Duration: 60, ClientID: []byte("node-2")})
	read(packet.CONNACK)
	if e.clientState("behind-forwarder") != stateActive || e.clientState("node-2") != stateActive {
		t.Fatal("both nodes should be connected")
	}
}

func TestAdvertise(t *testing.T) {
	lc, err := netListenUDP()
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	startEnv(t, func(_ *core.Config, c *Config) {
		c.GatewayID = 9
		c.AdvertiseAddress = lc.LocalAddr().String()
		c.AdvertiseInterval = 100 * time.Millisecond
	})
	buf := make([]byte, 64)
	for range 2 {
		lc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := lc.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		var p packet.Packet
		if err := packet.Decode(buf[:n], &p); err != nil || p.Type != packet.ADVERTISE || p.GatewayID != 9 {
			t.Fatalf("got %+v %v", p, err)
		}
	}
}

func TestMaxClients(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.MaxClients = 1 })
	e.raw().connect("one", true, 60)
	r := e.raw()
	r.send(packet.Packet{Type: packet.CONNECT, CleanSession: true, ProtocolID: packet.ProtocolID, Duration: 60, ClientID: []byte("two")})
	if p := r.expect(packet.CONNACK); p.ReturnCode != packet.RejectedCongestion {
		t.Fatalf("CONNACK %d, want congestion", p.ReturnCode)
	}
}
