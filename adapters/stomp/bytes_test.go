package stomp_test

import (
	"testing"

	"github.com/mqgate/mqgate/core"
)

// TestBytesAreCountedAsSTOMP: the bytes a STOMP connection reads and
// writes are counted by the core under the protocol stomp.
func TestBytesAreCountedAsSTOMP(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts)
	syncConn(t, c)
	var got core.ByteCount
	for _, b := range ts.broker.ByteCounts() {
		if b.Protocol == "stomp" {
			got = b
		}
	}
	// CONNECT and SEND in, CONNECTED and RECEIPT out: some of each.
	if got.Received < 20 || got.Sent < 20 {
		t.Fatalf("stomp bytes %+v, want both counted", got)
	}
}
