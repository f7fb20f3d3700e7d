package mqtt_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/core"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The WebSocket dialer's HTTP transport keeps a connection
		// writer that ends shortly after the client disconnects.
		// Goroutines waiting in the network poller are not ignored: the
		// adapter's readers, accept loops and poller wait there.
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

// testServer is a broker and MQTT adapter on loopback ports.
type testServer struct {
	t      testing.TB
	broker *core.Broker
	srv    *mqtt.Server
	addrs  map[string]net.Addr
}

type serverOpt func(*core.Config, *mqtt.Config)

// startServer runs a broker with a tcp and a ws listener (plus whatever
// opts add) and stops it when the test ends.
func startServer(t testing.TB, opts ...serverOpt) *testServer {
	t.Helper()
	bc := core.Config{AllowAnonymous: true, Logger: testLogger(t)}
	mc := mqtt.Config{
		Listeners: []mqtt.Listener{
			{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0"},
			{Name: "ws", Type: "ws", Address: "127.0.0.1:0", Path: "/mqtt"},
		},
		MaxTopicAlias:  16,
		ConnectTimeout: 5 * time.Second,
		WriteTimeout:   5 * time.Second,
		Logger:         testLogger(t),
	}
	for _, o := range opts {
		o(&bc, &mc)
	}
	b := core.NewBroker(bc)
	b.Start()
	s := mqtt.New(mc, b)
	if err := s.Start(context.Background()); err != nil {
		b.Close()
		t.Fatalf("start: %v", err)
	}
	ts := &testServer{t: t, broker: b, srv: s, addrs: s.Addrs()}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		b.Close()
	})
	return ts
}

func (ts *testServer) tcp() string { return ts.addrs["tcp"].String() }
func (ts *testServer) ws() string  { return "ws://" + ts.addrs["ws"].String() + "/mqtt" }

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("MQGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// waitFor polls cond until it holds or the deadline passes.
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

// recv returns the next value from ch or fails the test after timeout.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// none asserts nothing arrives on ch for a short while. It is used only
// after a later message proved the earlier one would have arrived first.
func none[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	default:
	}
}
