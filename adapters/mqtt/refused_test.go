package mqtt_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/internal/coretest"
	"github.com/mqgate/mqgate/internal/testcert"
)

// TestRefusedConnectsCountedByReason: each connection the adapter refuses
// before it asks the core is counted once under its reason; one the core
// refuses is counted once, by the core; a client that leaves before its
// CONNECT, or is accepted, is not counted.
func TestRefusedConnectsCountedByReason(t *testing.T) {
	tf := testcert.Write(t, t.TempDir(), "device")
	ts := startServer(t, func(bc *core.Config, mc *mqtt.Config) {
		bc.MaxTopicLevels = 4
		mc.ConnectTimeout = 300 * time.Millisecond
		mc.MaxKeepAlive = 100
		mc.MaxClientIDLen = 16
		mc.Listeners = append(mc.Listeners,
			mqtt.Listener{Name: "small", Type: "tcp", Address: "127.0.0.1:0", MaxConnections: 1},
			mqtt.Listener{Name: "tls", Type: "tls", Address: "127.0.0.1:0", TLS: &mqtt.TLS{CertFile: tf.Cert, KeyFile: tf.Key}})
	})
	if _, err := ts.broker.AddBan(core.Ban{Kind: core.BanClientID, Value: "banned"}); err != nil {
		t.Fatal(err)
	}
	const none = coretest.NoRefusal
	for _, tc := range []struct {
		name string
		try  func(t *testing.T)
		want core.Refusal // none: nothing counted
	}{
		{"a client that closes before its CONNECT", func(t *testing.T) {
			dialRaw(t, ts.tcp(), packet.V311).nc.Close()
		}, none},
		{"an accepted CONNECT", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V311)
			if ack := c.connect("fine", true); ack.ReasonCode != 0 {
				t.Fatalf("CONNACK %d", ack.ReasonCode)
			}
		}, none},
		{"a listener at max_connections", func(t *testing.T) {
			dialRaw(t, ts.addrs["small"].String(), packet.V311).connect("holder", true)
			c := dialRaw(t, ts.addrs["small"].String(), packet.V311)
			c.send(&packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: packet.V311, CleanStart: true, ClientID: "late"})
			if got := c.expectClosed(); got != -1 {
				t.Fatalf("got %d from a full listener, want a close", got)
			}
		}, core.RefusedServerBusy},
		{"protocol level 9", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V311)
			c.writeRaw([]byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 9, 0x02, 0, 30, 0, 1, 'x'})
			if got := c.expectClosed(); got != int(packet.ConnRefusedProtocolVersion) {
				t.Fatalf("got %d, want CONNACK 0x01", got)
			}
		}, core.RefusedUnsupportedProtocol},
		{"an MQTT 5 authentication method", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V5)
			c.connect("auth", true, func(p *packet.Packet) { p.Properties.AuthMethod = "SCRAM-SHA-256" })
		}, core.RefusedUnsupportedProtocol},
		{"PUBLISH before CONNECT", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V311)
			c.send(&packet.Packet{Type: packet.PUBLISH, Topic: []byte("a")})
			c.expectClosed()
		}, core.RefusedMalformedConnect},
		{"a reserved CONNECT flag set", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V5)
			c.writeRaw([]byte{0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x03, 0, 30, 0, 0, 1, 'x'})
			if got := c.expectClosed(); got != int(packet.MalformedPacket) {
				t.Fatalf("got 0x%02X, want CONNACK 0x81", got)
			}
		}, core.RefusedMalformedConnect},
		{"a CONNECT larger than the pre-auth cap", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V311)
			c.writeRaw([]byte{0x10, 0x80, 0x80, 0x10}) // 256 KiB declared
			c.expectClosed()
		}, core.RefusedMalformedConnect},
		{"a will topic with a wildcard", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V5)
			c.connect("will", true, func(p *packet.Packet) { p.HasWill, p.Will.Topic = true, "a/+" })
		}, core.RefusedMalformedConnect},
		{"a will topic deeper than the broker allows", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V5)
			if ack := c.connect("will", true, func(p *packet.Packet) { p.HasWill, p.Will.Topic = true, "a/b/c/d/e" }); ack.ReasonCode != packet.TopicNameInvalid {
				t.Fatalf("CONNACK 0x%02X, want 0x90", ack.ReasonCode)
			}
		}, core.RefusedMalformedConnect},
		{"a Maximum Packet Size no CONNACK fits in", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V5)
			p := &packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: packet.V5, CleanStart: true, ClientID: "tiny"}
			p.Properties.MaximumPacketSize, p.Properties.HasMaximumPacketSize = 8, true
			c.send(p)
			if got := c.expectClosed(); got != -1 {
				t.Fatalf("got 0x%02X, want a close without CONNACK", got)
			}
		}, core.RefusedMalformedConnect},
		{"an MQTT 3 keep alive above max_keepalive", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V311)
			c.connect("ka", true, func(p *packet.Packet) { p.KeepAlive = 200 })
		}, core.RefusedMalformedConnect},
		{"a client id longer than max_client_id_len", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V311)
			c.connect("a-client-id-of-30-characters--", true)
		}, core.RefusedClientIDInvalid},
		{"an empty client id with clean session 0 in 3.1.1", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V311)
			c.connect("", false)
		}, core.RefusedClientIDInvalid},
		{"a banned client id, refused by the core", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V311)
			if ack := c.connect("banned", true); ack.ReasonCode != packet.ConnRefusedNotAuthorized {
				t.Fatalf("CONNACK %d, want 5", ack.ReasonCode)
			}
		}, core.RefusedBanned},
		{"no CONNECT within the connect timeout", func(t *testing.T) {
			dialRaw(t, ts.tcp(), packet.V311).expectClosed()
		}, core.RefusedConnectTimeout},
		{"part of a CONNECT, then nothing", func(t *testing.T) {
			c := dialRaw(t, ts.tcp(), packet.V311)
			c.writeRaw([]byte{0x10, 13, 0, 4})
			c.expectClosed()
		}, core.RefusedConnectTimeout},
		{"no TLS handshake within the connect timeout", func(t *testing.T) {
			dialRaw(t, ts.addrs["tls"].String(), packet.V311).expectClosed()
		}, core.RefusedConnectTimeout},
		{"no CONNECT over a WebSocket within the connect timeout", func(t *testing.T) {
			c := dialWS(t, ts.ws(), packet.V311)
			c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _, err := c.ws.ReadMessage()
			var ne net.Error
			if err == nil || errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("read: %v, want the WebSocket closed", err)
			}
		}, core.RefusedConnectTimeout},
	} {
		coretest.CheckRefusal(t, ts.broker, "mqtt", tc.name, tc.try, tc.want)
	}
}
