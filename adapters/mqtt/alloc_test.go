package mqtt_test

import (
	"io"
	"testing"

	"github.com/mqgate/mqgate/adapters/mqtt/packet"
)

// allocPair connects a subscriber to alloc/t at subQoS and a publisher,
// for the allocation tests below.
func allocPair(t *testing.T, name string, subQoS byte) (pub, sub *rawClient) {
	t.Helper()
	if testing.Short() || raceEnabled {
		t.Skip("counts allocations over 2,000 round trips; not under the race detector")
	}
	ts := startServer(t)
	sub = dialRaw(t, ts.tcp(), packet.V311)
	sub.connect(name+"-sub", true)
	sub.send(&packet.Packet{Type: packet.SUBSCRIBE, Flags: 2, PacketID: 1,
		Subscriptions: []packet.Subscription{{Filter: "alloc/t", QoS: subQoS}}})
	sub.expect(packet.SUBACK)
	pub = dialRaw(t, ts.tcp(), packet.V311)
	pub.connect(name+"-pub", true)
	return pub, sub
}

// wantOneAllocation runs roundTrip, one message each, 2,000 times and
// fails if the process allocated more than the message per round trip.
func wantOneAllocation(t *testing.T, roundTrip func()) {
	t.Helper()
	roundTrip()
	n := testing.AllocsPerRun(2000, roundTrip)
	t.Logf("%.2f allocations per message", n)
	if n > 1.5 {
		t.Fatalf("%.2f allocations per message in the process, want 1 (the message)", n)
	}
}

func mustRead(t *testing.T, r *rawClient, b []byte) {
	t.Helper()
	if _, err := io.ReadFull(r.nc, b); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, r *rawClient, b []byte) {
	t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestOneAllocationPerMessage sends QoS 0 messages one at a time, each
// waited for, from a publisher to a subscriber over TCP: the pattern of
// a moderate message rate, where every message is a read, a publish and
// a write of its own. The broker allocates the message and nothing else.
func TestOneAllocationPerMessage(t *testing.T) {
	pub, sub := allocPair(t, "alloc0", 0)
	msg, _ := packet.Append(nil, &packet.Packet{Type: packet.PUBLISH, Topic: []byte("alloc/t"), Payload: make([]byte, 64)}, packet.V311)
	got := make([]byte, len(msg))
	wantOneAllocation(t, func() {
		mustWrite(t, pub, msg)
		mustRead(t, sub, got)
	})
}

// TestQoS1AllocationsPerMessage is TestOneAllocationPerMessage at QoS 1:
// each message is acknowledged by the subscriber before the next one, so
// the subscriber's inflight window empties after every message, as it
// does at a moderate rate. An empty window must not give up the memory
// the next message would allocate again.
func TestQoS1AllocationsPerMessage(t *testing.T) {
	pub, sub := allocPair(t, "alloc1", 1)
	msg, _ := packet.Append(nil, &packet.Packet{Type: packet.PUBLISH, QoS: 1, PacketID: 7,
		Topic: []byte("alloc/t"), Payload: make([]byte, 64)}, packet.V311)
	got := make([]byte, len(msg))
	puback := make([]byte, 4)
	// The subscriber's PUBACK, then a PINGREQ: its PINGRESP comes once the
	// broker has handled the PUBACK, so every message finds the window empty.
	ack := []byte{0x40, 2, 0, 0, 0xc0, 0}
	pingresp := make([]byte, 2)
	wantOneAllocation(t, func() {
		mustWrite(t, pub, msg)
		mustRead(t, sub, got)
		// The packet id follows the 2-byte fixed header and the topic.
		id := got[2+2+len("alloc/t"):]
		ack[2], ack[3] = id[0], id[1]
		mustWrite(t, sub, ack)
		if mustRead(t, sub, pingresp); pingresp[0] != 0xd0 {
			t.Fatalf("PINGRESP: % x", pingresp)
		}
		if mustRead(t, pub, puback); puback[0] != 0x40 {
			t.Fatalf("PUBACK: % x", puback)
		}
	})
}

// TestQoS2InboundAllocationsPerMessage publishes at QoS 2, one message at
// a time through PUBREC, PUBREL and PUBCOMP, to a QoS 0 subscriber: the
// publisher's set of ids awaiting PUBREL empties after every message.
func TestQoS2InboundAllocationsPerMessage(t *testing.T) {
	pub, sub := allocPair(t, "alloc2", 0)
	msg, _ := packet.Append(nil, &packet.Packet{Type: packet.PUBLISH, QoS: 2, PacketID: 9,
		Topic: []byte("alloc/t"), Payload: make([]byte, 64)}, packet.V311)
	pubrel := []byte{0x62, 2, 0, 9}
	got := make([]byte, len(msg)-2) // delivered at QoS 0: no packet id
	ack := make([]byte, 4)
	wantOneAllocation(t, func() {
		mustWrite(t, pub, msg)
		if mustRead(t, pub, ack); ack[0] != 0x50 {
			t.Fatalf("PUBREC: % x", ack)
		}
		mustWrite(t, pub, pubrel)
		if mustRead(t, pub, ack); ack[0] != 0x70 {
			t.Fatalf("PUBCOMP: % x", ack)
		}
		mustRead(t, sub, got)
	})
}
