package coap

import (
	"testing"

	"github.com/mqgate/mqgate/core"
)

// TestBytesAreCountedAsCoAP: the datagrams' bytes both ways are counted
// by the core under the protocol coap.
func TestBytesAreCountedAsCoAP(t *testing.T) {
	e := startEnv(t)
	c := e.coapClient()
	post(t, c, "/ps/bytes/a", "hello", false)
	var got core.ByteCount
	for _, b := range e.broker.ByteCounts() {
		if b.Protocol == "coap" {
			got = b
		}
	}
	// The POST in, its 2.04 out.
	if got.Received < 15 || got.Sent < 4 {
		t.Fatalf("coap bytes %+v, want both counted", got)
	}
}
