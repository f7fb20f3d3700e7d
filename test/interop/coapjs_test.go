package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// requireCoAPJS returns node's path once npm's coap is installed in this
// directory, skipping (or failing in CI) otherwise.
func requireCoAPJS(t *testing.T) string {
	t.Helper()
	node := requireTool(t, "node")
	if _, err := os.Stat(filepath.Join("node_modules", "coap", "package.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("npm coap not installed (run scripts/test-deps.sh): %v", err)
		}
		t.Skipf("npm coap not installed; run scripts/test-deps.sh: %v", err)
	}
	return node
}

func TestCoAPJSPublishObserveAndRead(t *testing.T) {
	node := requireCoAPJS(t)
	b := startCoAPBroker(t)
	port := strings.TrimPrefix(b.coapURL, "coap://127.0.0.1:")
	got := make(chan paho.Message, 10)
	sub := pahoClient(t, b, "sub")
	if tok := sub.Subscribe("js/#", 1, func(_ paho.Client, m paho.Message) { got <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	for _, tc := range []struct {
		typ string
		qos byte
	}{{"con", 1}, {"non", 0}} {
		runTool(t, node, "coapjs_client.js", "publish", port, "/ps/js/"+tc.typ, "from node-coap "+tc.typ, tc.typ)
		select {
		case m := <-got:
			if m.Topic() != "js/"+tc.typ || string(m.Payload()) != "from node-coap "+tc.typ || m.Qos() != tc.qos {
				t.Fatalf("got %s %q QoS %d", m.Topic(), m.Payload(), m.Qos())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no MQTT message from a %s publish", tc.typ)
		}
	}

	p := startProc(t, node, "coapjs_client.js", "observe", port, "/ps/js/%2B/temp", strconv.Itoa(3))
	p.waitLine(t, 10*time.Second, "REGISTERED", func(l string) bool { return l == "REGISTERED" })
	pub := pahoClient(t, b, "pub")
	for i := range 3 {
		want := fmt.Sprintf("reading-%d", i)
		if tok := pub.Publish(fmt.Sprintf("js/%d/temp", i), 1, false, want); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		p.waitLine(t, 10*time.Second, want, func(l string) bool { return l == want })
	}
	if err := p.wait(t, 10*time.Second); err != nil {
		t.Fatalf("observer exited with %v", err)
	}

	if tok := pub.Publish("js/kept", 1, true, "kept value"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if out := runTool(t, node, "coapjs_client.js", "get", port, "/ps/js/kept"); strings.TrimSpace(out) != "2.05 kept value" {
		t.Fatalf("retained read printed %q", out)
	}
}
