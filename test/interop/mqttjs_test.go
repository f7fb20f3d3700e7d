package interop

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requireMQTTJS returns node's path once MQTT.js is installed in this
// directory, skipping (or failing in CI) otherwise.
func requireMQTTJS(t *testing.T) string {
	t.Helper()
	node := requireTool(t, "node")
	if _, err := os.Stat(filepath.Join("node_modules", "mqtt", "package.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("MQTT.js not installed (run scripts/test-deps.sh): %v", err)
		}
		t.Skipf("MQTT.js not installed; run scripts/test-deps.sh: %v", err)
	}
	return node
}

func TestMQTTJSRoundTrip(t *testing.T) {
	b := startBroker(t)
	node := requireMQTTJS(t)
	for _, transport := range []struct{ name, url string }{
		{"tcp", b.TCPURL()},
		{"ws", b.WSURL()},
	} {
		for _, version := range []int{4, 5} {
			name := transport.name + "/v" + strconv.Itoa(version)
			t.Run(name, func(t *testing.T) {
				topic := "interop/mqttjs/" + name
				out, err := runToolErr(t, node, "mqttjs_client.js", "roundtrip", transport.url, strconv.Itoa(version), topic)
				if err != nil {
					t.Fatalf("node mqttjs_client.js roundtrip %s %d: %v\n%s", transport.url, version, err, out)
				}
			})
		}
	}
}

// TestCrossClient has each client library publish to the other over a
// different transport, so neither side's quirks can hide the other's.
func TestCrossClient(t *testing.T) {
	b := startBroker(t)
	node := requireMQTTJS(t)

	t.Run("MQTT.js over WebSocket to mosquitto_sub over TCP", func(t *testing.T) {
		for _, v := range []struct {
			js, mosq string
		}{{"4", "311"}, {"5", "5"}} {
			t.Run("v"+v.mosq, func(t *testing.T) {
				m := newMosquitto(t, b, v.mosq)
				topic := "interop/cross/ws-to-tcp/v" + v.mosq
				s := m.subscribe(t, "-q", "1", "-t", topic, "-C", "1")
				payload := "from MQTT.js over ws, v" + v.js
				out, err := runToolErr(t, node, "mqttjs_client.js", "publish", b.WSURL(), v.js, topic, payload)
				if err != nil {
					t.Fatalf("node mqttjs_client.js publish: %v\n%s", err, out)
				}
				got := s.expect(t, topic, 1, false, payload)
				want := ""
				if v.mosq == "5" {
					want = "origin:mqttjs"
				}
				if got.UserProps != want {
					t.Errorf("user properties = %q, want %q", got.UserProps, want)
				}
				if err := s.wait(t, 10*time.Second); err != nil {
					t.Fatalf("mosquitto_sub exit: %v", err)
				}
			})
		}
	})

	t.Run("mosquitto_pub over TCP to MQTT.js over WebSocket", func(t *testing.T) {
		for _, v := range []struct {
			js, mosq string
		}{{"4", "311"}, {"5", "5"}} {
			t.Run("v"+v.mosq, func(t *testing.T) {
				m := newMosquitto(t, b, v.mosq)
				topic := "interop/cross/tcp-to-ws/v" + v.mosq
				payload := "from mosquitto_pub over tcp, v" + v.mosq
				p := startProc(t, node, "mqttjs_client.js", "subscribe", b.WSURL(), v.js, topic, payload)
				p.waitLine(t, 15*time.Second, "SUBSCRIBED", func(l string) bool { return l == "SUBSCRIBED" })
				args := []string{"-q", "1", "-t", topic, "-m", payload}
				if v.mosq == "5" {
					args = append(args, "-D", "publish", "user-property", "origin", "mosquitto")
				}
				m.publish(t, args...)
				p.waitLine(t, 15*time.Second, "RECEIVED", func(l string) bool { return l == "RECEIVED" })
				if err := p.wait(t, 15*time.Second); err != nil {
					t.Fatalf("node mqttjs_client.js subscribe exit: %v; output:\n%s", err, strings.TrimSpace(p.trace.String()))
				}
			})
		}
	})
}

// TestMQTTJSEndOverWebSocket has MQTT.js publish at QoS 1 and call end()
// at once, twenty times per protocol version. end() writes DISCONNECT and
// then the WebSocket close frame: without the close handshake on the
// broker's side that write fails with ECONNRESET or EPIPE.
func TestMQTTJSEndOverWebSocket(t *testing.T) {
	b := startBroker(t)
	node := requireMQTTJS(t)
	for _, version := range []string{"4", "5"} {
		t.Run("v"+version, func(t *testing.T) {
			topic := "interop/mqttjs/end/v" + version
			out, err := runToolErr(t, node, "mqttjs_end.js", b.WSURL(), version, topic, "20")
			if err != nil {
				t.Fatalf("node mqttjs_end.js %s %s: %v\n%s", b.WSURL(), version, err, out)
			}
		})
	}
}
