package mqtt_test

import (
	"io"
	"testing"

	"github.com/mqgate/mqgate/adapters/mqtt/packet"
)

// TestOneAllocationPerMessage sends QoS 0 messages one at a time, each
// waited for, from a publisher to a subscriber over TCP: the pattern of
// a moderate message rate, where every message is a read, a publish and
// a write of its own. The broker allocates the message and nothing else.
func TestOneAllocationPerMessage(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("counts allocations over 2,000 round trips; not under the race detector")
	}
	ts := startServer(t)
	sub := dialRaw(t, ts.tcp(), packet.V311)
	sub.connect("alloc-sub", true)
	sub.send(&packet.Packet{Type: packet.SUBSCRIBE, Flags: 2, PacketID: 1,
		Subscriptions: []packet.Subscription{{Filter: "alloc/t"}}})
	sub.expect(packet.SUBACK)
	pub := dialRaw(t, ts.tcp(), packet.V311)
	pub.connect("alloc-pub", true)

	msg, _ := packet.Append(nil, &packet.Packet{Type: packet.PUBLISH, Topic: []byte("alloc/t"), Payload: make([]byte, 64)}, packet.V311)
	got := make([]byte, len(msg))
	roundTrip := func() {
		if _, err := pub.nc.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(sub.nc, got); err != nil {
			t.Fatal(err)
		}
	}
	roundTrip()
	n := testing.AllocsPerRun(2000, roundTrip)
	t.Logf("%.2f allocations per message", n)
	if n > 1.5 {
		t.Fatalf("%.2f allocations per message in the process, want 1 (the message)", n)
	}
}

// TestQoS1AllocationsPerMessage is TestOneAllocationPerMessage at QoS 1:
// each message is acknowledged by the subscriber before the next one, so
// the subscriber's inflight window empties after every message, as it
// does at a moderate rate. An empty window must not give up the memory
// the next message would allocate again.
func TestQoS1AllocationsPerMessage(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("counts allocations over 2,000 round trips; not under the race detector")
	}
	ts := startServer(t)
	sub := dialRaw(t, ts.tcp(), packet.V311)
	sub.connect("alloc1-sub", true)
	sub.send(&packet.Packet{Type: packet.SUBSCRIBE, Flags: 2, PacketID: 1,
		Subscriptions: []packet.Subscription{{Filter: "alloc/t", QoS: 1}}})
	sub.expect(packet.SUBACK)
	pub := dialRaw(t, ts.tcp(), packet.V311)
	pub.connect("alloc1-pub", true)

	msg, _ := packet.Append(nil, &packet.Packet{Type: packet.PUBLISH, QoS: 1, PacketID: 7,
		Topic: []byte("alloc/t"), Payload: make([]byte, 64)}, packet.V311)
	got := make([]byte, len(msg))
	puback := make([]byte, 4)
	// The subscriber's PUBACK, then a PINGREQ: its PINGRESP comes once the
	// broker has handled the PUBACK, so every message finds the window empty.
	ack := []byte{0x40, 2, 0, 0, 0xc0, 0}
	pingresp := make([]byte, 2)
	roundTrip := func() {
		if _, err := pub.nc.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(sub.nc, got); err != nil {
			t.Fatal(err)
		}
		// The packet id follows the 2-byte fixed header and the topic.
		id := got[2+2+len("alloc/t"):]
		ack[2], ack[3] = id[0], id[1]
		if _, err := sub.nc.Write(ack); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(sub.nc, pingresp); err != nil || pingresp[0] != 0xd0 {
			t.Fatalf("PINGRESP: % x, %v", pingresp, err)
		}
		if _, err := io.ReadFull(pub.nc, puback); err != nil || puback[0] != 0x40 {
			t.Fatalf("PUBACK: % x, %v", puback, err)
		}
	}
	roundTrip()
	n := testing.AllocsPerRun(2000, roundTrip)
	t.Logf("%.2f allocations per message", n)
	if n > 1.5 {
		t.Fatalf("%.2f allocations per message in the process, want 1 (the message)", n)
	}
}

// TestQoS2InboundAllocationsPerMessage publishes at QoS 2, one message at
// a time through PUBREC, PUBREL and PUBCOMP, to a QoS 0 subscriber: the
// publisher's set of ids awaiting PUBREL empties after every message.
func TestQoS2InboundAllocationsPerMessage(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("counts allocations over 2,000 round trips; not under the race detector")
	}
	ts := startServer(t)
	sub := dialRaw(t, ts.tcp(), packet.V311)
	sub.connect("alloc2-sub", true)
	sub.send(&packet.Packet{Type: packet.SUBSCRIBE, Flags: 2, PacketID: 1,
		Subscriptions: []packet.Subscription{{Filter: "alloc/t"}}})
	sub.expect(packet.SUBACK)
	pub := dialRaw(t, ts.tcp(), packet.V311)
	pub.connect("alloc2-pub", true)

	msg, _ := packet.Append(nil, &packet.Packet{Type: packet.PUBLISH, QoS: 2, PacketID: 9,
		Topic: []byte("alloc/t"), Payload: make([]byte, 64)}, packet.V311)
	pubrel := []byte{0x62, 2, 0, 9}
	got := make([]byte, len(msg)-2) // delivered at QoS 0: no packet id
	ack := make([]byte, 4)
	roundTrip := func() {
		if _, err := pub.nc.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(pub.nc, ack); err != nil || ack[0] != 0x50 {
			t.Fatalf("PUBREC: % x, %v", ack, err)
		}
		if _, err := pub.nc.Write(pubrel); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(pub.nc, ack); err != nil || ack[0] != 0x70 {
			t.Fatalf("PUBCOMP: % x, %v", ack, err)
		}
		if _, err := io.ReadFull(sub.nc, got); err != nil {
			t.Fatal(err)
		}
	}
	roundTrip()
	n := testing.AllocsPerRun(2000, roundTrip)
	t.Logf("%.2f allocations per message", n)
	if n > 1.5 {
		t.Fatalf("%.2f allocations per message in the process, want 1 (the message)", n)
	}
}
