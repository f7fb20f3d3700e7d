package stomp_test

import (
	"testing"

	gostomp "github.com/go-stomp/stomp/v3"

	"github.com/mqgate/mqgate/internal/coretest"
)

// TestSendRefusedWhenASubscriberRefusesWhenFull: a SEND that a subscriber
// opened with RefuseWhenFull (a bridge under the outbox policy refuse) has
// no room for gets an ERROR frame instead of its receipt.
func TestSendRefusedWhenASubscriberRefusesWhenFull(t *testing.T) {
	ts := startServer(t)
	coretest.FullSubscriber(t, ts.broker, "refuse/#")
	c := dial(t, ts)
	if err := c.Send("refuse/a", "", []byte("fits"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatalf("first SEND: %v", err)
	}
	if err := c.Send("refuse/a", "", []byte("no room"), gostomp.SendOpt.Receipt); err == nil {
		t.Fatal("a SEND the full subscriber refused got its receipt")
	}
}
