package mqttsn

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	snclient "github.com/energomonitor/bisquitt/client"
	"github.com/pion/dtls/v3"

	"github.com/mqgate/mqgate/adapters/internal/dtlsconf"
	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/internal/testcert"
)

// recordingAuth allows everyone and remembers what it was shown.
type recordingAuth struct {
	mu    sync.Mutex
	infos []core.ClientInfo
}

func (a *recordingAuth) Authenticate(_ context.Context, c *core.ClientInfo, _ []byte) (core.Verdict, error) {
	if c.Protocol == "mqtt-sn" {
		a.mu.Lock()
		a.infos = append(a.infos, *c)
		a.mu.Unlock()
	}
	return core.Allow, nil
}

func TestDTLSWithClientCertificate(t *testing.T) {
	dir := t.TempDir()
	tf := testcert.Write(t, dir, "device-7")
	caFile, certFile, keyFile, clientCert, clientKey := tf.CA, tf.Cert, tf.Key, tf.ClientCert, tf.ClientKey
	auth := &recordingAuth{}
	e := startEnv(t, func(b *core.Config, c *Config) {
		b.Authenticator = auth
		c.Listeners = append(c.Listeners, Listener{
			Name: "dtls", Type: "dtls", Address: "127.0.0.1:0", Username: "sensors",
			DTLS: &DTLS{CertFile: certFile, KeyFile: keyFile, CAFile: caFile, ClientAuth: "require"},
		})
	})
	pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	sub := e.mqttSubscribe("paho-sub", "secure/#", 1)
	c, ch := e.snClient(snclient.ClientConfig{
		ClientID: "dtls-1", CleanSession: true, UseDTLS: true, Insecure: true,
		Certificate: &pair, PrivateKey: pair.PrivateKey,
	}, e.addrs["dtls"].String())
	if err := c.Register("secure/up"); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish("secure/up", []byte("over dtls"), 1, false); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, sub, "publish over DTLS"); m.payload != "over dtls" {
		t.Fatalf("got %+v", m)
	}
	if err := c.Subscribe("secure/down", 1, handler(ch)); err != nil {
		t.Fatal(err)
	}
	e.mqttPublish(e.mqttClient("paho-pub"), "secure/down", 1, false, "to dtls")
	if m := recv(t, ch, "delivery over DTLS"); m.payload != "to dtls" {
		t.Fatalf("got %+v", m)
	}
	auth.mu.Lock()
	defer auth.mu.Unlock()
	if len(auth.infos) != 1 {
		t.Fatalf("%d authentications", len(auth.infos))
	}
	if in := auth.infos[0]; in.CertCN != "device-7" || in.Username != "sensors" || in.Protocol != "mqtt-sn" || in.Namespace != "mqttsn" || in.Listener != "dtls" {
		t.Fatalf("ClientInfo %+v", in)
	}
}

// dtlsPSKClient dials the DTLS listener with a pre-shared key and
// completes the handshake.
func dtlsPSKClient(t *testing.T, addr string, identity string, key []byte, timeout time.Duration) (*dtls.Conn, error) {
	t.Helper()
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dtls.DialWithOptions("udp", ra,
		dtls.WithPSK(func([]byte) ([]byte, error) { return key, nil }),
		dtls.WithPSKIdentityHint([]byte(identity)),
		dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_GCM_SHA256),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := dc.HandshakeContext(ctx); err != nil {
		dc.Close()
		return nil, err
	}
	t.Cleanup(func() { dc.Close() })
	return dc, nil
}

func TestDTLSWithPreSharedKey(t *testing.T) {
	key := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	auth := &recordingAuth{}
	e := startEnv(t, func(b *core.Config, c *Config) {
		b.Authenticator = auth
		c.Listeners = append(c.Listeners, Listener{
			Name: "dtls-psk", Type: "dtls", Address: "127.0.0.1:0", Username: "sensors",
			DTLS: &DTLS{PSK: map[string][]byte{"device-9": key}, PSKIdentityHint: "mqgate"},
		})
	})
	addr := e.addrs["dtls-psk"].String()
	// A refused handshake may end only by the client's timeout.
	if _, err := dtlsPSKClient(t, addr, "device-9", []byte("wrong key 123456"), time.Second); err == nil {
		t.Fatal("handshake with a wrong key succeeded")
	}
	if _, err := dtlsPSKClient(t, addr, "stranger", key, time.Second); err == nil {
		t.Fatal("handshake with an unknown identity succeeded")
	}
	dc, err := dtlsPSKClient(t, addr, "device-9", key, 10*time.Second)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	buf := make([]byte, 1500)
	send := func(p packet.Packet) {
		t.Helper()
		b, _ := packet.Append(nil, &p)
		if _, err := dc.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(want packet.Type) packet.Packet {
		t.Helper()
		dc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := dc.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %v: %v", want, err)
		}
		var p packet.Packet
		if err := packet.Decode(buf[:n], &p); err != nil || p.Type != want {
			t.Fatalf("got %+v %v, want %v", p, err, want)
		}
		return p
	}
	sub := e.mqttSubscribe("paho-sub", "psk/#", 1)
	send(packet.Packet{Type: packet.CONNECT, CleanSession: true, ProtocolID: packet.ProtocolID, Duration: 60, ClientID: []byte("psk-1")})
	if p := expect(packet.CONNACK); p.ReturnCode != packet.Accepted {
		t.Fatalf("CONNACK %d", p.ReturnCode)
	}
	send(packet.Packet{Type: packet.REGISTER, MsgID: 1, TopicName: []byte("psk/up")})
	id := expect(packet.REGACK).TopicID
	send(packet.Packet{Type: packet.PUBLISH, QoS: 1, MsgID: 2, TopicID: id, Data: []byte("over psk")})
	if p := expect(packet.PUBACK); p.ReturnCode != packet.Accepted {
		t.Fatalf("PUBACK %d", p.ReturnCode)
	}
	if m := recv(t, sub, "publish over DTLS with PSK"); m.topic != "psk/up" || m.payload != "over psk" {
		t.Fatalf("got %+v", m)
	}
	auth.mu.Lock()
	defer auth.mu.Unlock()
	if len(auth.infos) != 1 {
		t.Fatalf("%d authentications", len(auth.infos))
	}
	// The PSK identity is the client's DTLS identity, as a certificate's
	// CN would be.
	if in := auth.infos[0]; in.CertCN != "device-9" || in.Username != "sensors" || in.ClientID != "psk-1" || in.Listener != "dtls-psk" {
		t.Fatalf("ClientInfo %+v", in)
	}
}

func TestDTLSOptionsNeedACertificateOrKeys(t *testing.T) {
	for _, d := range []*DTLS{nil, {}, {ClientAuth: "require"}} {
		if _, err := dtlsconf.ServerOptions(d, nil); err == nil {
			t.Errorf("%+v: no error without a certificate or pre-shared keys", d)
		}
	}
	if _, err := dtlsconf.ServerOptions(&DTLS{PSK: map[string][]byte{"id": []byte("secret")}}, nil); err != nil {
		t.Errorf("pre-shared keys alone: %v", err)
	}
	if _, err := dtlsconf.ServerOptions(&DTLS{CertFile: "/nonexistent.pem", KeyFile: "/nonexistent.key"}, nil); err == nil {
		t.Error("a missing certificate file gave no error")
	}
}
