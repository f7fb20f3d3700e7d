package interop

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/internal/testbroker"
)

// coapBroker is one mqgate process with an MQTT/TCP listener and a CoAP
// UDP listener.
type coapBroker struct {
	*testbroker.Process
	coapURL string // coap://127.0.0.1:port
}

// startCoAPBroker runs mqgate with the CoAP gateway on a free UDP port (the
// test picks it: testbroker waits for MQTT listeners only) and waits until
// it logs that it listens there.
func startCoAPBroker(t *testing.T, extra ...string) *coapBroker {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mqgate.yaml")
	data := brokerConfig + fmt.Sprintf("storage: {dir: %q}\ncoap:\n  enabled: true\n  listeners:\n    - {name: udp, type: udp, address: \"127.0.0.1:%d\"}\n",
		filepath.Join(dir, "data"), port)
	for _, line := range extra {
		data += "  " + line + "\n" // more keys of the coap section
	}
	if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testbroker.Start(t, cfg, "tcp")
	want := fmt.Sprintf("addr=127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Log(), `msg="coap listening"`) || !strings.Contains(p.Log(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("mqgate did not log its CoAP listener\n%s", p.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &coapBroker{Process: p, coapURL: fmt.Sprintf("coap://127.0.0.1:%d", port)}
}

// coapClient is Debian's libcoap client (package libcoap3-bin).
func coapClient(t *testing.T) string { return requireTool(t, "coap-client-notls") }

func pahoClient(t *testing.T, b *coapBroker, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + b.Addr("tcp")).SetClientID(id).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("paho connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func TestCoAPClientPublishReachesMQTT(t *testing.T) {
	cc := coapClient(t)
	b := startCoAPBroker(t)
	got := make(chan paho.Message, 10)
	sub := pahoClient(t, b, "sub")
	if tok := sub.Subscribe("interop/#", 2, func(_ paho.Client, m paho.Message) { got <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	runTool(t, cc, "-m", "post", "-e", "confirmable", b.coapURL+"/ps/interop/con")
	runTool(t, cc, "-m", "post", "-N", "-e", "non-confirmable", b.coapURL+"/ps/interop/non")
	for _, want := range []struct {
		topic, payload string
		qos            byte
	}{{"interop/con", "confirmable", 1}, {"interop/non", "non-confirmable", 0}} {
		select {
		case m := <-got:
			if m.Topic() != want.topic || string(m.Payload()) != want.payload || m.Qos() != want.qos {
				t.Fatalf("got %s %q QoS %d, want %s %q QoS %d", m.Topic(), m.Payload(), m.Qos(), want.topic, want.payload, want.qos)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no MQTT message for %s", want.topic)
		}
	}
}

func TestCoAPClientRetainedReadAndDelete(t *testing.T) {
	cc := coapClient(t)
	b := startCoAPBroker(t)
	runTool(t, cc, "-m", "post", "-e", "21.5", b.coapURL+"/ps/room/temp?retain=true")
	if out := runTool(t, cc, "-m", "get", b.coapURL+"/ps/room/temp"); strings.TrimSpace(out) != "21.5" {
		t.Fatalf("retained read printed %q", out)
	}
	runTool(t, cc, "-m", "delete", b.coapURL+"/ps/room/temp")
	if out, _ := runToolErr(t, cc, "-m", "get", b.coapURL+"/ps/room/temp"); !strings.Contains(out, "4.04") {
		t.Fatalf("read after delete printed %q, want 4.04", out)
	}
}

func TestCoAPClientObservesMQTTPublishes(t *testing.T) {
	cc := coapClient(t)
	stdbuf := requireTool(t, "stdbuf")
	b := startCoAPBroker(t)
	// -v 7 logs each response it processes; unbuffered output shows each
	// notification's payload (ending in a newline) as its own line.
	p := startProc(t, stdbuf, "-o0", "-e0", cc, "-v", "7", "-m", "get", "-s", "20", b.coapURL+"/ps/interop/%2B/temp")
	p.waitLine(t, 10*time.Second, "the registration's 2.05", func(l string) bool { return strings.Contains(l, "2.05") })
	pub := pahoClient(t, b, "pub")
	for i := range 3 {
		want := fmt.Sprintf("reading-%d", i)
		if tok := pub.Publish(fmt.Sprintf("interop/%d/temp", i), 1, false, want+"\n"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		p.waitLine(t, 10*time.Second, want, func(l string) bool { return l == want })
	}
}

// TestCoAPClientAnswersEcho: with coap.observe_echo, libcoap repeats its
// Observe registration with the Echo option by itself.
func TestCoAPClientAnswersEcho(t *testing.T) {
	cc := coapClient(t)
	b := startCoAPBroker(t, "observe_echo: true")
	runTool(t, cc, "-m", "post", "-e", "kept", b.coapURL+"/ps/echo?retain=1")
	out, _ := runToolErr(t, cc, "-v", "7", "-m", "get", "-s", "2", b.coapURL+"/ps/echo")
	if !strings.Contains(out, "4.01") || !strings.Contains(out, "kept") {
		t.Fatalf("coap-client did not get through the Echo exchange:\n%s", out)
	}
}
