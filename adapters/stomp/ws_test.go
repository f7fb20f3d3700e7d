package stomp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/mqgate/mqgate/adapters/stomp"
	"github.com/mqgate/mqgate/core"
)

// dialWS opens a WebSocket to the ws listener offering subprotocols.
func dialWS(t *testing.T, ts *testServer, subprotocols ...string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: subprotocols, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("ws://"+ts.addr("ws")+"/stomp", nil)
	if err != nil {
		t.Fatalf("websocket dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func wsSend(t *testing.T, ws *websocket.Conn, s string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

// wsMessage reads one WebSocket message, heart-beat messages skipped.
func wsMessage(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if strings.Trim(string(b), "\r\n") == "" {
			continue
		}
		return string(b)
	}
}

func TestWebSocketSubprotocolNegotiation(t *testing.T) {
	ts := startServer(t)
	cases := []struct {
		name    string
		offered []string
		accept  string
		wantSub string
		wantVer string
	}{
		{"v12 preferred", []string{"v10.stomp", "v11.stomp", "v12.stomp"}, "1.0,1.1,1.2", "v12.stomp", "version:1.2"},
		{"v11 caps the version", []string{"v11.stomp"}, "1.1,1.2", "v11.stomp", "version:1.1"},
		{"v10 caps the version", []string{"v10.stomp"}, "1.0,1.2", "v10.stomp", "session:"},
		{"no subprotocol offered, none answered", nil, "1.2", "", "version:1.2"},
		{"an unknown subprotocol is not answered", []string{"mqtt"}, "1.2", "", "version:1.2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := dialWS(t, ts, c.offered...)
			if ws.Subprotocol() != c.wantSub {
				t.Fatalf("subprotocol %q, want %q", ws.Subprotocol(), c.wantSub)
			}
			wsSend(t, ws, "CONNECT\naccept-version:"+c.accept+"\nhost:h\n\n\x00")
			if f := wsMessage(t, ws); !strings.Contains(f, c.wantVer) {
				t.Fatalf("got %q, want %q", f, c.wantVer)
			}
		})
	}
	t.Run("v11 subprotocol with only 1.2 accepted", func(t *testing.T) {
		ws := dialWS(t, ts, "v11.stomp")
		wsSend(t, ws, "CONNECT\naccept-version:1.2\nhost:h\n\n\x00")
		if f := wsMessage(t, ws); !strings.Contains(f, "no supported protocol version") {
			t.Fatalf("got %q", f)
		}
	})
}

func TestWebSocketFraming(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, sc *stomp.Config) { sc.MaxBodySize = 4096 })
	ws := dialWS(t, ts, "v12.stomp")
	// A frame split over messages, and two frames in one message.
	wsSend(t, ws, "CONNECT\naccept-")
	wsSend(t, ws, "version:1.2\nhost:h\n\n\x00")
	if f := wsMessage(t, ws); !strings.HasPrefix(f, "CONNECTED\n") {
		t.Fatalf("got %q", f)
	}
	wsSend(t, ws, "SUBSCRIBE\nid:1\ndestination:w\n\n\x00SUBSCRIBE\nid:2\ndestination:w\nreceipt:r\n\n\x00")
	if f := wsMessage(t, ws); f != "RECEIPT\nreceipt-id:r\n\n\x00" {
		t.Fatalf("got %q", f)
	}
	m := connectMQTT(t, ts, "dev")
	m.pub(t, "w", 0, "a")
	// Each MESSAGE is a WebSocket message of its own.
	for range 2 {
		f := wsMessage(t, ws)
		if strings.Count(f, "\x00") != 1 || !strings.HasPrefix(f, "MESSAGE\n") || !strings.HasSuffix(f, "\na\x00") {
			t.Fatalf("message %q", f)
		}
	}
	// A binary message carries frames as well as a text one.
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte("SEND\ndestination:w/bin\nreceipt:b\n\n\x00")); err != nil {
		t.Fatal(err)
	}
	if f := wsMessage(t, ws); f != "RECEIPT\nreceipt-id:b\n\n\x00" {
		t.Fatalf("got %q", f)
	}
	// A frame over the limit ends this connection only.
	wsSend(t, ws, "SEND\ndestination:w\n\n"+strings.Repeat("x", 5000)+"\x00")
	if f := wsMessage(t, ws); !strings.Contains(f, "body too large") {
		t.Fatalf("got %q", f)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Fatal("connection still open after ERROR")
	}
	other := dialWS(t, ts, "v12.stomp")
	wsSend(t, other, connect12)
	if f := wsMessage(t, other); !strings.HasPrefix(f, "CONNECTED\n") {
		t.Fatalf("got %q", f)
	}
}

// TestWebSocketBinaryBody: a MESSAGE whose body is not UTF-8 goes as a
// binary WebSocket message (a text message must be UTF-8); others as
// text.
func TestWebSocketBinaryBody(t *testing.T) {
	ts := startServer(t)
	ws := dialWS(t, ts, "v12.stomp")
	wsSend(t, ws, connect12)
	wsMessage(t, ws)
	wsSend(t, ws, "SUBSCRIBE\nid:1\ndestination:bin\nreceipt:r\n\n\x00")
	wsMessage(t, ws)
	m := connectMQTT(t, ts, "dev")
	m.pub(t, "bin", 0, "\xff\xfe\x00\x01")
	m.pub(t, "bin", 0, "text")
	for _, want := range []struct {
		typ  int
		body string
	}{{websocket.BinaryMessage, "\n\xff\xfe\x00\x01\x00"}, {websocket.TextMessage, "\ntext\x00"}} {
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if typ != want.typ || !strings.HasSuffix(string(b), want.body) {
			t.Fatalf("message type %d %q, want type %d ending %q", typ, b, want.typ, want.body)
		}
	}
}
