package mqttsn

import (
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	snclient "github.com/energomonitor/bisquitt/client"
	pkts1 "github.com/energomonitor/bisquitt/packets1"
	"github.com/energomonitor/bisquitt/topics"
	"github.com/energomonitor/bisquitt/util"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// bisquitt's and paho's readers poll with a read deadline and end
		// shortly after Close.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("github.com/energomonitor/bisquitt/client.(*Client).receiveLoop"),
		goleak.IgnoreAnyFunction("github.com/pion/transport/v4/deadline.(*Deadline).timeout"),
	)
}

// testEnv is a broker with the MQTT adapter and an MQTT-SN gateway on
// loopback ports.
type testEnv struct {
	t      testing.TB
	broker *core.Broker
	mqtt   *mqtt.Server
	gw     *Gateway
	mqttAd string
	snAddr string
	addrs  map[string]net.Addr
}

type envOpt func(*core.Config, *Config)

var predefined = map[uint16]string{1: "pre/one", 7: "pre/seven"}

func startEnv(t testing.TB, opts ...envOpt) *testEnv {
	t.Helper()
	bc := core.Config{AllowAnonymous: true, Logger: testLogger()}
	sc := Config{
		Listeners:        []Listener{{Name: "udp", Type: "udp", Address: "127.0.0.1:0"}},
		Namespace:        "mqttsn",
		PredefinedTopics: predefined,
		QoSMinusOne:      true,
		RetryInterval:    200 * time.Millisecond,
		MaxRetries:       3,
		Logger:           testLogger(),
	}
	for _, o := range opts {
		o(&bc, &sc)
	}
	b := core.NewBroker(bc)
	b.Start()
	ms := mqtt.New(mqtt.Config{
		Listeners: []mqtt.Listener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0"}},
		Logger:    testLogger(),
	}, b)
	if err := ms.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := New(sc, b)
	if err := g.Start(context.Background()); err != nil {
		ms.Stop(context.Background())
		b.Close()
		t.Fatal(err)
	}
	e := &testEnv{t: t, broker: b, mqtt: ms, gw: g, mqttAd: ms.Addrs()["tcp"].String(), addrs: g.Addrs()}
	e.snAddr = e.addrs["udp"].String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Stop(ctx); err != nil {
			t.Errorf("mqttsn stop: %v", err)
		}
		ms.Stop(ctx)
		b.Close()
	})
	return e
}

func testLogger() *slog.Logger {
	if os.Getenv("MQGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

type mqttMsg struct {
	topic   string
	payload string
	qos     byte
	retain  bool
}

// mqttClient connects a paho MQTT 3.1.1 client to the broker.
func (e *testEnv) mqttClient(id string) paho.Client {
	e.t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + e.mqttAd).SetClientID(id).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		e.t.Fatalf("paho connect: %v", tok.Error())
	}
	e.t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func (e *testEnv) mqttSubscribe(id, filter string, qos byte) <-chan mqttMsg {
	e.t.Helper()
	c := e.mqttClient(id)
	ch := make(chan mqttMsg, 1000)
	tok := c.Subscribe(filter, qos, func(_ paho.Client, m paho.Message) {
		ch <- mqttMsg{m.Topic(), string(m.Payload()), m.Qos(), m.Retained()}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		e.t.Fatalf("paho subscribe: %v", tok.Error())
	}
	return ch
}

func (e *testEnv) mqttPublish(c paho.Client, topic string, qos byte, retain bool, payload string) {
	e.t.Helper()
	if tok := c.Publish(topic, qos, retain, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		e.t.Fatalf("paho publish: %v", tok.Error())
	}
}

type snMsg struct {
	topic   string
	payload string
	qos     uint8
}

// snClient connects a bisquitt MQTT-SN client to the gateway.
func (e *testEnv) snClient(cfg snclient.ClientConfig, addr string) (*snclient.Client, chan snMsg) {
	e.t.Helper()
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = time.Second
	}
	if cfg.RetryCount == 0 {
		cfg.RetryCount = 3
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.PredefinedTopics == nil {
		cfg.PredefinedTopics = topics.PredefinedTopics{}
		for id, n := range predefined {
			cfg.PredefinedTopics.Add("*", n, id)
		}
	}
	c := snclient.NewClient(util.NoOpLogger{}, &cfg)
	if err := c.Dial(addr); err != nil {
		e.t.Fatalf("bisquitt dial: %v", err)
	}
	if err := c.Connect(); err != nil {
		e.t.Fatalf("bisquitt connect: %v", err)
	}
	var once sync.Once
	e.t.Cleanup(func() { once.Do(func() { c.Close() }) })
	return c, make(chan snMsg, 1000)
}

func handler(ch chan snMsg) snclient.MessageHandlerFunc {
	return func(_ *snclient.Client, topic string, p *pkts1.Publish) {
		ch <- snMsg{topic, string(p.Data), p.QOS}
	}
}

// rawClient speaks MQTT-SN with the codec over its own UDP socket, for
// what no client library expresses.
type rawClient struct {
	t    testing.TB
	conn *net.UDPConn
	buf  []byte
}

func (e *testEnv) raw() *rawClient {
	e.t.Helper()
	ra, _ := net.ResolveUDPAddr("udp", e.snAddr)
	c, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return &rawClient{t: e.t, conn: c, buf: make([]byte, 70000)}
}

func (r *rawClient) sendBytes(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawClient) send(p packet.Packet) {
	r.t.Helper()
	b, err := packet.Append(nil, &p)
	if err != nil {
		r.t.Fatal(err)
	}
	r.sendBytes(b)
}

// readRaw returns the next datagram, or nil after timeout.
func (r *rawClient) readRaw(timeout time.Duration) []byte {
	r.conn.SetReadDeadline(time.Now().Add(timeout))
	n, err := r.conn.Read(r.buf)
	if err != nil {
		return nil
	}
	return append([]byte(nil), r.buf[:n]...)
}

// expect reads the next message and checks its type.
func (r *rawClient) expect(t packet.Type) packet.Packet {
	r.t.Helper()
	b := r.readRaw(10 * time.Second)
	if b == nil {
		r.t.Fatalf("no %v arrived", t)
	}
	var p packet.Packet
	if err := packet.Decode(b, &p); err != nil {
		r.t.Fatalf("decode %x: %v", b, err)
	}
	if p.Type != t {
		r.t.Fatalf("got %v %+v, want %v", p.Type, p, t)
	}
	return p
}

func (r *rawClient) connect(id string, clean bool, keepAlive uint16) {
	r.t.Helper()
	r.send(packet.Packet{Type: packet.CONNECT, CleanSession: clean, ProtocolID: packet.ProtocolID, Duration: keepAlive, ClientID: []byte(id)})
	if p := r.expect(packet.CONNACK); p.ReturnCode != packet.Accepted {
		r.t.Fatalf("CONNACK %d", p.ReturnCode)
	}
}

// clientState returns the state of the gateway's client with id.
func (e *testEnv) clientState(id string) clientState {
	e.gw.mu.Lock()
	c := e.gw.byID[id]
	e.gw.mu.Unlock()
	if c == nil {
		return stateGone
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}
