package mqttsn

import (
	"context"
	"testing"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

// idleConn is a core connection that never takes its deliveries: a
// bridge whose outbox is full.
type idleConn struct{}

func (idleConn) Notify()        {}
func (idleConn) Kick(core.Code) {}

// TestPublishRefusedWhenASubscriberRefusesWhenFull: a QoS 1 PUBLISH that a
// subscriber opened with RefuseWhenFull (a bridge under the outbox policy
// refuse) has no room for gets PUBACK "rejected: congestion".
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
	r := e.raw()
	r.connect("sensor", true, 60)
	r.send(packet.Packet{Type: packet.REGISTER, MsgID: 1, TopicName: []byte("refuse/a")})
	id := r.expect(packet.REGACK).TopicID
	for i, want := range []packet.ReturnCode{packet.Accepted, packet.RejectedCongestion} {
		r.send(packet.Packet{Type: packet.PUBLISH, QoS: 1, MsgID: uint16(2 + i), TopicID: id, Data: []byte("x")})
		if p := r.expect(packet.PUBACK); p.ReturnCode != want {
			t.Fatalf("PUBLISH %d: PUBACK return code %d, want %d", i, p.ReturnCode, want)
		}
	}
}
