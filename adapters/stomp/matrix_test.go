package stomp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fixtureOutcome is what a malformed fixture of testdata/stomp gets after
// CONNECT: an ERROR, or, where a version allows the frame (no escapes in
// 1.0), acceptance. A bare CR parses in 1.0 and 1.1, but the core refuses
// a topic holding it, so a9-bare-cr-in-value gets an ERROR everywhere.
var fixtureOutcome = map[string]struct{ v10, v11, v12 bool }{ // true: accepted
	"b11-undefined-escape":   {true, false, false},
	"b11-trailing-backslash": {true, false, false},
}

// rawTransport is one connection that sends raw bytes and reads frames
// ("" once closed).
type rawTransport struct {
	send  func(string)
	frame func() string
}

func tcpTransport(t *testing.T, ts *testServer) rawTransport {
	r := dialRaw(t, ts.tcp())
	return rawTransport{send: func(s string) { r.send(t, s) }, frame: func() string { return r.frame(t) }}
}

func wsTransport(t *testing.T, ts *testServer) rawTransport {
	ws := dialWS(t, ts, "v12.stomp", "v11.stomp", "v10.stomp")
	return rawTransport{
		send: func(s string) {
			// Binary: a fixture need not be UTF-8.
			if err := ws.WriteMessage(websocket.BinaryMessage, []byte(s)); err != nil {
				t.Fatal(err)
			}
		},
		frame: func() string {
			for {
				ws.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, b, err := ws.ReadMessage()
				if err != nil {
					return ""
				}
				if strings.Trim(string(b), "\r\n") != "" {
					return strings.TrimLeft(string(b), "\r\n")
				}
			}
		},
	}
}

func sockjsTransport(t *testing.T, ts *testServer, id string) rawTransport {
	c := newSockClient(t, ts, id, "127.0.0.1")
	c.open()
	return rawTransport{
		send: func(s string) { c.send(s) },
		frame: func() string {
			for len(c.msgs) == 0 {
				l, err := c.r.ReadString('\n')
				if err != nil {
					return ""
				}
				l = strings.TrimSuffix(l, "\n")
				if strings.HasPrefix(l, "c") {
					return ""
				}
				if strings.HasPrefix(l, "a") {
					c.msgs = append(c.msgs, strings.TrimPrefix(l, "a"))
				}
			}
			m := c.msgs[0]
			c.msgs = c.msgs[1:]
			return m // JSON-encoded; the test looks for substrings only
		},
	}
}

// TestFixturesEveryVersionAndTransport sends each malformed fixture under
// STOMP 1.0, 1.1 and 1.2 over TCP, WebSocket and SockJS (xhr-streaming):
// an ERROR and a close, or, where the version allows the frame, a RECEIPT
// for the probe that follows it.
func TestFixturesEveryVersionAndTransport(t *testing.T) {
	ts := startServer(t, withSockJS())
	dir := filepath.Join("..", "..", "testdata", "stomp")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, "ok-") || name == "a4-body-without-nul" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"1.0", "1.1", "1.2"} {
			for _, tr := range []string{"tcp", "ws", "sockjs"} {
				if tr == "sockjs" && (name == "b15-not-utf8" || strings.ContainsRune(string(b), 0xfffd)) {
					continue // SockJS carries strings: it cannot hold the bytes
				}
				n++
				t.Run(name+"/"+v+"/"+tr, func(t *testing.T) {
					var c rawTransport
					switch tr {
					case "tcp":
						c = tcpTransport(t, ts)
					case "ws":
						c = wsTransport(t, ts)
					default:
						c = sockjsTransport(t, ts, "fx"+strings.ReplaceAll(v, ".", "")+name)
					}
					c.send("CONNECT\naccept-version:" + v + "\nhost:h\n\n\x00")
					if f := c.frame(); !strings.HasPrefix(f, "CONNECTED") && !strings.HasPrefix(f, `["CONNECTED`) {
						t.Fatalf("CONNECT: %q", f)
					}
					o := fixtureOutcome[name]
					accepted := map[string]bool{"1.0": o.v10, "1.1": o.v11, "1.2": o.v12}[v]
					c.send(string(b) + "SEND\ndestination:probe\nreceipt:probe\n\n\x00")
					f := c.frame()
					if accepted {
						if !strings.Contains(f, "receipt-id:probe") {
							t.Fatalf("got %q, want the probe's RECEIPT", f)
						}
						return
					}
					if !strings.Contains(f, "ERROR") {
						t.Fatalf("got %q, want ERROR", f)
					}
					if f := c.frame(); f != "" {
						t.Fatalf("got %q after ERROR, want close", f)
					}
				})
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d cases", n)
	}
}
