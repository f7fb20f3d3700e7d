package mqttsn

import (
	"strings"
	"testing"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/internal/coretest"
)

// TestRefusedConnectsCountedByReason: each CONNECT the gateway refuses
// before it asks the core is counted once under its reason; one the core
// refuses is counted once, by the core; an accepted one is not counted.
func TestRefusedConnectsCountedByReason(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.MaxClients = 2 })
	if _, err := e.broker.AddBan(core.Ban{Kind: core.BanClientID, Value: "banned"}); err != nil {
		t.Fatal(err)
	}
	connect := func(id string, will bool) *rawClient {
		r := e.raw()
		r.send(packet.Packet{Type: packet.CONNECT, CleanSession: true, ProtocolID: packet.ProtocolID, Duration: 60, Will: will, ClientID: []byte(id)})
		return r
	}
	refusedWith := func(r *rawClient, rc packet.ReturnCode) {
		t.Helper()
		if p := r.expect(packet.CONNACK); p.ReturnCode != rc {
			t.Fatalf("CONNACK %d, want %d", p.ReturnCode, rc)
		}
	}
	const none = coretest.NoRefusal
	for _, tc := range []struct {
		name string
		try  func(t *testing.T)
		want core.Refusal // none: nothing counted
	}{
		{"an accepted CONNECT", func(t *testing.T) { e.raw().connect("held", true, 60) }, none},
		{"a gateway at max_clients", func(t *testing.T) {
			second := e.raw()
			second.connect("second", true, 60)
			refusedWith(connect("third", false), packet.RejectedCongestion)
			// The second leaves, so the cases that follow have room.
			second.send(packet.Packet{Type: packet.DISCONNECT})
			second.expect(packet.DISCONNECT)
		}, core.RefusedServerBusy},
		{"a protocol id other than 0x01", func(t *testing.T) {
			r := e.raw()
			r.send(packet.Packet{Type: packet.CONNECT, CleanSession: true, ProtocolID: 2, Duration: 60, ClientID: []byte("v2")})
			refusedWith(r, packet.RejectedNotSupported)
		}, core.RefusedUnsupportedProtocol},
		{"a client id over 1024 bytes", func(t *testing.T) {
			refusedWith(connect(strings.Repeat("x", 1025), false), packet.RejectedNotSupported)
		}, core.RefusedClientIDInvalid},
		{"a will topic with a wildcard", func(t *testing.T) {
			r := connect("will", true)
			r.expect(packet.WILLTOPICREQ)
			r.send(packet.Packet{Type: packet.WILLTOPIC, TopicName: []byte("a/+")})
			r.expect(packet.WILLMSGREQ)
			r.send(packet.Packet{Type: packet.WILLMSG, Data: []byte("gone")})
			refusedWith(r, packet.RejectedNotSupported)
		}, core.RefusedMalformedConnect},
		{"a will that never comes", func(t *testing.T) {
			connect("willless", true).expect(packet.WILLTOPICREQ)
		}, core.RefusedConnectTimeout},
		{"a banned client id, refused by the core", func(t *testing.T) {
			refusedWith(connect("banned", false), packet.RejectedNotSupported)
		}, core.RefusedBanned},
	} {
		coretest.CheckRefusal(t, e.broker, "mqtt-sn", tc.name, tc.try, tc.want)
	}
}
