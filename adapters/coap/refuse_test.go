package coap

import (
	"context"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

// idleConn is a core connection that never takes its deliveries: a
// bridge whose outbox is full.
type idleConn struct{}

func (idleConn) Notify()        {}
func (idleConn) Kick(core.Code) {}

// TestPublishRefusedWhenASubscriberRefusesWhenFull: a CON publish that a
// subscriber opened with RefuseWhenFull (a bridge under the outbox policy
// refuse) has no room for gets 5.03.
func TestPublishRefusedWhenASubscriberRefusesWhenFull(t *testing.T) {
	e := startEnv(t)
	full, _, err := e.broker.Open(context.Background(), &core.OpenRequest{
		Info: core.ClientInfo{Protocol: "bridge", ClientID: "full"}, SessionExpiry: core.NeverExpire,
		MaxQueued: 1, RefuseWhenFull: true, Conn: idleConn{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := full.Subscribe(context.Background(), []core.SubscribeRequest{{Filter: "refuse/#", Options: topic.Options{QoS: 1}}}, nil); r[0].Code.Failed() {
		t.Fatal(r[0].Code)
	}
	c := e.coapClient()
	if code, d := post(t, c, "/ps/refuse/a", "fits", false); code != codes.Changed.String() {
		t.Fatalf("first publish: %s %q", code, d)
	}
	if code, d := post(t, c, "/ps/refuse/a", "no room", false); code != codes.ServiceUnavailable.String() {
		t.Fatalf("publish to a full refusing subscriber: %s %q, want 5.03", code, d)
	}
}
