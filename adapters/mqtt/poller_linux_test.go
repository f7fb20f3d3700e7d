package mqtt_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt/packet"
)

// TestIdleConnectionsHoldNoGoroutine checks that quiet plain-TCP
// connections are watched by the adapter's poller, not by a goroutine
// each, and that the poller still wakes them.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	ts := startServer(t)
	base := runtime.NumGoroutine()
	const n = 600
	clients := make([]*rawClient, n)
	for i := range clients {
		clients[i] = dialRaw(t, ts.tcp(), packet.V311)
		clients[i].connect(fmt.Sprintf("idle-%d", i), true)
	}
	// Handshakes end on worker goroutines, at most 128 of which wait
	// for more work.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine()-base > n/2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines more for %d idle connections", runtime.NumGoroutine()-base, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range clients {
		c.send(&packet.Packet{Type: packet.PINGREQ})
	}
	for _, c := range clients {
		c.expect(packet.PINGRESP)
	}
}
