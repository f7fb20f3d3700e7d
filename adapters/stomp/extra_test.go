package stomp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	gostomp "github.com/go-stomp/stomp/v3"

	"github.com/mqgate/mqgate/adapters/stomp"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/internal/testcert"
)

// publish5 publishes one MQTT 5 message with user properties.
func publish5(t *testing.T, ts *testServer, topic string, props paho.UserProperties) {
	t.Helper()
	nc, err := net.Dial("tcp", ts.mqtt.Addrs()["tcp"].String())
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: "pub5", Conn: nc})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "pub5", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(&paho.Disconnect{})
	if _, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte("p"),
		Properties: &paho.PublishProperties{User: props, ContentType: "text/x"}}); err != nil {
		t.Fatal(err)
	}
}

// TestUserPropertiesAreEscapedPerVersion: MQTT 5 user properties with
// CR, LF, ':' and '\' become MESSAGE headers that cannot split a header
// or end the frame, escaped as each version allows.
func TestUserPropertiesAreEscapedPerVersion(t *testing.T) {
	ts := startServer(t)
	conns := map[string]*rawConn{}
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		r := dialRaw(t, ts.tcp())
		r.send(t, "CONNECT\naccept-version:"+v+"\nhost:h\n\n\x00")
		r.frame(t)
		r.send(t, "SUBSCRIBE\nid:s\ndestination:esc\nreceipt:r\n\n\x00")
		r.frame(t)
		conns[v] = r
	}
	publish5(t, ts, "esc", paho.UserProperties{{Key: "k:ey", Value: "a\nb\rc:d\\e"}, {Key: "message-id", Value: "forged"}})
	want := map[string]string{
		"1.0": "k ey:a b c:d\\e\n",
		"1.1": "k\\cey:a\\nb c\\cd\\\\e\n",
		"1.2": "k\\cey:a\\nb\\rc\\cd\\\\e\n",
	}
	for v, r := range conns {
		f := r.frame(t)
		if !strings.Contains(f, want[v]) || !strings.Contains(f, "content-type:text/x\n") {
			t.Errorf("%s MESSAGE %q, want %q", v, f, want[v])
		}
		if strings.Contains(f, "forged") {
			t.Errorf("%s MESSAGE carries a reserved header from a user property: %q", v, f)
		}
	}
	// go-stomp's 1.2 client decodes the header back.
	s := dial(t, ts)
	sub := subscribe(t, s, "esc", gostomp.AckAuto)
	publish5(t, ts, "esc", paho.UserProperties{{Key: "k", Value: "a\nb:c\\d"}})
	if got := next(t, sub).Header.Get("k"); got != "a\nb:c\\d" {
		t.Fatalf("decoded %q", got)
	}
}

func TestTLSListener(t *testing.T) {
	tf := testcert.Write(t, t.TempDir(), "client")
	ts := startServer(t, func(_ *core.Config, sc *stomp.Config) {
		sc.Listeners = append(sc.Listeners, stomp.Listener{Name: "tls", Type: "tls", Address: "127.0.0.1:0",
			TLS: &stomp.TLS{CertFile: tf.Cert, KeyFile: tf.Key}})
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(tf.CA)
	pool.AppendCertsFromPEM(pem)
	nc, err := tls.Dial("tcp", ts.addr("tls"), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	c, err := gostomp.Connect(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect()
	m := connectMQTT(t, ts, "dev")
	m.sub(t, "secure", 1)
	if err := c.Send("secure", "", []byte("s"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	if got := m.next(t); string(got.Payload()) != "s" {
		t.Fatalf("got %q", got.Payload())
	}
}

// TestOpenTransactionDiesWithItsConnection: a dropped connection
// implies ABORT.
func TestOpenTransactionDiesWithItsConnection(t *testing.T) {
	ts := startServer(t)
	m := connectMQTT(t, ts, "dev")
	m.sub(t, "txd/#", 1)
	r := connected(t, ts)
	r.send(t, "BEGIN\ntransaction:t\n\n\x00SEND\ndestination:txd/lost\ntransaction:t\nreceipt:held\n\nx\x00")
	if f := r.frame(t); !strings.Contains(f, "receipt-id:held") {
		t.Fatalf("got %q", f)
	}
	r.Close()
	s := dial(t, ts)
	if err := s.Send("txd/after", "", nil, gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	if got := m.next(t); got.Topic() != "txd/after" {
		t.Fatalf("got %s: an open transaction was applied", got.Topic())
	}
}

// TestCertificateIsTheCredential: on a tls listener with cn_as_username a
// verified client certificate authenticates a CONNECT without login, its
// CN the username.
func TestCertificateIsTheCredential(t *testing.T) {
	tf := testcert.Write(t, t.TempDir(), "device-7")
	users := make(chan string, 4)
	ts := startServer(t, func(bc *core.Config, sc *stomp.Config) {
		bc.AllowAnonymous = false
		bc.Authenticator = denyAll{}
		bc.Authorizer = authzFunc(func(c *core.ClientInfo) { users <- c.Username })
		sc.Listeners = append(sc.Listeners, stomp.Listener{Name: "certs", Type: "tls", Address: "127.0.0.1:0",
			TLS: &stomp.TLS{CertFile: tf.Cert, KeyFile: tf.Key, CAFile: tf.CA, ClientAuth: "require", CNAsUsername: true}})
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(tf.CA)
	pool.AppendCertsFromPEM(pem)
	pair, err := tls.LoadX509KeyPair(tf.ClientCert, tf.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := tls.Dial("tcp", ts.addr("certs"), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := gostomp.Connect(nc)
	if err != nil {
		t.Fatalf("CONNECT with a certificate and no login: %v", err)
	}
	defer c.Disconnect()
	if err := c.Send("cert/x", "", nil, gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	if u := <-users; u != "device-7" {
		t.Fatalf("username %q, want the certificate's CN", u)
	}
	// Without the certificate's listener, no login is no entry.
	if _, err := gostomp.Dial("tcp", ts.tcp()); err == nil {
		t.Fatal("anonymous CONNECT accepted")
	}
}

type authzFunc func(*core.ClientInfo)

func (f authzFunc) Authorize(_ context.Context, c *core.ClientInfo, _ core.Action, _ string) (core.Verdict, error) {
	f(c)
	return core.Allow, nil
}
