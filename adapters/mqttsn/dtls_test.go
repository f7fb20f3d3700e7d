package mqttsn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	snclient "github.com/energomonitor/bisquitt/client"

	"github.com/mqgate/mqgate/core"
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
	caFile, certFile, keyFile, clientCert, clientKey := writeCerts(t, dir)
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

// writeCerts writes a CA, a server certificate for 127.0.0.1 and a client
// certificate with CN device-7.
func writeCerts(t *testing.T, dir string) (caFile, certFile, keyFile, clientCert, clientKey string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mqgate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(name string, serial int64, server bool) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		if server {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		} else {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
		return cf, kf
	}
	caFile = filepath.Join(dir, "ca.crt")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	certFile, keyFile = issue("server", 2, true)
	clientCert, clientKey = issue("device-7", 3, false)
	return
}
