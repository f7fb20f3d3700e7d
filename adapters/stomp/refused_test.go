package stomp_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/mqgate/mqgate/adapters/stomp"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/internal/coretest"
)

// dialWSText opens a STOMP WebSocket to url; it closes when the test ends.
func dialWSText(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := (&websocket.Dialer{Subprotocols: []string{"v12.stomp"}}).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// wsEnded reads from ws until the server ends it, and returns the frames
// it sent before.
func wsEnded(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got strings.Builder
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server did not end the WebSocket (got %q)", got.String())
			}
			return got.String()
		}
		got.Write(b)
	}
}

// TestRefusedConnectsCountedByReason: each connection the adapter refuses
// before its CONNECT reaches the core is counted once under its reason,
// over TCP (polled), WebSocket and SockJS; one the core refuses is
// counted once, by the core; a client that leaves before its CONNECT, or
// is accepted, is not counted.
func TestRefusedConnectsCountedByReason(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, sc *stomp.Config) {
		sc.ConnectTimeout = 300 * time.Millisecond
		sc.Listeners = append(sc.Listeners,
			stomp.Listener{Name: "small", Type: "tcp", Address: "127.0.0.1:0", MaxConnections: 1},
			stomp.Listener{Name: "sockjs", Type: "sockjs", Address: "127.0.0.1:0", Path: "/stomp", MaxConnections: 1})
	})
	if _, err := ts.broker.AddBan(core.Ban{Kind: core.BanClientID, Value: "banned"}); err != nil {
		t.Fatal(err)
	}
	ws := "ws://" + ts.addr("ws") + "/stomp"
	// refused sends input on a new TCP connection and expects an ERROR
	// whose message holds msg, then the close.
	refused := func(input, msg string) func(t *testing.T) {
		return func(t *testing.T) {
			r := dialRaw(t, ts.tcp())
			r.send(t, input)
			r.wantError(t, msg)
		}
	}
	const none = coretest.NoRefusal
	for _, tc := range []struct {
		name string
		try  func(t *testing.T)
		want core.Refusal // none: nothing counted
	}{
		{"a client that closes before its CONNECT", func(t *testing.T) { dialRaw(t, ts.tcp()).Close() }, none},
		{"an accepted CONNECT", func(t *testing.T) { connected(t, ts) }, none},
		{"a listener at max_connections", func(t *testing.T) {
			r := dialRaw(t, ts.addr("small"))
			r.send(t, connect12)
			if f := r.frame(t); !strings.HasPrefix(f, "CONNECTED\n") {
				t.Fatalf("CONNECT answered %q", f)
			}
			late := dialRaw(t, ts.addr("small"))
			late.send(t, connect12)
			late.closed(t)
		}, core.RefusedServerBusy},
		{"a SockJS listener at max_connections", func(t *testing.T) {
			newSockClient(t, ts, "s1", "127.0.0.1").open()
			resp, err := http.Post("http://"+ts.addr("sockjs")+"/stomp/000/s2/xhr_streaming", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("a second session: %s, want 503", resp.Status)
			}
		}, core.RefusedServerBusy},
		{"only versions the server does not speak", refused("CONNECT\naccept-version:2.0,1.10\nhost:h\n\n\x00", "no supported protocol version"),
			core.RefusedUnsupportedProtocol},
		{"only versions the server does not speak, over a WebSocket", func(t *testing.T) {
			c := dialWSText(t, ws)
			c.WriteMessage(websocket.TextMessage, []byte("CONNECT\naccept-version:2.0\nhost:h\n\n\x00"))
			if got := wsEnded(t, c); !strings.Contains(got, "no supported protocol version") {
				t.Fatalf("got %q", got)
			}
		}, core.RefusedUnsupportedProtocol},
		{"a frame before CONNECT", refused("SEND\ndestination:a\n\n\x00", "expected CONNECT"), core.RefusedMalformedConnect},
		{"a malformed heart-beat", refused("CONNECT\naccept-version:1.2\nheart-beat:x,1\n\n\x00", "malformed heart-beat"),
			core.RefusedMalformedConnect},
		{"a CONNECT with a body", refused("CONNECT\naccept-version:1.2\n\nbody\x00", "body too large"), core.RefusedMalformedConnect},
		{"a CONNECT line over the limit", refused("CONNECT\naccept-version:1.2\nx:"+strings.Repeat("a", 5000)+"\n\n\x00", "line too long"),
			core.RefusedMalformedConnect},
		{"a banned client id, refused by the core", refused("CONNECT\naccept-version:1.2\nclient-id:banned\n\n\x00", ""),
			core.RefusedBanned},
		{"no CONNECT within the connect timeout", refused("", "no CONNECT frame"), core.RefusedConnectTimeout},
		{"a CONNECT that stalls halfway", refused("CONNECT\naccept-ver", "no CONNECT frame"), core.RefusedConnectTimeout},
		{"no CONNECT over a WebSocket within the connect timeout", func(t *testing.T) {
			if got := wsEnded(t, dialWSText(t, ws)); !strings.Contains(got, "no CONNECT frame") {
				t.Fatalf("got %q", got)
			}
		}, core.RefusedConnectTimeout},
	} {
		coretest.CheckRefusal(t, ts.broker, "stomp", tc.name, tc.try, tc.want)
	}
}
