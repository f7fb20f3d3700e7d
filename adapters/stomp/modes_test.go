package stomp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	gostomp "github.com/go-stomp/stomp/v3"

	"github.com/mqgate/mqgate/adapters/stomp"
	"github.com/mqgate/mqgate/core"
)

func TestRabbitMQDestinations(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, sc *stomp.Config) { sc.Destinations = stomp.DestRabbitMQ })
	s := dial(t, ts)
	sub, err := s.Subscribe("/topic/home.*.temp", gostomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send("/topic/sync", "", nil, gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	m := connectMQTT(t, ts, "dev")
	m.sub(t, "home/#", 0)
	m.pub(t, "home/kitchen/temp", 0, "20")
	got := next(t, sub)
	if got.Destination != "/topic/home.kitchen.temp" || string(got.Body) != "20" {
		t.Fatalf("got %s %q", got.Destination, got.Body)
	}
	m.next(t) // its own publish
	if err := s.Send("/topic/home.hall.temp", "", []byte("19"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	if got := m.next(t); got.Topic() != "home/hall/temp" {
		t.Fatalf("MQTT got %s", got.Topic())
	}
}

func TestDurableSubscriberGetsUnackedAfterReconnect(t *testing.T) {
	ts := startServer(t)
	r := connected(t, ts, "client-id:d1\npersistent:true\n")
	r.send(t, "SUBSCRIBE\nid:s1\ndestination:dur\nack:client-individual\nreceipt:ok\n\n\x00")
	r.frame(t)
	connectMQTT(t, ts, "dev").pub(t, "dur", 1, "keep me")
	if f := r.frame(t); !strings.Contains(f, "keep me") {
		t.Fatalf("got %q", f)
	}
	r.Close() // no ACK, no DISCONNECT
	waitFor(t, "the session to go offline", func() bool {
		p := ts.broker.Sessions(core.SessionQuery{Protocol: "stomp"})
		return len(p.Sessions) == 1 && !p.Sessions[0].Connected
	})
	connectMQTT(t, ts, "dev2").pub(t, "dur", 1, "while away")
	r2 := connected(t, ts, "client-id:d1\npersistent:true\n")
	first := r2.frame(t)
	if !strings.Contains(first, "keep me") || !strings.Contains(first, "redelivered:true") || !strings.Contains(first, "subscription:s1") {
		t.Fatalf("redelivery %q", first)
	}
	if f := r2.frame(t); !strings.Contains(f, "while away") {
		t.Fatalf("queued message %q", f)
	}
	ack := header(first, "ack")
	r2.send(t, "ACK\nid:"+ack+"\nreceipt:acked\n\n\x00")
	if f := r2.frame(t); !strings.Contains(f, "receipt-id:acked") {
		t.Fatalf("got %q", f)
	}
}

// header returns the first value of name in a raw frame.
func header(f, name string) string {
	for _, l := range strings.Split(f, "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return v
		}
	}
	return ""
}

// TestTakeover: a second connection with the same client-id takes the
// session over; the first gets an ERROR and is closed.
func TestTakeover(t *testing.T) {
	ts := startServer(t)
	first := connected(t, ts, "client-id:same\n")
	connected(t, ts, "client-id:same\n")
	first.wantError(t, "session taken over")
}

// TestStopTellsEveryClient: Stop sends every connection, idle in the
// poller, on a WebSocket or a SockJS session, an ERROR saying the server
// shuts down, closes them and returns.
func TestStopTellsEveryClient(t *testing.T) {
	ts := startServer(t, withSockJS())
	tcp := connected(t, ts)
	ws := wsTransport(t, ts)
	ws.send(connect12)
	ws.frame()
	sj := sockjsTransport(t, ts, "stopme")
	sj.send(connect12)
	sj.frame()
	pre := dialRaw(t, ts.tcp()) // not yet CONNECTed
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- ts.stomp.Stop(ctx)
	}()
	tcp.wantError(t, "server shutting down")
	if f := ws.frame(); !strings.Contains(f, "server shutting down") {
		t.Fatalf("websocket got %q", f)
	}
	if f := sj.frame(); !strings.Contains(f, "server shutting down") {
		t.Fatalf("sockjs got %q", f)
	}
	pre.closed(t)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return")
	}
}
