package gateway_test

import (
	"strings"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"
)

// TestSTOMPSharesTheMQTTWebSocketPort: a STOMP ws listener with share
// serves STOMP over WebSocket at its own path on the MQTT WebSocket
// listener's port, beside MQTT over WebSocket at /mqtt, and the two
// exchange messages.
func TestSTOMPSharesTheMQTTWebSocketPort(t *testing.T) {
	g := start(t, `
storage: {type: memory}
mqtt:
  listeners:
    - {name: ws, type: ws, address: "127.0.0.1:0"}
stomp:
  enabled: true
  listeners:
    - {name: shared, type: ws, share: ws, path: /stomp}
`)
	addr := g.MQTTAddr("ws").String()
	d := websocket.Dialer{Subprotocols: []string{"v12.stomp"}, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("ws://"+addr+"/stomp", nil)
	if err != nil {
		t.Fatalf("STOMP over WebSocket on the MQTT port: %v", err)
	}
	defer ws.Close()
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "v12.stomp" {
		t.Fatalf("subprotocol %q, want v12.stomp", p)
	}
	send := func(frame string) {
		t.Helper()
		if err := ws.WriteMessage(websocket.TextMessage, []byte(frame+"\x00")); err != nil {
			t.Fatal(err)
		}
	}
	read := func(want string) string {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, m, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for %s: %v", want, err)
			}
			if f := string(m); strings.HasPrefix(f, want+"\n") {
				return f
			}
		}
	}
	send("CONNECT\naccept-version:1.2\nhost:mqgate\n\n")
	read("CONNECTED")
	send("SUBSCRIBE\nid:0\ndestination:shared/x\nack:auto\nreceipt:sub\n\n")
	read("RECEIPT")

	// MQTT over WebSocket on the same port, at /mqtt.
	got := make(chan string, 1)
	o := paho3.NewClientOptions().AddBroker("ws://" + addr + "/mqtt").SetClientID("mqtt-ws").SetAutoReconnect(false)
	c := paho3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("MQTT over WebSocket: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Subscribe("shared/back", 1, func(_ paho3.Client, m paho3.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := c.Publish("shared/x", 1, false, "from mqtt"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if f := read("MESSAGE"); !strings.HasSuffix(strings.TrimRight(f, "\x00"), "\n\nfrom mqtt") {
		t.Fatalf("MESSAGE %q", f)
	}
	send("SEND\ndestination:shared/back\n\nfrom stomp")
	select {
	case m := <-got:
		if m != "from stomp" {
			t.Fatalf("MQTT got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the STOMP SEND did not reach the MQTT subscriber")
	}
}
