package mqtt_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/adapters/mqtt/packet/packettest"
	"github.com/mqgate/mqgate/core"
)

func fixtures(t *testing.T) []packettest.Fixture {
	t.Helper()
	fs, err := packettest.Load(filepath.Join("..", "..", "testdata", "mqtt"))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// probe proves the broker still serves other clients: a fresh client
// publishes to itself.
func probe(t *testing.T, ts *testServer) {
	t.Helper()
	c := dialRaw(t, ts.tcp(), packet.V311)
	c.connect("", true)
	c.send(&packet.Packet{Type: packet.SUBSCRIBE, Flags: 2, PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "probe", QoS: 1}}})
	c.expect(packet.SUBACK)
	c.send(&packet.Packet{Type: packet.PUBLISH, QoS: 1, PacketID: 2, Topic: []byte("probe"), Payload: []byte("alive")})
	var acked, delivered bool
	for range 2 {
		p, err := c.read()
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		acked = acked || p.Type == packet.PUBACK
		delivered = delivered || p.Type == packet.PUBLISH && string(p.Payload) == "alive"
	}
	if !acked || !delivered {
		t.Fatal("probe client not served")
	}
}

// TestMalformedPacketsCloseOnlyThatConnection sends every malformed fixture
// in testdata/mqtt to a connected client's socket and checks that the
// connection is closed (v5: after DISCONNECT with the fixture's reason
// code) while a bystander keeps its session and other clients are served.
func TestMalformedPacketsCloseOnlyThatConnection(t *testing.T) {
	ts := startServer(t)
	bystander := connect5(t, ts.tcp(), "bystander")
	bystander.sub(t, subOne("by/+", 1))
	n := 0
	for _, f := range fixtures(t) {
		code, isErr := f.Code()
		if !isErr || f.MaxSize != 0 || strings.Contains(f.Name, "-connect-") || strings.HasPrefix(f.Name, "c") ||
			f.Bytes[0]>>4 == byte(packet.CONNECT) {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			v := packet.Version(f.Version)
			c := dialRaw(t, ts.tcp(), v)
			c.connect("bad-"+f.Name, true)
			c.writeRaw(f.Bytes)
			got := c.expectClosed()
			if v == packet.V5 && got != int(code) && !(code == 0x95 && got == -1) {
				t.Errorf("%s: DISCONNECT reason %d (0x%02X), want 0x%02X", f.Description, got, got, code)
			}
			if v != packet.V5 && got != -1 {
				t.Errorf("v3 connection got a DISCONNECT (%d); servers never send one before v5", got)
			}
		})
		n++
	}
	if n < 40 {
		t.Fatalf("only %d malformed fixtures exercised", n)
	}
	bystander.pub(t, &pahoPublish{Topic: "by/x", QoS: 1, Payload: []byte("still here")})
	if m := recv(t, bystander.msgs, "bystander message"); string(m.Payload) != "still here" {
		t.Fatalf("got %q", m.Payload)
	}
	probe(t, ts)
}

// TestMalformedConnect sends each CONNECT fixture as the first packet: the
// connection is refused (v5: CONNACK with the reason code; v3: return code
// 1 for a bad protocol level) and closed.
func TestMalformedConnect(t *testing.T) {
	ts := startServer(t)
	for _, f := range fixtures(t) {
		code, isErr := f.Code()
		if !isErr || f.Bytes[0]>>4 != byte(packet.CONNECT) {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.Version(f.Version))
			c.writeRaw(f.Bytes)
			got := c.expectClosed()
			switch {
			case code == 0x84 && got != -1 && got != 0x84 && got != 1:
				t.Errorf("CONNACK code %d, want 0x84 (v5) or 1 (v3)", got)
			case code != 0x84 && f.Version == 5 && got != -1 && got != int(code):
				t.Errorf("CONNACK code 0x%02X, want 0x%02X", got, code)
			}
		})
	}
	probe(t, ts)
}

func TestProtocolViolations(t *testing.T) {
	ts := startServer(t)
	cases := []struct {
		name string
		v    packet.Version
		send func(c *rawClient)
		want int // v5 DISCONNECT reason, -1 for a silent close
	}{
		{"second CONNECT", packet.V5, func(c *rawClient) {
			c.send(&packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: 5, ClientID: "again"})
		}, 0x82},
		{"CONNACK sent to the server", packet.V5, func(c *rawClient) { c.send(&packet.Packet{Type: packet.CONNACK}) }, 0x82},
		{"SUBACK sent to the server", packet.V5, func(c *rawClient) {
			c.send(&packet.Packet{Type: packet.SUBACK, PacketID: 1, ReasonCodes: []byte{0}})
		}, 0x82},
		{"PINGRESP sent to the server v3", packet.V311, func(c *rawClient) { c.send(&packet.Packet{Type: packet.PINGRESP}) }, -1},
		{"AUTH without an authentication method", packet.V5, func(c *rawClient) { c.send(&packet.Packet{Type: packet.AUTH}) }, 0x82},
		{"topic alias above the maximum", packet.V5, func(c *rawClient) {
			p := &packet.Packet{Type: packet.PUBLISH, Topic: []byte("a")}
			p.Properties.TopicAlias, p.Properties.HasTopicAlias = 17, true
			c.send(p)
		}, 0x94},
		{"unknown topic alias with empty topic", packet.V5, func(c *rawClient) {
			p := &packet.Packet{Type: packet.PUBLISH}
			p.Properties.TopicAlias, p.Properties.HasTopicAlias = 3, true
			c.send(p)
		}, 0x82},
		{"control character in topic", packet.V5, func(c *rawClient) {
			c.send(&packet.Packet{Type: packet.PUBLISH, Topic: []byte("a\x01b")})
		}, 0x90},
		{"session expiry set on DISCONNECT after 0", packet.V5, func(c *rawClient) {
			p := &packet.Packet{Type: packet.DISCONNECT}
			p.Properties.SessionExpiry, p.Properties.HasSessionExpiry = 10, true
			c.send(p)
		}, 0x82},
		{"packet above maximum packet size", packet.V5, func(c *rawClient) {
			c.writeRaw([]byte{0x30, 0xff, 0xff, 0xff, 0x7f}) // 256 MiB declared, never sent
		}, 0x95},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), tc.v)
			c.connect("", true)
			tc.send(c)
			if got := c.expectClosed(); got != tc.want {
				t.Fatalf("got reason %d, want %d", got, tc.want)
			}
		})
	}
	probe(t, ts)
}

func TestFirstPacketRules(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, mc *mqtt.Config) { mc.ConnectTimeout = 200 * time.Millisecond })
	t.Run("no CONNECT within the connect timeout", func(t *testing.T) {
		c := dialRaw(t, ts.tcp(), packet.V311)
		if got := c.expectClosed(); got != -1 {
			t.Fatalf("got %d", got)
		}
	})
	connect, _ := packet.Append(nil, &packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: packet.V311, CleanStart: true, KeepAlive: 30, ClientID: "split"}, packet.V311)
	t.Run("CONNECT split across writes", func(t *testing.T) {
		c := dialRaw(t, ts.tcp(), packet.V311)
		c.writeRaw(connect[:5])
		time.Sleep(50 * time.Millisecond) // the first part is read on its own
		c.writeRaw(connect[5:])
		if ack := c.expect(packet.CONNACK); ack.ReasonCode != 0 {
			t.Fatalf("CONNACK %d", ack.ReasonCode)
		}
	})
	t.Run("part of a CONNECT, then nothing until the connect timeout", func(t *testing.T) {
		c := dialRaw(t, ts.tcp(), packet.V311)
		c.writeRaw(connect[:5])
		if got := c.expectClosed(); got != -1 {
			t.Fatalf("got %d", got)
		}
	})
	t.Run("PUBLISH before CONNECT", func(t *testing.T) {
		c := dialRaw(t, ts.tcp(), packet.V311)
		c.send(&packet.Packet{Type: packet.PUBLISH, Topic: []byte("a")})
		if got := c.expectClosed(); got != -1 {
			t.Fatalf("got %d", got)
		}
	})
	t.Run("HTTP request on the MQTT port", func(t *testing.T) {
		c := dialRaw(t, ts.tcp(), packet.V311)
		c.writeRaw([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		c.expectClosed()
	})
	t.Run("empty client id with clean session 0 in 3.1.1", func(t *testing.T) {
		c := dialRaw(t, ts.tcp(), packet.V311)
		if ack := c.connect("", false); ack.ReasonCode != packet.ConnRefusedIdentifierRejected {
			t.Fatalf("CONNACK %d, want 2", ack.ReasonCode)
		}
	})
	t.Run("enhanced authentication refused with 0x8C", func(t *testing.T) {
		c := dialRaw(t, ts.tcp(), packet.V5)
		ack := c.connect("auth", true, func(p *packet.Packet) { p.Properties.AuthMethod = "SCRAM-SHA-256" })
		if ack.ReasonCode != packet.BadAuthenticationMethod {
			t.Fatalf("CONNACK 0x%02X, want 0x8C", ack.ReasonCode)
		}
		c.expectClosed()
	})
	t.Run("MQTT 3.1 client", func(t *testing.T) {
		c := dialRaw(t, ts.tcp(), packet.V31)
		if ack := c.connect("old-client", true); ack.ReasonCode != 0 {
			t.Fatalf("CONNACK %d", ack.ReasonCode)
		}
	})
	t.Run("keepalive enforced at 1.5 times", func(t *testing.T) {
		c := dialRaw(t, ts.tcp(), packet.V5)
		c.connect("sleepy", true, func(p *packet.Packet) { p.KeepAlive = 1 })
		start := time.Now()
		c.expectClosed()
		if d := time.Since(start); d < 1400*time.Millisecond {
			t.Fatalf("closed after %v, before 1.5 x keepalive", d)
		}
	})
	t.Run("CONNECT larger than the pre-auth cap", func(t *testing.T) {
		c := dialRaw(t, ts.tcp(), packet.V311)
		c.writeRaw([]byte{0x10, 0x80, 0x80, 0x10}) // 256 KiB declared
		c.expectClosed()
	})
	probe(t, ts)
}

func TestMaxConnectionsPerListener(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, mc *mqtt.Config) { mc.Listeners[0].MaxConnections = 2 })
	a := dialRaw(t, ts.tcp(), packet.V311)
	a.connect("a", true)
	b := dialRaw(t, ts.tcp(), packet.V311)
	b.connect("b", true)
	c := dialRaw(t, ts.tcp(), packet.V311)
	c.send(&packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: 4, CleanStart: true, ClientID: "c"})
	c.expectClosed()
	a.send(&packet.Packet{Type: packet.DISCONNECT})
	a.expectClosed()
	waitFor(t, "slot freed", func() bool { return ts.broker.Stats().ClientsConnected.Load() == 1 })
	d := dialRaw(t, ts.tcp(), packet.V311)
	d.connect("d", true)
}

// TestQoS2ExactlyOnceAcrossReconnect publishes QoS 2, reconnects before
// PUBREL, retransmits the PUBLISH with DUP and then sends PUBREL on the new
// connection: the subscriber gets the message once, with its QoS and
// retain flag [MQTT-4.3.3-10] [MQTT-4.4.0-1].
func TestQoS2ExactlyOnceAcrossReconnect(t *testing.T) {
	ts := startServer(t)
	sub := connect5(t, ts.tcp(), "sub")
	sub.sub(t, subOne("q2/#", 2))

	session := func(p *packet.Packet) {
		p.Properties.SessionExpiry, p.Properties.HasSessionExpiry = 60, true
	}
	pub := dialRaw(t, ts.tcp(), packet.V5)
	pub.connect("qos2-pub", true, session)
	msg := &packet.Packet{Type: packet.PUBLISH, QoS: 2, PacketID: 7, Topic: []byte("q2/x"), Payload: []byte("once")}
	pub.send(msg)
	if rec := pub.expect(packet.PUBREC); rec.PacketID != 7 {
		t.Fatalf("PUBREC id %d", rec.PacketID)
	}
	pub.nc.Close()

	pub = dialRaw(t, ts.tcp(), packet.V5)
	if ack := pub.connect("qos2-pub", false, session); !ack.SessionPresent {
		t.Fatal("session not present")
	}
	msg.Dup = true
	pub.send(msg)
	if rec := pub.expect(packet.PUBREC); rec.PacketID != 7 || rec.ReasonCode >= 0x80 {
		t.Fatalf("PUBREC for the retransmission: id %d code 0x%02X", rec.PacketID, rec.ReasonCode)
	}
	pub.send(&packet.Packet{Type: packet.PUBREL, Flags: 2, PacketID: 7})
	if comp := pub.expect(packet.PUBCOMP); comp.ReasonCode != 0 {
		t.Fatalf("PUBCOMP code 0x%02X", comp.ReasonCode)
	}
	pub.send(&packet.Packet{Type: packet.PUBREL, Flags: 2, PacketID: 7})
	if comp := pub.expect(packet.PUBCOMP); comp.ReasonCode != 0x92 {
		t.Fatalf("PUBCOMP for an unknown id: code 0x%02X, want 0x92", comp.ReasonCode)
	}
	m := recv(t, sub.msgs, "QoS 2 message")
	if string(m.Payload) != "once" || m.QoS != 2 {
		t.Fatalf("got %+v", m)
	}
	pub.send(&packet.Packet{Type: packet.PUBLISH, QoS: 1, PacketID: 8, Topic: []byte("q2/end"), Payload: []byte("end")})
	pub.expect(packet.PUBACK)
	if m := recv(t, sub.msgs, "end"); m.Topic != "q2/end" {
		t.Fatalf("QoS 2 message delivered twice: %s %q", m.Topic, m.Payload)
	}
}

// TestOutboundQoS2ResumedWithPubrel checks the server side of QoS 2 across
// a reconnect: an unacknowledged PUBLISH is resent with DUP, and after
// PUBREC the PUBREL is resent on the next connection [MQTT-4.4.0-1].
func TestOutboundQoS2ResumedWithPubrel(t *testing.T) {
	ts := startServer(t)
	session := func(p *packet.Packet) {
		p.Properties.SessionExpiry, p.Properties.HasSessionExpiry = 60, true
	}
	c := dialRaw(t, ts.tcp(), packet.V5)
	c.connect("out", true, session)
	c.send(&packet.Packet{Type: packet.SUBSCRIBE, Flags: 2, PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "o2", QoS: 2}}})
	c.expect(packet.SUBACK)
	pub := connect5(t, ts.tcp(), "pub")
	pub.pub(t, &pahoPublish{Topic: "o2", QoS: 2, Payload: []byte("x")})
	first := c.expect(packet.PUBLISH)
	c.nc.Close()

	c = dialRaw(t, ts.tcp(), packet.V5)
	c.connect("out", false, session)
	again := c.expect(packet.PUBLISH)
	if !again.Dup || again.PacketID != first.PacketID || string(again.Payload) != "x" {
		t.Fatalf("resend: dup %v id %d (first %d)", again.Dup, again.PacketID, first.PacketID)
	}
	c.send(&packet.Packet{Type: packet.PUBREC, PacketID: again.PacketID})
	c.expect(packet.PUBREL)
	c.nc.Close()

	c = dialRaw(t, ts.tcp(), packet.V5)
	c.connect("out", false, session)
	if rel := c.expect(packet.PUBREL); rel.PacketID != first.PacketID {
		t.Fatalf("PUBREL id %d", rel.PacketID)
	}
	c.send(&packet.Packet{Type: packet.PUBCOMP, PacketID: first.PacketID})
	c.send(&packet.Packet{Type: packet.PINGREQ})
	c.expect(packet.PINGRESP)
}

// TestInboundReceiveMaximumEnforced: a client that leaves more QoS 2
// publishes unreleased than the server's Receive Maximum is disconnected
// with 0x93 [MQTT-3.3.4-7].
func TestInboundReceiveMaximumEnforced(t *testing.T) {
	ts := startServer(t, func(bc *core.Config, _ *mqtt.Config) { bc.MaxInboundQoS2 = 3 })
	c := dialRaw(t, ts.tcp(), packet.V5)
	c.connect("flood", true)
	for i := 1; i <= 4; i++ {
		c.send(&packet.Packet{Type: packet.PUBLISH, QoS: 2, PacketID: uint16(i), Topic: []byte("f"), Payload: []byte(fmt.Sprint(i))})
	}
	for range 3 {
		c.expect(packet.PUBREC)
	}
	if got := c.expectClosed(); got != 0x93 {
		t.Fatalf("got %d, want 0x93", got)
	}
}

// TestPacketIDsNotReusedBeforeAck fills a client's inflight window without
// acknowledging: the server never sends more than Receive Maximum and
// never reuses an unacknowledged id [MQTT-2.2.1-4].
func TestPacketIDsNotReusedBeforeAck(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts.tcp(), packet.V5)
	c.connect("window", true, func(p *packet.Packet) {
		p.Properties.ReceiveMaximum, p.Properties.HasReceiveMaximum = 3, true
	})
	c.send(&packet.Packet{Type: packet.SUBSCRIBE, Flags: 2, PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "w", QoS: 1}}})
	c.expect(packet.SUBACK)
	pub := connect5(t, ts.tcp(), "pub")
	for i := range 6 {
		pub.pub(t, &pahoPublish{Topic: "w", QoS: 1, Payload: []byte(fmt.Sprint(i))})
	}
	seen := map[uint16]bool{}
	for i := range 3 {
		p := c.expect(packet.PUBLISH)
		if seen[p.PacketID] || string(p.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d: id %d reused or payload %q", i, p.PacketID, p.Payload)
		}
		seen[p.PacketID] = true
	}
	c.send(&packet.Packet{Type: packet.PINGREQ})
	c.expect(packet.PINGRESP) // nothing beyond the window came before it
	for id := range seen {
		c.send(&packet.Packet{Type: packet.PUBACK, PacketID: id})
	}
	for i := 3; i < 6; i++ {
		if p := c.expect(packet.PUBLISH); string(p.Payload) != fmt.Sprint(i) {
			t.Fatalf("got %q want %d", p.Payload, i)
		}
	}
}

// TestSlowSubscriberIsCutOff: a subscriber that never reads is
// disconnected by the write deadline and its bounded queue, while a
// healthy subscriber on the same topic receives everything.
func TestSlowSubscriberIsCutOff(t *testing.T) {
	ts := startServer(t, func(bc *core.Config, mc *mqtt.Config) {
		mc.WriteTimeout = 300 * time.Millisecond
		bc.MaxQueued = 100
	})
	slow := dialRaw(t, ts.tcp(), packet.V311)
	slow.connect("slow", true)
	slow.send(&packet.Packet{Type: packet.SUBSCRIBE, Flags: 2, PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "flood", QoS: 0}}})
	slow.expect(packet.SUBACK)
	fast := connect5(t, ts.tcp(), "fast")
	fast.sub(t, subOne("flood", 0))
	pub := connect5(t, ts.tcp(), "pub")
	payload := make([]byte, 64*1024)
	const n = 200 // 12.5 MiB: far more than socket buffers hold
	for i := range n {
		payload[0] = byte(i)
		pub.pub(t, &pahoPublish{Topic: "flood", QoS: 0, Payload: payload})
		recv(t, fast.msgs, "fast subscriber's message")
	}
	waitFor(t, "slow subscriber disconnected", func() bool { return ts.broker.Stats().ClientsConnected.Load() == 2 })
	if ts.broker.Stats().MessagesDropped.Load() == 0 {
		t.Fatal("no drop counted for the slow subscriber")
	}
}

func TestServerKeepAliveAndV3KeepAliveLimit(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, mc *mqtt.Config) { mc.MaxKeepAlive = 10 })
	c := dialRaw(t, ts.tcp(), packet.V5)
	ack := c.connect("ka5", true, func(p *packet.Packet) { p.KeepAlive = 60 })
	if !ack.Properties.HasServerKeepAlive || ack.Properties.ServerKeepAlive != 10 {
		t.Fatalf("server keep alive %v/%d, want 10", ack.Properties.HasServerKeepAlive, ack.Properties.ServerKeepAlive)
	}
	v3 := dialRaw(t, ts.tcp(), packet.V311)
	if ack := v3.connect("ka3", true, func(p *packet.Packet) { p.KeepAlive = 60 }); ack.ReasonCode != packet.ConnRefusedIdentifierRejected {
		t.Fatalf("v3 keepalive above the maximum: CONNACK %d, want 2", ack.ReasonCode)
	}
}

// TestConnectFlapping connects the same client id from many sockets at
// once [MQTT-3.1.4-3]: the broker survives, exactly one connection stays.
func TestConnectFlapping(t *testing.T) {
	ts := startServer(t)
	const n = 30
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.Dial("tcp", ts.tcp())
			if err != nil {
				return
			}
			defer nc.Close()
			b, _ := packet.Append(nil, &packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: 5, CleanStart: i%2 == 0, ClientID: "flapper"}, packet.V5)
			nc.Write(b)
			pub, _ := packet.Append(nil, &packet.Packet{Type: packet.PUBLISH, Topic: []byte("flap"), Payload: []byte("x")}, packet.V5)
			nc.Write(pub)
			io.Copy(io.Discard, nc)
		}()
	}
	waitFor(t, "one flapper left", func() bool { return ts.broker.Stats().ClientsConnected.Load() == 1 })
	ts.srv.Stop(context.Background())
	wg.Wait()
	if got := ts.broker.SessionCount(); got > 1 {
		t.Fatalf("%d sessions for one client id", got)
	}
}

// TestRetainedNotResentOnResume: a resumed session keeps its subscriptions
// but does not get retained messages again: they follow a SUBSCRIBE, and
// a resume is not one.
func TestRetainedNotResentOnResume(t *testing.T) {
	ts := startServer(t)
	pub := connect5(t, ts.tcp(), "pub")
	pub.pub(t, &pahoPublish{Topic: "keep/x", QoS: 1, Retain: true, Payload: []byte("r")})
	c := dialRaw(t, ts.tcp(), packet.V311)
	c.connect("resumer", false)
	c.send(&packet.Packet{Type: packet.SUBSCRIBE, Flags: 2, PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "keep/#", QoS: 1}}})
	c.expect(packet.SUBACK)
	if p := c.expect(packet.PUBLISH); !p.Retain {
		t.Fatal("retained message without RETAIN on subscribe")
	} else {
		c.send(&packet.Packet{Type: packet.PUBACK, PacketID: p.PacketID})
	}
	c.send(&packet.Packet{Type: packet.DISCONNECT})
	c.expectClosed()
	c = dialRaw(t, ts.tcp(), packet.V311)
	if ack := c.connect("resumer", false); !ack.SessionPresent {
		t.Fatal("session not present")
	}
	c.send(&packet.Packet{Type: packet.PINGREQ})
	c.expect(packet.PINGRESP)
}

// TestWillIntoSysNotPublished: a will aimed at $SYS is dropped: $SYS
// belongs to the broker (MQTT 5 section 4.7.2).
func TestWillIntoSysNotPublished(t *testing.T) {
	ts := startServer(t)
	w := connect5(t, ts.tcp(), "watch")
	w.sub(t, subOne("$SYS/#", 0))
	w.sub(t, subOne("after", 0))
	c := dialRaw(t, ts.tcp(), packet.V311)
	c.connect("evil", true, func(p *packet.Packet) {
		p.HasWill, p.Will.Topic, p.Will.Payload = true, "$SYS/broker/version", []byte("fake")
	})
	c.nc.Close()
	waitFor(t, "will refused", func() bool { return ts.broker.Stats().PublishDenied.Load() == 1 })
	pub := connect5(t, ts.tcp(), "pub")
	pub.pub(t, &pahoPublish{Topic: "after", QoS: 1, Payload: []byte("a")})
	for {
		m := recv(t, w.msgs, "after")
		if m.Topic == "after" {
			break
		}
		if string(m.Payload) == "fake" {
			t.Fatal("a client's will was published into $SYS")
		}
	}
}

// TestBusyPublisherOutlivesTheLingerDeadline floods the broker for longer
// than a connection lingers between bursts: reads that keep finding data
// must not be cut off by the deadline of an earlier wait.
func TestBusyPublisherOutlivesTheLingerDeadline(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts.tcp(), packet.V311)
	c.connect("flood", true)
	// Many small packets per write keep every read of the broker full.
	var batch []byte
	for len(batch) < 256*1024 {
		batch, _ = packet.Append(batch, &packet.Packet{Type: packet.PUBLISH, Topic: []byte("flood"), Payload: make([]byte, 100)}, packet.V311)
	}
	for end := time.Now().Add(1600 * time.Millisecond); time.Now().Before(end); {
		c.writeRaw(batch)
	}
	c.send(&packet.Packet{Type: packet.PINGREQ})
	c.expect(packet.PINGRESP)
}

// TestLargeConnectThenIdle: a CONNECT larger than one read buffer, then
// silence past the connect timeout: the handshake's read deadline must
// not cut off the connection's later reads.
func TestLargeConnectThenIdle(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, mc *mqtt.Config) { mc.ConnectTimeout = 300 * time.Millisecond })
	c := dialRaw(t, ts.tcp(), packet.V311)
	c.connect("big", true, func(p *packet.Packet) {
		p.Username, p.HasUsername = "u", true
		p.Password, p.HasPassword = make([]byte, 6000), true
	})
	// Let the connect timeout pass: time itself is what is tested.
	time.Sleep(700 * time.Millisecond)
	c.send(&packet.Packet{Type: packet.PINGREQ})
	c.expect(packet.PINGRESP)
}
