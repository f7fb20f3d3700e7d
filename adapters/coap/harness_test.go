package coap

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/pkg/runner/periodic"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	"go.uber.org/goleak"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/core"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// paho's and go-coap's readers end shortly after Close.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreAnyFunction("github.com/pion/transport/v4/deadline.(*Deadline).timeout"),
		goleak.IgnoreAnyFunction("github.com/plgd-dev/go-coap/v3/udp/client.(*Conn).Run"),
		goleak.IgnoreAnyFunction("github.com/plgd-dev/go-coap/v3/net/monitor/inactivity.(*Monitor).CheckInactivity"),
	)
}

// testEnv is a broker with the MQTT adapter and a CoAP gateway on loopback
// ports.
type testEnv struct {
	t      testing.TB
	broker *core.Broker
	gw     *Gateway
	mqttAd string
	addr   string // the udp listener
	addrs  map[string]net.Addr
}

type envOpt func(*core.Config, *Config)

func startEnv(t testing.TB, opts ...envOpt) *testEnv {
	t.Helper()
	bc := core.Config{AllowAnonymous: true, Logger: testLogger()}
	cc := Config{
		Listeners:  []Listener{{Name: "udp", Type: "udp", Address: "127.0.0.1:0"}},
		Namespace:  "coap",
		AckTimeout: 200 * time.Millisecond,
		ConQoS:     1,
		Logger:     testLogger(),
	}
	for _, o := range opts {
		o(&bc, &cc)
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
	g := New(cc, b)
	if err := g.Start(context.Background()); err != nil {
		ms.Stop(context.Background())
		b.Close()
		t.Fatal(err)
	}
	e := &testEnv{t: t, broker: b, gw: g, mqttAd: ms.Addrs()["tcp"].String(), addrs: g.Addrs()}
	if a := e.addrs["udp"]; a != nil {
		e.addr = a.String()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Stop(ctx); err != nil {
			t.Errorf("coap stop: %v", err)
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

// none checks that nothing arrives on ch for a short while.
func none[T any](t testing.TB, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	case <-time.After(300 * time.Millisecond):
	}
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

// coapClient dials the gateway with go-coap's own UDP client.
func (e *testEnv) coapClient() *udpclient.Conn {
	e.t.Helper()
	stop := make(chan struct{})
	c, err := udp.Dial(e.addr, options.WithPeriodicRunner(periodic.New(stop, 100*time.Millisecond)))
	if err != nil {
		e.t.Fatalf("coap dial: %v", err)
	}
	e.t.Cleanup(func() {
		c.Close()
		close(stop)
	})
	return c
}

func query(kv ...string) []message.Option {
	var o []message.Option
	for _, s := range kv {
		o = append(o, message.Option{ID: message.URIQuery, Value: []byte(s)})
	}
	return o
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// post publishes with a CON POST (or NON with non) and returns the
// response code and diagnostic.
func post(t testing.TB, c *udpclient.Conn, path, payload string, non bool, opts ...message.Option) (string, string) {
	t.Helper()
	req, err := c.NewPostRequest(ctx(t), path, message.TextPlain, bytes.NewReader([]byte(payload)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.ReleaseMessage(req)
	if non {
		req.SetType(message.NonConfirmable)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("coap post %s: %v", path, err)
	}
	defer c.ReleaseMessage(resp)
	return resp.Code().String(), body(resp)
}

func body(m *pool.Message) string {
	b, _ := m.ReadBody()
	return string(b)
}
