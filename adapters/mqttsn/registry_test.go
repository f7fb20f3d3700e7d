package mqttsn

import (
	"context"
	"testing"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
)

// nopConn is a core.Conn for a session taken over from the test.
type nopConn struct{}

func (nopConn) Notify()          {}
func (nopConn) Kick(_ core.Code) {}

func (e *testEnv) hasRegistry(id string) bool {
	e.gw.mu.Lock()
	defer e.gw.mu.Unlock()
	return e.gw.sessions[id] != nil
}

func TestRegistryDroppedWhenTheCoreSessionEnds(t *testing.T) {
	e := startEnv(t)
	// Two clean-session-0 clients whose sessions never expire register a
	// topic and disconnect.
	ids := map[string]uint16{}
	for _, id := range []string{"kept", "gone"} {
		r := e.raw()
		r.connect(id, false, 60)
		r.send(packet.Packet{Type: packet.REGISTER, MsgID: 1, TopicName: []byte("reg/" + id)})
		ids[id] = r.expect(packet.REGACK).TopicID
		r.send(packet.Packet{Type: packet.DISCONNECT})
		r.expect(packet.DISCONNECT)
		waitFor(t, id+" gone", func() bool { return e.clientState(id) == stateGone })
	}
	// "gone"'s core session ends without the adapter: taken over with a
	// clean start and closed.
	c, _, err := e.broker.Open(context.Background(), &core.OpenRequest{
		Info:       core.ClientInfo{Protocol: "test", Namespace: "mqttsn", ClientID: "gone"},
		CleanStart: true, Conn: nopConn{},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Disconnect(core.DisconnectNormal, "")
	waitFor(t, "the registry of the ended session dropped", func() bool { return !e.hasRegistry("gone") })
	if !e.hasRegistry("kept") {
		t.Fatal("the registry of a live session was dropped")
	}
	// "kept" resumes with its topic id.
	r := e.raw()
	r.connect("kept", false, 60)
	r.send(packet.Packet{Type: packet.PUBLISH, QoS: 1, MsgID: 2, TopicID: ids["kept"], Data: []byte("x")})
	if p := r.expect(packet.PUBACK); p.ReturnCode != packet.Accepted {
		t.Fatalf("PUBACK return code %d with the resumed topic id", p.ReturnCode)
	}
}
