package stomp_test

import (
	"context"
	"testing"

	gostomp "github.com/go-stomp/stomp/v3"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

// idleConn is a core connection that never takes its deliveries: a
// bridge whose outbox is full.
type idleConn struct{}

func (idleConn) Notify()        {}
func (idleConn) Kick(core.Code) {}

// TestSendRefusedWhenASubscriberRefusesWhenFull: a SEND that a subscriber
// opened with RefuseWhenFull (a bridge under the outbox policy refuse) has
// no room for gets an ERROR frame instead of its receipt.
func TestSendRefusedWhenASubscriberRefusesWhenFull(t *testing.T) {
	ts := startServer(t)
	full, _, err := ts.broker.Open(context.Background(), &core.OpenRequest{
		Info: core.ClientInfo{Protocol: "bridge", ClientID: "full"}, SessionExpiry: core.NeverExpire,
		MaxQueued: 1, RefuseWhenFull: true, Conn: idleConn{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := full.Subscribe(context.Background(), []core.SubscribeRequest{{Filter: "refuse/#", Options: topic.Options{QoS: 1}}}, nil); r[0].Code.Failed() {
		t.Fatal(r[0].Code)
	}
	c := dial(t, ts)
	if err := c.Send("refuse/a", "", []byte("fits"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatalf("first SEND: %v", err)
	}
	if err := c.Send("refuse/a", "", []byte("no room"), gostomp.SendOpt.Receipt); err == nil {
		t.Fatal("a SEND the full subscriber refused got its receipt")
	}
}
