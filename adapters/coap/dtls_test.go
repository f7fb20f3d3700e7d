package coap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	coapdtls "github.com/plgd-dev/go-coap/v3/dtls"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/pkg/runner/periodic"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/internal/coretest"
	"github.com/mqgate/mqgate/internal/testcert"
)

// recordingAuth allows everyone and remembers the CoAP clients it saw.
type recordingAuth struct {
	mu    sync.Mutex
	infos []core.ClientInfo
}

func (a *recordingAuth) Authenticate(_ context.Context, c *core.ClientInfo, _ []byte) (core.Verdict, error) {
	if c.Protocol == "coap" {
		a.mu.Lock()
		a.infos = append(a.infos, *c)
		a.mu.Unlock()
	}
	return core.Allow, nil
}

func (a *recordingAuth) last(t *testing.T) core.ClientInfo {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.infos) == 0 {
		t.Fatal("no CoAP client authenticated")
	}
	return a.infos[len(a.infos)-1]
}

// dtlsClient dials a DTLS listener with go-coap's DTLS client.
func dtlsClient(t *testing.T, addr string, opts ...dtls.ClientOption) (*udpclient.Conn, error) {
	t.Helper()
	stop := make(chan struct{})
	opts = append(opts, dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret))
	c, err := coapdtls.Dial(addr, coapdtls.NewDTLSClientOptions(opts...), options.WithPeriodicRunner(periodic.New(stop, 100*time.Millisecond)))
	if err != nil {
		close(stop)
		return nil, err
	}
	t.Cleanup(func() {
		c.Close()
		close(stop)
	})
	return c, nil
}

// handshake runs a bare pion DTLS handshake with a deadline. go-coap's
// client retries a failed handshake on each request without heeding the
// request's context, so refusals are checked here instead.
func handshake(t *testing.T, addr string, opts ...dtls.ClientOption) error {
	t.Helper()
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret))
	dc, err := dtls.DialWithOptions("udp", ra, opts...)
	if err != nil {
		return err
	}
	defer dc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return dc.HandshakeContext(ctx)
}

// publishAndObserve checks a DTLS client publishes to MQTT and gets an MQTT
// publish as a notification.
func publishAndObserve(t *testing.T, e *testEnv, c *udpclient.Conn) {
	t.Helper()
	sub := e.mqttSubscribe("sub", "secure/#", 1)
	if code, d := post(t, c, "/ps/secure/up", "over dtls", false); code != codes.Changed.String() {
		t.Fatalf("publish over DTLS: %s %q", code, d)
	}
	if m := recv(t, sub, "publish over DTLS"); m.payload != "over dtls" || m.qos != 1 {
		t.Fatalf("got %+v", m)
	}
	ch, _ := observe(t, c, "/ps/secure/down")
	recv(t, ch, "registration")
	e.mqttPublish(e.mqttClient("pub"), "secure/down", 1, false, "to dtls")
	if n := recv(t, ch, "notification over DTLS"); n.payload != "to dtls" {
		t.Fatalf("got %+v", n)
	}
}

func TestDTLSWithClientCertificate(t *testing.T) {
	tf := testcert.Write(t, t.TempDir(), "device-7")
	auth := &recordingAuth{}
	e := startEnv(t, func(b *core.Config, c *Config) {
		b.Authenticator = auth
		c.Listeners = append(c.Listeners, Listener{Name: "dtls", Type: "dtls", Address: "127.0.0.1:0",
			DTLS: &DTLS{CertFile: tf.Cert, KeyFile: tf.Key, CAFile: tf.CA, ClientAuth: "require"}})
	})
	pair, err := tls.LoadX509KeyPair(tf.ClientCert, tf.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(tf.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	addr := e.addrs["dtls"].String()
	if handshake(t, addr, dtls.WithRootCAs(roots), dtls.WithServerName("127.0.0.1")) == nil {
		t.Fatal("a handshake without a client certificate succeeded")
	}
	c, err := dtlsClient(t, addr, dtls.WithCertificates(pair), dtls.WithRootCAs(roots), dtls.WithServerName("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	publishAndObserve(t, e, c)
	if in := auth.last(t); in.CertCN != "device-7" || in.Listener != "dtls" || in.Namespace != "coap" {
		t.Fatalf("ClientInfo %+v", in)
	}
}

func TestDTLSWithPSK(t *testing.T) {
	key := []byte("0123456789abcdef")
	auth := &recordingAuth{}
	e := startEnv(t, func(b *core.Config, c *Config) {
		b.Authenticator = auth
		c.Listeners = append(c.Listeners, Listener{Name: "dtls", Type: "dtls", Address: "127.0.0.1:0",
			DTLS: &DTLS{PSK: map[string][]byte{"device-9": key}, PSKIdentityHint: "mqgate"}})
	})
	addr := e.addrs["dtls"].String()
	psk := func(identity string, k []byte) []dtls.ClientOption {
		return []dtls.ClientOption{
			dtls.WithPSK(func([]byte) ([]byte, error) { return k, nil }),
			dtls.WithPSKIdentityHint([]byte(identity)),
			dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_GCM_SHA256),
		}
	}
	for _, bad := range []struct {
		name, identity string
		key            []byte
	}{{"wrong key", "device-9", []byte("wrong key 123456")}, {"unknown identity", "stranger", key}} {
		if handshake(t, addr, psk(bad.identity, bad.key)...) == nil {
			t.Fatalf("%s: the handshake succeeded", bad.name)
		}
	}
	c, err := dtlsClient(t, addr, psk("device-9", key)...)
	if err != nil {
		t.Fatal(err)
	}
	publishAndObserve(t, e, c)
	if in := auth.last(t); in.CertCN != "device-9" || in.Listener != "dtls" {
		t.Fatalf("ClientInfo %+v", in)
	}
}

func TestDTLSAssociationsBoundedByMaxClients(t *testing.T) {
	key := []byte("0123456789abcdef")
	e := startEnv(t, func(_ *core.Config, c *Config) {
		c.MaxClients = 1
		c.Listeners = append(c.Listeners, Listener{Name: "dtls", Type: "dtls", Address: "127.0.0.1:0",
			DTLS: &DTLS{PSK: map[string][]byte{"device-9": key}}})
	})
	addr := e.addrs["dtls"].String()
	psk := []dtls.ClientOption{
		dtls.WithPSK(func([]byte) ([]byte, error) { return key, nil }),
		dtls.WithPSKIdentityHint([]byte("device-9")),
		dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_GCM_SHA256),
	}
	c, err := dtlsClient(t, addr, psk...)
	if err != nil {
		t.Fatal(err)
	}
	if code, d := post(t, c, "/ps/one", "x", false); code != codes.Changed.String() {
		t.Fatalf("first association: %s %q", code, d)
	}
	if handshake(t, addr, psk...) == nil {
		t.Fatal("a second association beyond max_clients completed its handshake")
	}
	if code, _ := post(t, c, "/ps/one", "y", false); code != codes.Changed.String() {
		t.Fatalf("the first association after the refusal: %s", code)
	}
	if e.gw.Stats().Limited.Load() == 0 {
		t.Fatal("the refusal was not counted")
	}
	// Each ClientHello the full gateway turns away is a refused connect:
	// the client may send several before it gives up.
	if n := coretest.Refusals(e.broker, "coap")[core.RefusedServerBusy]; n == 0 {
		t.Fatal("the refusal is not among the refused connects (server_busy)")
	}
}

func TestSilentDTLSAssociationClosedAfterHeartbeat(t *testing.T) {
	key := []byte("0123456789abcdef")
	e := startEnv(t, func(_ *core.Config, c *Config) {
		c.Heartbeat = 300 * time.Millisecond
		c.Listeners = append(c.Listeners, Listener{Name: "dtls", Type: "dtls", Address: "127.0.0.1:0",
			DTLS: &DTLS{PSK: map[string][]byte{"device-9": key}}})
	})
	c, err := dtlsClient(t, e.addrs["dtls"].String(),
		dtls.WithPSK(func([]byte) ([]byte, error) { return key, nil }),
		dtls.WithPSKIdentityHint([]byte("device-9")),
		dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_GCM_SHA256))
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, c, "/ps/one", "x", false); code != codes.Changed.String() {
		t.Fatalf("publish: %s", code)
	}
	waitFor(t, "the silent association closed", func() bool {
		e.gw.mu.Lock()
		defer e.gw.mu.Unlock()
		return len(e.gw.dtlsConns) == 0 && len(e.gw.byID) == 0
	})
}

// certOrPasswordAuth allows a DTLS client by its identity, and others only
// with password "pw"; MQTT clients always.
type certOrPasswordAuth struct{}

func (certOrPasswordAuth) Authenticate(_ context.Context, c *core.ClientInfo, pw []byte) (core.Verdict, error) {
	if c.Protocol != "coap" || c.CertCN != "" || string(pw) == "pw" {
		return core.Allow, nil
	}
	return core.Deny, nil
}

// TestDTLSClientNotMovedToUDPByClientID: a UDP request naming the client id
// of a DTLS-authenticated client is authenticated on its own, never routed
// into that session.
func TestDTLSClientNotMovedToUDPByClientID(t *testing.T) {
	key := []byte("0123456789abcdef")
	e := startEnv(t, func(b *core.Config, c *Config) {
		b.Authenticator = certOrPasswordAuth{}
		c.Listeners = append(c.Listeners, Listener{Name: "dtls", Type: "dtls", Address: "127.0.0.1:0",
			DTLS: &DTLS{PSK: map[string][]byte{"device-9": key}}})
	})
	c, err := dtlsClient(t, e.addrs["dtls"].String(),
		dtls.WithPSK(func([]byte) ([]byte, error) { return key, nil }),
		dtls.WithPSKIdentityHint([]byte("device-9")),
		dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_GCM_SHA256))
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, c, "/ps/a", "x", false, query("clientid=dev")...); code != codes.Changed.String() {
		t.Fatalf("DTLS publish: %s", code)
	}
	u := e.coapClient()
	if code, _ := post(t, u, "/ps/a", "y", false, query("clientid=dev")...); code != codes.Unauthorized.String() {
		t.Fatalf("UDP request naming the DTLS client's id: %s, want 4.01", code)
	}
	if code, _ := post(t, c, "/ps/a", "z", false, query("clientid=dev")...); code != codes.Changed.String() {
		t.Fatalf("the DTLS client afterwards: %s", code)
	}
}

// TestPSKIdentitiesAreUntrustedBytes: a non-UTF-8 identity is compared as
// exact bytes and reaches authentication unchanged; an unknown 1,000-byte
// one fails its handshake and the gateway goes on serving.
func TestPSKIdentitiesAreUntrustedBytes(t *testing.T) {
	key := []byte("0123456789abcdef")
	odd := "\xff\xfe:dev\x00"
	auth := &recordingAuth{}
	e := startEnv(t, func(b *core.Config, c *Config) {
		b.Authenticator = auth
		c.Listeners = append(c.Listeners, Listener{Name: "dtls", Type: "dtls", Address: "127.0.0.1:0",
			DTLS: &DTLS{PSK: map[string][]byte{odd: key}}})
	})
	addr := e.addrs["dtls"].String()
	psk := func(identity string) []dtls.ClientOption {
		return []dtls.ClientOption{
			dtls.WithPSK(func([]byte) ([]byte, error) { return key, nil }),
			dtls.WithPSKIdentityHint([]byte(identity)),
			dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_GCM_SHA256),
		}
	}
	if handshake(t, addr, psk(strings.Repeat("x", 1000))...) == nil {
		t.Fatal("an unknown 1,000-byte identity completed its handshake")
	}
	if handshake(t, addr, psk("\xff\xfe:dev")...) == nil {
		t.Fatal("a prefix of the identity completed its handshake")
	}
	c, err := dtlsClient(t, addr, psk(odd)...)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, c, "/ps/odd", "x", false); code != codes.Changed.String() {
		t.Fatalf("publish: %s", code)
	}
	if in := auth.last(t); in.CertCN != odd {
		t.Fatalf("CertCN %q, want the identity's exact bytes %q", in.CertCN, odd)
	}
}
