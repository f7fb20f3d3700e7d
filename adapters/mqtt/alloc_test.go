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
