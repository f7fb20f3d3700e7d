package stomp_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	gostomp "github.com/go-stomp/stomp/v3"
	"go.uber.org/goleak"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/stomp"
	"github.com/mqgate/mqgate/core"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		// sockjs-go forgets a closed session after its disconnect delay
		// (5 s), on a goroutine of its own; net/http lingers half a
		// second on a connection it closes after a handler.
		goleak.IgnoreTopFunction("github.com/igm/sockjs-go/v3/sockjs.(*Handler).sessionByRequest.func1"),
		goleak.IgnoreAnyFunction("net/http.(*conn).closeWriteAndWait"))
}

// testServer is one broker with a STOMP and an MQTT adapter on loopback
// ports, so STOMP and MQTT clients meet on the same topics.
type testServer struct {
	broker *core.Broker
	stomp  *stomp.Server
	mqtt   *mqtt.Server
}

type serverOpt func(*core.Config, *stomp.Config)

func startServer(t testing.TB, opts ...serverOpt) *testServer {
	t.Helper()
	bc := core.Config{AllowAnonymous: true, Logger: testLogger()}
	sc := stomp.Config{
		Listeners: []stomp.Listener{
			{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0"},
			{Name: "ws", Type: "ws", Address: "127.0.0.1:0", Path: "/stomp"},
		},
		ConnectTimeout: 5 * time.Second,
		WriteTimeout:   5 * time.Second,
		Logger:         testLogger(),
	}
	for _, o := range opts {
		o(&bc, &sc)
	}
	b := core.NewBroker(bc)
	b.Start()
	ss := stomp.New(sc, b)
	ms := mqtt.New(mqtt.Config{Listeners: []mqtt.Listener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0"}}, Logger: testLogger()}, b)
	if err := ss.Start(context.Background()); err != nil {
		b.Close()
		t.Fatalf("start stomp: %v", err)
	}
	if err := ms.Start(context.Background()); err != nil {
		ss.Stop(context.Background())
		b.Close()
		t.Fatalf("start mqtt: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ss.Stop(ctx); err != nil {
			t.Errorf("stop stomp: %v", err)
		}
		if err := ms.Stop(ctx); err != nil {
			t.Errorf("stop mqtt: %v", err)
		}
		b.Close()
	})
	return &testServer{broker: b, stomp: ss, mqtt: ms}
}

func (ts *testServer) addr(name string) string { return ts.stomp.Addrs()[name].String() }
func (ts *testServer) tcp() string             { return ts.addr("tcp") }

func testLogger() *slog.Logger {
	if os.Getenv("MQGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// dial connects go-stomp's client; it disconnects when the test ends.
func dial(t *testing.T, ts *testServer, opts ...func(*gostomp.Conn) error) *gostomp.Conn {
	t.Helper()
	c, err := gostomp.Dial("tcp", ts.tcp(), opts...)
	if err != nil {
		t.Fatalf("stomp connect: %v", err)
	}
	t.Cleanup(func() { c.MustDisconnect() })
	return c
}

// sync sends a SEND with a receipt and waits for it: every frame the
// connection sent before (a SUBSCRIBE) has been handled.
func syncConn(t *testing.T, c *gostomp.Conn) {
	t.Helper()
	if err := c.Send("sync", "", nil, gostomp.SendOpt.Receipt); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

// subscribe subscribes and waits until the server has the subscription.
func subscribe(t *testing.T, c *gostomp.Conn, dest string, ack gostomp.AckMode, opts ...func(*gostomp.Conn) error) *gostomp.Subscription {
	t.Helper()
	s, err := c.Subscribe(dest, ack)
	if err != nil {
		t.Fatalf("subscribe %s: %v", dest, err)
	}
	syncConn(t, c)
	return s
}

// next returns the next message of sub.
func next(t *testing.T, sub *gostomp.Subscription) *gostomp.Message {
	t.Helper()
	select {
	case m, ok := <-sub.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		if m.Err != nil {
			t.Fatalf("subscription error: %v", m.Err)
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for a MESSAGE")
	}
	return nil
}

// mqttClient is a paho (MQTT 3.1.1) client on the same broker.
type mqttClient struct {
	paho3.Client
	msgs chan paho3.Message
}

func connectMQTT(t *testing.T, ts *testServer, id string) *mqttClient {
	t.Helper()
	c := &mqttClient{msgs: make(chan paho3.Message, 100)}
	o := paho3.NewClientOptions().AddBroker("tcp://" + ts.mqtt.Addrs()["tcp"].String()).SetClientID(id).
		SetAutoReconnect(false).SetConnectRetry(false).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) { c.msgs <- m })
	c.Client = paho3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func (c *mqttClient) sub(t *testing.T, filter string, qos byte) {
	t.Helper()
	if tok := c.Subscribe(filter, qos, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt subscribe: %v", tok.Error())
	}
}

func (c *mqttClient) pub(t *testing.T, topic string, qos byte, payload string) {
	t.Helper()
	if tok := c.Publish(topic, qos, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt publish: %v", tok.Error())
	}
}

func (c *mqttClient) next(t *testing.T) paho3.Message {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for an MQTT message")
	}
	return nil
}

// rawConn is a TCP connection that writes raw bytes and reads frames.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{Conn: nc, r: bufio.NewReader(nc)}
}

func (c *rawConn) send(t *testing.T, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// frame reads the next frame, heart-beat EOLs skipped; "" at EOF.
func (c *rawConn) frame(t *testing.T) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			if err == io.EOF || isReset(err) {
				return ""
			}
			t.Fatalf("read: %v", err)
		}
		if b == '\n' {
			continue
		}
		c.r.UnreadByte()
		break
	}
	s, err := c.r.ReadString(0)
	if err != nil {
		t.Fatalf("read frame: %v (%q)", err, s)
	}
	return s
}

// closed asserts the server closes the connection next.
func (c *rawConn) closed(t *testing.T) {
	t.Helper()
	if f := c.frame(t); f != "" {
		t.Fatalf("want close, got frame %q", f)
	}
}

func hasPrefix(s, p string) bool { return strings.HasPrefix(s, p) }
func contains(s, p string) bool  { return strings.Contains(s, p) }

func isReset(err error) bool {
	var ne *net.OpError
	if ok := asOpError(err, &ne); ok {
		return true
	}
	return false
}

func asOpError(err error, ne **net.OpError) bool {
	e, ok := err.(*net.OpError)
	if ok {
		*ne = e
	}
	return ok && !e.Timeout()
}

// waitFor polls cond until it holds or five seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
