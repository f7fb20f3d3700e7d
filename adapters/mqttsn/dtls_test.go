package mqttsn

import (
	"context"
	"crypto/tls"
	"sync"
	"testing"

	snclient "github.com/energomonitor/bisquitt/client"

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
