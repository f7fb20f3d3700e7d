package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/internal/testbroker"
)

// requireStompJS returns node's path once @stomp/stompjs is installed in
// this directory, skipping (or failing in CI) otherwise.
func requireStompJS(t *testing.T) string {
	t.Helper()
	node := requireTool(t, "node")
	if _, err := os.Stat(filepath.Join("node_modules", "@stomp", "stompjs", "package.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("@stomp/stompjs not installed (run scripts/test-deps.sh): %v", err)
		}
		t.Skipf("@stomp/stompjs not installed; run scripts/test-deps.sh: %v", err)
	}
	return node
}

const stompConfig = `
stomp:
  enabled: true
  listeners:
    - {name: stompws, type: ws, address: "127.0.0.1:0", path: /stomp}
    - {name: sockjs, type: sockjs, address: "127.0.0.1:0", path: /stomp}
`

// startSTOMPBroker runs mqgate with the MQTT listeners of startBroker, a
// STOMP over WebSocket and a SockJS listener; it returns the WebSocket
// URL (sockjsURL gives the other).
func startSTOMPBroker(t *testing.T) (*broker, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mqgate.yaml")
	data := fmt.Sprintf("storage: {dir: %q}\n", filepath.Join(dir, "data"))
	if err := os.WriteFile(cfg, []byte(brokerConfig+stompConfig+data), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testbroker.Start(t, cfg, "tcp", "ws", "stompws", "sockjs")
	return &broker{Process: p, TCPPort: p.Port("tcp"), WSPort: p.Port("ws")},
		fmt.Sprintf("ws://127.0.0.1:%d/stomp", p.Port("stompws"))
}

// sockjsURL is the SockJS endpoint of b.
func sockjsURL(b *broker) string { return fmt.Sprintf("http://127.0.0.1:%d/stomp", b.Port("sockjs")) }

func TestStompJSRoundTrip(t *testing.T) {
	b, url := startSTOMPBroker(t)
	node := requireStompJS(t)
	for name, u := range map[string]string{"websocket": url, "sockjs": sockjsURL(b), "sockjs-websocket": sockjsURL(b)} {
		t.Run(name, func(t *testing.T) {
			if name == "sockjs-websocket" {
				t.Setenv("SOCKJS_TRANSPORTS", "websocket")
			}
			out, err := runToolErr(t, node, "stompjs_client.js", "roundtrip", u, "interop/stompjs/roundtrip/"+name)
			if err != nil {
				t.Fatalf("node stompjs_client.js roundtrip %s: %v\n%s", u, err, out)
			}
		})
	}
}

// TestStompJSWithMQTT has stompjs over WebSocket and mosquitto's clients
// over TCP exchange messages through one mqgate.
func TestStompJSWithMQTT(t *testing.T) {
	b, url := startSTOMPBroker(t)
	node := requireStompJS(t)

	for name, url := range map[string]string{"websocket": url, "sockjs": sockjsURL(b)} {
		t.Run(name, func(t *testing.T) {
			testStompJSWithMQTT(t, b, node, url, name)
		})
	}
}

func testStompJSWithMQTT(t *testing.T, b *broker, node, url, name string) {
	t.Run("stompjs SEND to mosquitto_sub", func(t *testing.T) {
		m := newMosquitto(t, b, "5")
		topic := "interop/stompjs/to-mqtt/" + name
		s := m.subscribe(t, "-q", "1", "-t", topic, "-C", "1")
		payload := "from stompjs"
		if out, err := runToolErr(t, node, "stompjs_client.js", "publish", url, topic, payload); err != nil {
			t.Fatalf("node stompjs_client.js publish: %v\n%s", err, out)
		}
		got := s.expect(t, topic, 1, false, payload)
		if !strings.Contains(got.UserProps, "origin:stompjs") {
			t.Errorf("user properties = %q, want origin:stompjs", got.UserProps)
		}
		if err := s.wait(t, 10*time.Second); err != nil {
			t.Fatalf("mosquitto_sub exit: %v", err)
		}
	})

	t.Run("mosquitto_pub to a stompjs subscriber", func(t *testing.T) {
		m := newMosquitto(t, b, "311")
		topic := "interop/stompjs/from-mqtt/" + name
		payload := "from mosquitto_pub"
		p := startProc(t, node, "stompjs_client.js", "subscribe", url, topic, payload)
		p.waitLine(t, 15*time.Second, "SUBSCRIBED", func(l string) bool { return l == "SUBSCRIBED" })
		m.publish(t, "-q", "1", "-t", topic, "-m", payload)
		p.waitLine(t, 15*time.Second, "RECEIVED", func(l string) bool { return l == "RECEIVED" })
		if err := p.wait(t, 15*time.Second); err != nil {
			t.Fatalf("node stompjs_client.js subscribe exit: %v; output:\n%s", err, strings.TrimSpace(p.trace.String()))
		}
	})
}
