package netserve

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
)

// countingHandler is the echo protocol, told of the connections its
// listener or route refused.
type countingHandler struct {
	echoHandler
	refused atomic.Int64
}

var _ Refuser = (*countingHandler)(nil)

func (h *countingHandler) Refused() { h.refused.Add(1) }

// TestRefuserToldOfEachConnectionOverTheLimit: a connection a full
// listener refuses is told to the Handler it would have gone to, once: a
// TCP listener's, and on a shared WebSocket listener the route's or the
// listener's own by the path asked for.
func TestRefuserToldOfEachConnectionOverTheLimit(t *testing.T) {
	tcp, web, route := &countingHandler{}, &countingHandler{}, &countingHandler{}
	s := New(Config{WebSocket: WebSocket{Path: "/echo"}, Listeners: []Listener{
		{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0", MaxConnections: 1, Handler: tcp},
		{Name: "ws", Type: "ws", Address: "127.0.0.1:0", MaxConnections: 1, Handler: web,
			Routes: []Route{{Path: "/other", Handler: route}}},
	}})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stopServer(t, s)
	counts := func(wantTCP, wantWeb, wantRoute int64) {
		t.Helper()
		waitFor(t, "the refusals to be told", func() bool {
			return tcp.refused.Load() == wantTCP && web.refused.Load() == wantWeb && route.refused.Load() == wantRoute
		})
	}
	// wsRefused dials path on the full WebSocket listener.
	wsRefused := func(path string) {
		t.Helper()
		ws, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addrs()["ws"].String()+path, nil)
		if err == nil {
			ws.Close()
			t.Fatalf("%s: upgraded on a full listener", path)
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s: %v, want 503", path, err)
		}
	}

	roundTrip(t, dialTCP(t, s, "tcp"), "held")
	expectEOF(t, dialTCP(t, s, "tcp"))
	counts(1, 0, 0)
	expectEOF(t, dialTCP(t, s, "tcp"))
	counts(2, 0, 0)

	wsRoundTrip(t, dialWS(t, s, "ws", "/echo"), websocket.BinaryMessage, "held")
	wsRefused("/other")
	counts(2, 0, 1)
	wsRefused("/echo")
	counts(2, 1, 1)
}
