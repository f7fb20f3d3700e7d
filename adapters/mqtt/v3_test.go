package mqtt_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/crypto/bcrypt"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/internal/testcert"
)

type msg3 struct {
	topic    string
	payload  string
	qos      byte
	retained bool
}

// client3 is a paho.mqtt.golang (MQTT 3.1.1) client whose messages land on
// a channel, with a handle on its socket so a test can cut it abruptly.
type client3 struct {
	paho3.Client
	msgs chan msg3
	mu   sync.Mutex
	nc   net.Conn
}

func options3(broker, id string) *paho3.ClientOptions {
	return paho3.NewClientOptions().AddBroker(broker).SetClientID(id).
		SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4).
		SetConnectTimeout(5 * time.Second).SetWriteTimeout(5 * time.Second).
		SetOrderMatters(true)
}

func connect3(t *testing.T, o *paho3.ClientOptions) *client3 {
	t.Helper()
	c, err := tryConnect3(o)
	if err != nil {
		t.Fatalf("connect %s: %v", o.ClientID, err)
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func tryConnect3(o *paho3.ClientOptions) (*client3, error) {
	c := &client3{msgs: make(chan msg3, 1000)}
	o.SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
		c.msgs <- msg3{m.Topic(), string(m.Payload()), m.Qos(), m.Retained()}
	})
	if o.Servers[0].Scheme == "tcp" {
		o.SetCustomOpenConnectionFn(func(u *url.URL, _ paho3.ClientOptions) (net.Conn, error) {
			nc, err := net.Dial("tcp", u.Host)
			c.mu.Lock()
			c.nc = nc
			c.mu.Unlock()
			return nc, err
		})
	}
	c.Client = paho3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		return nil, fmt.Errorf("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	return c, nil
}

// cut closes the socket without DISCONNECT, as a lost link would.
func (c *client3) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nc.Close()
}

func (c *client3) sub(t *testing.T, filter string, qos byte) byte {
	t.Helper()
	tok := c.Subscribe(filter, qos, nil)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return tok.(*paho3.SubscribeToken).Result()[filter]
}

func (c *client3) pub(t *testing.T, topic string, qos byte, retained bool, payload string) {
	t.Helper()
	tok := c.Publish(topic, qos, retained, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func TestV3PublishSubscribeEachQoS(t *testing.T) {
	ts := startServer(t)
	for _, broker := range []string{"tcp://" + ts.tcp(), ts.ws()} {
		sub := connect3(t, options3(broker, "sub"))
		pub := connect3(t, options3(broker, "pub"))
		for qos := byte(0); qos <= 2; qos++ {
			if got := sub.sub(t, fmt.Sprintf("q/%d/+", qos), qos); got != qos {
				t.Fatalf("granted QoS %d, want %d", got, qos)
			}
		}
		for pq := byte(0); pq <= 2; pq++ {
			for sq := byte(0); sq <= 2; sq++ {
				payload := fmt.Sprintf("%s pub%d sub%d", broker, pq, sq)
				pub.pub(t, fmt.Sprintf("q/%d/x", sq), pq, false, payload)
				m := recv(t, sub.msgs, payload)
				want := min(pq, sq)
				if m.payload != payload || m.qos != want || m.retained {
					t.Fatalf("got %+v, want payload %q qos %d not retained", m, payload, want)
				}
			}
		}
		sub.Disconnect(0)
		pub.Disconnect(0)
	}
}

func TestV3RetainedSetReplaceDelete(t *testing.T) {
	ts := startServer(t)
	pub := connect3(t, options3("tcp://"+ts.tcp(), "pub"))
	pub.pub(t, "r/a", 1, true, "first")
	pub.pub(t, "r/a", 1, true, "second")
	pub.pub(t, "r/b", 0, true, "b")

	s1 := connect3(t, options3("tcp://"+ts.tcp(), "s1"))
	s1.sub(t, "r/#", 1)
	got := map[string]msg3{}
	for range 2 {
		m := recv(t, s1.msgs, "retained")
		got[m.topic] = m
	}
	if got["r/a"].payload != "second" || !got["r/a"].retained || got["r/b"].payload != "b" {
		t.Fatalf("retained messages: %+v", got)
	}
	// A live publish matching an established subscription has RETAIN 0
	// [MQTT-3.3.1-9].
	pub.pub(t, "r/a", 1, true, "third")
	if m := recv(t, s1.msgs, "live"); m.retained || m.payload != "third" {
		t.Fatalf("live retained publish: %+v", m)
	}
	pub.pub(t, "r/a", 1, true, "") // delete
	if m := recv(t, s1.msgs, "delete"); m.payload != "" {
		t.Fatalf("empty retained publish: %+v", m)
	}
	s2 := connect3(t, options3("tcp://"+ts.tcp(), "s2"))
	s2.sub(t, "r/#", 1)
	if m := recv(t, s2.msgs, "retained after delete"); m.topic != "r/b" {
		t.Fatalf("got %+v, want only r/b", m)
	}
	pub.pub(t, "r/end", 0, false, "end")
	if m := recv(t, s2.msgs, "end"); m.topic != "r/end" {
		t.Fatalf("r/a was deleted but arrived: %+v", m)
	}
}

func TestV3WillOnLostLinkNotOnDisconnect(t *testing.T) {
	ts := startServer(t)
	watcher := connect3(t, options3("tcp://"+ts.tcp(), "watcher"))
	watcher.sub(t, "will/#", 1)

	polite := connect3(t, options3("tcp://"+ts.tcp(), "polite").SetWill("will/polite", "gone", 1, false))
	polite.Disconnect(100)
	rude := connect3(t, options3("tcp://"+ts.tcp(), "rude").SetWill("will/rude", "lost", 1, false))
	rude.cut()
	m := recv(t, watcher.msgs, "will")
	if m.topic != "will/rude" || m.payload != "lost" || m.qos != 1 {
		t.Fatalf("got %+v, want the rude client's will", m)
	}
	none(t, watcher.msgs, "will of a client that sent DISCONNECT")
}

func TestV3PersistentSessionQueuesWhileOffline(t *testing.T) {
	ts := startServer(t)
	o := options3("tcp://"+ts.tcp(), "durable").SetCleanSession(false)
	sub := connect3(t, o)
	sub.sub(t, "p/+", 1)
	sub.Disconnect(100)
	waitFor(t, "session offline", func() bool { return ts.broker.Stats().ClientsConnected.Load() == 0 })

	pub := connect3(t, options3("tcp://"+ts.tcp(), "pub"))
	// QoS 0 first: the QoS 1 acknowledgements that follow prove the broker
	// handled it before the subscriber returns.
	pub.pub(t, "p/x", 0, false, "qos0-dropped-offline")
	for i := range 5 {
		pub.pub(t, "p/x", 1, false, fmt.Sprint(i))
	}

	sub = connect3(t, options3("tcp://"+ts.tcp(), "durable").SetCleanSession(false))
	if !sub.IsConnected() {
		t.Fatal("not connected")
	}
	for i := range 5 {
		if m := recv(t, sub.msgs, "queued message"); m.payload != fmt.Sprint(i) || m.qos != 1 {
			t.Fatalf("message %d: got %q", i, m.payload)
		}
	}
	// The subscription survived: a new publish arrives without SUBSCRIBE.
	pub.pub(t, "p/x", 1, false, "live")
	if m := recv(t, sub.msgs, "live"); m.payload != "live" {
		t.Fatalf("got %q after the queue, want live", m.payload)
	}
}

func TestV3TakeoverKeepsSession(t *testing.T) {
	ts := startServer(t)
	lost := make(chan error, 1)
	first := connect3(t, options3("tcp://"+ts.tcp(), "dup").SetCleanSession(false).
		SetConnectionLostHandler(func(_ paho3.Client, err error) { lost <- err }))
	first.sub(t, "t/x", 1)
	second := connect3(t, options3("tcp://"+ts.tcp(), "dup").SetCleanSession(false))
	recv(t, lost, "first connection closed by takeover")

	pub := connect3(t, options3("tcp://"+ts.tcp(), "pub"))
	pub.pub(t, "t/x", 1, false, "to the new connection")
	if m := recv(t, second.msgs, "message"); m.payload != "to the new connection" {
		t.Fatalf("got %+v", m)
	}
}

func TestV3SharedSubscriptionRoundRobin(t *testing.T) {
	ts := startServer(t)
	a := connect3(t, options3("tcp://"+ts.tcp(), "a"))
	b := connect3(t, options3("tcp://"+ts.tcp(), "b"))
	a.sub(t, "$share/g/s/+", 1)
	b.sub(t, "$queue/s/+", 1) // a different group: $queue
	c := connect3(t, options3("tcp://"+ts.tcp(), "c"))
	c.sub(t, "$share/g/s/+", 1)
	pub := connect3(t, options3("tcp://"+ts.tcp(), "pub"))
	for i := range 10 {
		pub.pub(t, "s/1", 1, false, fmt.Sprint(i))
	}
	for range 10 {
		recv(t, b.msgs, "$queue member gets every message")
	}
	n := 0
	for n < 10 {
		select {
		case <-a.msgs:
		case <-c.msgs:
		case <-time.After(5 * time.Second):
			t.Fatalf("group g got %d of 10", n)
		}
		n++
	}
	if len(a.msgs) != 0 || len(c.msgs) != 0 {
		t.Fatal("a shared message was delivered twice")
	}
}

func TestV3PasswordFileAndACL(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	if err := auth.SetPassword(pw, "alice", "secret", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	aclFile := filepath.Join(dir, "acl")
	os.WriteFile(aclFile, []byte("allow user:alice all users/%u/#\nallow all subscribe public/#\ndeny all all #\n"), 0o600)
	pf, err := auth.LoadPasswordFile(pw)
	if err != nil {
		t.Fatal(err)
	}
	acl, err := auth.LoadACL(aclFile, core.Deny)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(bc *core.Config, _ *mqtt.Config) {
		bc.AllowAnonymous = false
		bc.Authenticator = pf
		bc.Authorizer = acl
	})
	addr := "tcp://" + ts.tcp()
	if _, err := tryConnect3(options3(addr, "x").SetUsername("alice").SetPassword("wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, err := tryConnect3(options3(addr, "anon")); err == nil {
		t.Fatal("anonymous client accepted with allow_anonymous false")
	}
	alice := connect3(t, options3(addr, "alice-1").SetUsername("alice").SetPassword("secret"))
	if got := alice.sub(t, "users/alice/#", 1); got != 1 {
		t.Fatalf("own subtree: granted %d", got)
	}
	if got := alice.sub(t, "users/bob/#", 1); got != 0x80 {
		t.Fatalf("subscribe to another user's subtree: got 0x%02X, want 0x80", got)
	}
	alice.pub(t, "public/news", 1, false, "denied") // v3 cannot report a denial: acked and dropped
	alice.pub(t, "users/alice/inbox", 1, false, "allowed")
	if m := recv(t, alice.msgs, "allowed"); m.payload != "allowed" {
		t.Fatalf("got %+v", m)
	}
	if got := ts.broker.Stats().PublishDenied.Load(); got != 1 {
		t.Fatalf("denied publishes counted: %d", got)
	}
}

func TestV3TLSWithClientCertificateAsUsername(t *testing.T) {
	tf := testcert.Write(t, t.TempDir(), "device-7")
	ca, cert, key, ccert, ckey := tf.CA, tf.Cert, tf.Key, tf.ClientCert, tf.ClientKey
	users := make(chan string, 4)
	ts := startServer(t, func(bc *core.Config, mc *mqtt.Config) {
		bc.Authorizer = authzFunc(func(c *core.ClientInfo) { users <- c.Username + "/" + c.CertCN })
		mc.Listeners = append(mc.Listeners,
			mqtt.Listener{Name: "tls", Type: "tls", Address: "127.0.0.1:0",
				TLS: &mqtt.TLS{CertFile: cert, KeyFile: key, CAFile: ca, ClientAuth: "require", CNAsUsername: true}},
			mqtt.Listener{Name: "wss", Type: "wss", Address: "127.0.0.1:0",
				TLS: &mqtt.TLS{CertFile: cert, KeyFile: key}})
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(ca)
	pool.AppendCertsFromPEM(pem)
	pair, err := tls.LoadX509KeyPair(ccert, ckey)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}
	c := connect3(t, options3("ssl://"+ts.addrs["tls"].String(), "tls-client").SetTLSConfig(tc))
	c.sub(t, "tls/x", 1)
	c.pub(t, "tls/x", 1, false, "over tls")
	if m := recv(t, c.msgs, "tls message"); m.payload != "over tls" {
		t.Fatalf("got %+v", m)
	}
	if u := recv(t, users, "authorization"); u != "device-7/device-7" {
		t.Fatalf("username/cert CN = %q, want device-7/device-7", u)
	}
	if _, err := tryConnect3(options3("ssl://"+ts.addrs["tls"].String(), "no-cert").SetTLSConfig(&tls.Config{RootCAs: pool})); err == nil {
		t.Fatal("client without certificate accepted by client_auth require")
	}
	w := connect3(t, options3("wss://"+ts.addrs["wss"].String()+"/mqtt", "wss-client").SetTLSConfig(&tls.Config{RootCAs: pool}))
	w.sub(t, "tls/x", 0)
	c.pub(t, "tls/x", 1, false, "to wss")
	if m := recv(t, w.msgs, "wss message"); m.payload != "to wss" {
		t.Fatalf("got %+v", m)
	}
}

// TestCertificateIsTheCredential: with allow_anonymous false and no
// password file, a verified client certificate on a cn_as_username
// listener authenticates the client with its CN as username, as
// mosquitto's use_identity_as_username does; a listener without
// cn_as_username and the plain TCP listener still need a password.
func TestCertificateIsTheCredential(t *testing.T) {
	tf := testcert.Write(t, t.TempDir(), "device-9")
	users := make(chan string, 4)
	ts := startServer(t, func(bc *core.Config, mc *mqtt.Config) {
		bc.AllowAnonymous = false
		bc.Authorizer = authzFunc(func(c *core.ClientInfo) { users <- c.Username })
		mc.Listeners = append(mc.Listeners,
			mqtt.Listener{Name: "certs", Type: "tls", Address: "127.0.0.1:0",
				TLS: &mqtt.TLS{CertFile: tf.Cert, KeyFile: tf.Key, CAFile: tf.CA, ClientAuth: "require", CNAsUsername: true}},
			mqtt.Listener{Name: "tls", Type: "tls", Address: "127.0.0.1:0",
				TLS: &mqtt.TLS{CertFile: tf.Cert, KeyFile: tf.Key, CAFile: tf.CA, ClientAuth: "require"}})
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(tf.CA)
	pool.AppendCertsFromPEM(pem)
	pair, err := tls.LoadX509KeyPair(tf.ClientCert, tf.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}
	// A username and password the broker knows nothing of are ignored:
	// the certificate is the credential.
	c := connect3(t, options3("ssl://"+ts.addrs["certs"].String(), "cert-only").
		SetTLSConfig(tc).SetUsername("someone").SetPassword("wrong"))
	c.sub(t, "cert/x", 1)
	if u := recv(t, users, "authorization"); u != "device-9" {
		t.Fatalf("username %q, want the certificate CN device-9", u)
	}
	if _, err := tryConnect3(options3("ssl://"+ts.addrs["tls"].String(), "cert-no-cn").SetTLSConfig(tc)); err == nil {
		t.Fatal("certificate accepted as credential on a listener without cn_as_username")
	}
	if _, err := tryConnect3(options3("tcp://"+ts.tcp(), "anon")); err == nil {
		t.Fatal("anonymous client accepted on tcp with allow_anonymous false")
	}
}

type authzFunc func(*core.ClientInfo)

func (f authzFunc) Authorize(_ context.Context, c *core.ClientInfo, _ core.Action, _ string) (core.Verdict, error) {
	f(c)
	return core.Allow, nil
}

func TestV3SysTopics(t *testing.T) {
	ts := startServer(t, func(bc *core.Config, _ *mqtt.Config) { bc.SysInterval = 50 * time.Millisecond })
	c := connect3(t, options3("tcp://"+ts.tcp(), "sys"))
	c.sub(t, "$SYS/broker/clients/connected", 0)
	if m := recv(t, c.msgs, "$SYS"); m.payload == "" {
		t.Fatalf("empty $SYS message %+v", m)
	}
	c.sub(t, "#", 0)
	c.pub(t, "$SYS/broker/fake", 1, false, "x") // clients cannot publish into $SYS
	c.pub(t, "plain", 1, false, "plain")
	for {
		m := recv(t, c.msgs, "plain")
		if m.topic == "plain" {
			break
		}
		if m.topic[0] == '$' {
			t.Fatalf("'#' matched a $ topic: %s", m.topic)
		}
	}
}
