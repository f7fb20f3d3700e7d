package mqtt_test

import (
	"fmt"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
)

// A session with expiry 0 ends with its connection, also when a takeover
// ends it: the new connection gets a new session whatever its Clean Start
// says, and the old connection's will is published [MQTT-3.1.2-6]
// [MQTT-3.2.2-2] (MQTT 5 section 3.1.2.11.2).
func TestTakeoverOfSessionWithExpiryZeroStartsNewSession(t *testing.T) {
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		t.Run(fmt.Sprintf("level%d", v), func(t *testing.T) {
			ts := startServer(t)
			watcher := dialRaw(t, ts.tcp(), v)
			watcher.connect("watcher", true)
			watcher.send(&packet.Packet{Type: packet.SUBSCRIBE, PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "will/tk", QoS: 0}}})
			watcher.expect(packet.SUBACK)

			a := dialRaw(t, ts.tcp(), v)
			a.connect("tk", true, func(p *packet.Packet) {
				p.HasWill, p.Will = true, packet.Will{Topic: "will/tk", Payload: []byte("gone")}
			})
			a.send(&packet.Packet{Type: packet.SUBSCRIBE, PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "tk/#", QoS: 1}}})
			a.expect(packet.SUBACK)

			b := dialRaw(t, ts.tcp(), v)
			ack := b.connect("tk", false, func(p *packet.Packet) {
				p.Properties.SessionExpiry, p.Properties.HasSessionExpiry = 60, v == packet.V5
			})
			if ack.ReasonCode != 0 || ack.SessionPresent {
				t.Fatalf("takeover of a clean session: code 0x%02X, session present %v; want a new session", ack.ReasonCode, ack.SessionPresent)
			}
			a.expectClosed()
			if w := watcher.expect(packet.PUBLISH); string(w.Payload) != "gone" {
				t.Fatalf("will payload %q", w.Payload)
			}

			// A's subscription ended with A's session: B gets nothing of it,
			// while B's own subscription proves delivery works.
			b.send(&packet.Packet{Type: packet.SUBSCRIBE, PacketID: 2, Subscriptions: []packet.Subscription{{Filter: "mine", QoS: 0}}})
			b.expect(packet.SUBACK)
			watcher.send(&packet.Packet{Type: packet.PUBLISH, Topic: []byte("tk/x"), Payload: []byte("old sub")})
			watcher.send(&packet.Packet{Type: packet.PUBLISH, Topic: []byte("mine"), Payload: []byte("new sub")})
			if p := b.expect(packet.PUBLISH); string(p.Topic) != "mine" {
				t.Fatalf("B received %q from the ended session's subscription", p.Topic)
			}
		})
	}
}

// A persistent session taken over by Clean Start 0 is resumed, as before.
func TestTakeoverOfPersistentSessionResumes(t *testing.T) {
	ts := startServer(t)
	a := dialRaw(t, ts.tcp(), packet.V311)
	a.connect("keep", false)
	b := dialRaw(t, ts.tcp(), packet.V311)
	if ack := b.connect("keep", false); !ack.SessionPresent {
		t.Fatal("persistent session not resumed by takeover")
	}
	a.expectClosed()
}

// Assigned client ids come from a cryptographic source: no counter a
// client could predict, distinct, and short enough for any client
// [MQTT-3.1.3-6].
func TestAssignedClientIDsAreRandomAndShort(t *testing.T) {
	ts := startServer(t)
	shape := regexp.MustCompile(`^mqgate-[a-z2-7]{16}$`)
	seen := map[string]bool{}
	for range 5 {
		c := dialRaw(t, ts.tcp(), packet.V5)
		ack := c.connect("", true)
		id := ack.Properties.AssignedClientID
		if !shape.MatchString(id) || len(id) > 23 {
			t.Fatalf("assigned id %q: want mqgate- and 16 random base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("id %q assigned twice", id)
		}
		seen[id] = true
	}
}

// [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error:
// DISCONNECT 0x82 and close, not a SUBACK [MQTT-4.13.1-1].
func TestNoLocalOnSharedSubscriptionIsProtocolError(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts.tcp(), packet.V5)
	c.connect("nl", true)
	c.send(&packet.Packet{Type: packet.SUBSCRIBE, PacketID: 1, Subscriptions: []packet.Subscription{
		{Filter: "plain/x", QoS: 1},
		{Filter: "$share/g/a/b", QoS: 1, NoLocal: true},
	}})
	if code := c.expectClosed(); code != 0x82 {
		t.Fatalf("got reason %d, want DISCONNECT 0x82", code)
	}
	if n := ts.broker.SubscriptionCount(); n != 0 {
		t.Fatalf("%d subscriptions applied from a refused SUBSCRIBE", n)
	}
}

// [MQTT-3.1.2-24] a CONNACK larger than the client's Maximum Packet Size
// is not sent: the connection is closed and no session is made.
func TestConnackRespectsClientMaximumPacketSize(t *testing.T) {
	ts := startServer(t)
	small := dialRaw(t, ts.tcp(), packet.V5)
	small.send(&packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: packet.V5, CleanStart: true, KeepAlive: 30,
		Properties: packet.Properties{MaximumPacketSize: 20, HasMaximumPacketSize: true}})
	small.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(small.nc); len(b) != 0 {
		t.Fatalf("client allowing 20 bytes got %d bytes (%v)", len(b), err)
	}
	if n := ts.broker.SessionCount(); n != 0 {
		t.Fatalf("%d sessions after a refused CONNACK", n)
	}

	fits := dialRaw(t, ts.tcp(), packet.V5)
	ack := fits.connect("", true, func(p *packet.Packet) {
		p.Properties.MaximumPacketSize, p.Properties.HasMaximumPacketSize = 64, true
	})
	if ack.ReasonCode != 0 || ack.Properties.AssignedClientID == "" {
		t.Fatalf("CONNACK within 64 bytes: code 0x%02X, assigned %q", ack.ReasonCode, ack.Properties.AssignedClientID)
	}
}

// MQTT 3.1 has no Session Present flag: the CONNACK's first variable
// header byte is 0 also when a session is resumed.
func TestV31ConnackReservedByteZeroOnResume(t *testing.T) {
	ts := startServer(t)
	first := dialRaw(t, ts.tcp(), packet.V31)
	first.connect("p31", false)
	first.send(&packet.Packet{Type: packet.DISCONNECT})
	first.expectClosed()

	again := dialRaw(t, ts.tcp(), packet.V31)
	again.send(&packet.Packet{Type: packet.CONNECT, ProtocolName: "MQIsdp", Version: packet.V31, KeepAlive: 30, ClientID: "p31"})
	got := make([]byte, 4)
	again.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(again.nc, got); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x20, 0x02, 0x00, 0x00}; string(got) != string(want) {
		t.Fatalf("3.1 CONNACK % X, want % X", got, want)
	}

	// 3.1.1 keeps its flag.
	v4 := dialRaw(t, ts.tcp(), packet.V311)
	v4.connect("p311", false)
	v4.send(&packet.Packet{Type: packet.DISCONNECT})
	v4.expectClosed()
	v4b := dialRaw(t, ts.tcp(), packet.V311)
	if ack := v4b.connect("p311", false); !ack.SessionPresent {
		t.Fatal("3.1.1 resume without Session Present")
	}
}

// TestBannedClientRefusedAndKicked: a ban refuses a client at CONNECT
// with 0x8A Banned (v5) or return code 5 (3.1.1), and a new ban closes
// a connected client it matches with DISCONNECT 0x98.
func TestBannedClientRefusedAndKicked(t *testing.T) {
	ts := startServer(t)
	online := dialRaw(t, ts.tcp(), packet.V5)
	if ack := online.connect("victim", true); ack.ReasonCode != 0 {
		t.Fatalf("CONNACK 0x%02X", ack.ReasonCode)
	}
	if n, err := ts.broker.AddBan(core.Ban{Kind: core.BanClientID, Value: "victim"}); err != nil || n != 1 {
		t.Fatalf("ban: %d kicked, %v", n, err)
	}
	if code := online.expectClosed(); code != 0x98 {
		t.Fatalf("banned connection closed with 0x%02X, want 0x98", code)
	}
	if ack := dialRaw(t, ts.tcp(), packet.V5).connect("victim", true); ack.ReasonCode != 0x8A {
		t.Fatalf("v5 CONNACK 0x%02X, want 0x8A", ack.ReasonCode)
	}
	if ack := dialRaw(t, ts.tcp(), packet.V311).connect("victim", true); ack.ReasonCode != packet.ConnRefusedNotAuthorized {
		t.Fatalf("v3.1.1 CONNACK %d, want 5", ack.ReasonCode)
	}
	if ack := dialRaw(t, ts.tcp(), packet.V5).connect("someone-else", true); ack.ReasonCode != 0 {
		t.Fatalf("an unbanned client got 0x%02X", ack.ReasonCode)
	}
}
