package mqttsn

import (
	"testing"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/internal/coretest"
)

// TestPublishRefusedWhenASubscriberRefusesWhenFull: a QoS 1 PUBLISH that a
// subscriber opened with RefuseWhenFull (a bridge under the outbox policy
// refuse) has no room for gets PUBACK "rejected: congestion".
func TestPublishRefusedWhenASubscriberRefusesWhenFull(t *testing.T) {
	e := startEnv(t)
	coretest.FullSubscriber(t, e.broker, "refuse/#")
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
