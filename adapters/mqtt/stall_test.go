package mqtt_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
)

// A subscriber that stops reading fills its socket: the write made from
// the publisher's goroutine at the end of a batch goes out in part, and
// the rest must follow from a writer goroutine, whole and in order, without
// holding up the publisher.
func TestStalledSubscriberGetsWholeStreamInOrder(t *testing.T) {
	ts := startServer(t, func(bc *core.Config, _ *mqtt.Config) {
		bc.MaxQueued = 10000
		bc.MaxQueuedBytes = 64 << 20
	})
	sub := dialRaw(t, ts.tcp(), packet.V311)
	// Smaller than a loopback segment would stall TCP itself.
	sub.nc.(*net.TCPConn).SetReadBuffer(64 << 10)
	sub.connect("stalled", true)
	sub.send(&packet.Packet{Type: packet.SUBSCRIBE, Flags: 0x2, PacketID: 1,
		Subscriptions: []packet.Subscription{{Filter: "stall/#", QoS: 0}}})
	sub.expect(packet.SUBACK)

	const n = 2000 // 16 MiB: more than both sockets' buffers hold
	const size = 8192
	pub := connect3(t, options3("tcp://"+ts.tcp(), "stall-pub"))
	for i := range n {
		payload := make([]byte, size) // paho sends it later
		copy(payload, fmt.Sprintf("%08d", i))
		// QoS 0 from paho: nothing waits for the subscriber.
		pub.Publish("stall/t", 0, false, payload)
	}
	// Everything was handed to the broker while the subscriber read
	// nothing: a QoS 1 round trip after the burst proves the publisher's
	// connection was not held up by the stalled one.
	pub.pub(t, "other", 1, false, "done")

	time.Sleep(100 * time.Millisecond)
	for i := range n {
		p := sub.expect(packet.PUBLISH)
		if want := fmt.Sprintf("%08d", i); string(p.Payload[:8]) != want || len(p.Payload) != size {
			t.Fatalf("message %d: got %q (%d bytes), want %s", i, p.Payload[:8], len(p.Payload), want)
		}
	}
}
