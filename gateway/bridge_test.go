package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/gateway"
)

// TestBridgeToSilentUpstreamDoesNotDelayStartOrStop bridges to an address
// that accepts TCP and never answers, and to one that drops everything:
// starting with no uplink is normal, and neither start nor stop waits for it.
func TestBridgeToSilentUpstreamDoesNotDelayStartOrStop(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	cfg, err := conf.Parse([]byte(fmt.Sprintf(`
storage: {type: memory}
http: {address: ""}
mqtt: {listeners: [{name: tcp, type: tcp, address: '127.0.0.1:0'}]}
bridges:
  - name: cloud
    addresses: ['%s', '192.0.2.1:1883']
    rules: [{direction: both, local: 'a/#', qos: 1}]
`, silent.Addr())))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > time.Second {
		t.Fatalf("start took %v", d)
	}
	// The bridge is attempting the silent address now.
	conn, err := silent.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	began = time.Now()
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > time.Second {
		t.Fatalf("stop took %v", d)
	}
}

// TestBridgeBetweenTwoGateways runs an edge gateway bridged to a cloud
// gateway from configuration: out with remapping, in, and the bridge's
// status under $SYS.
func TestBridgeBetweenTwoGateways(t *testing.T) {
	cloud := start(t, "storage: {type: memory}\nnode: cloud\nmqtt: {listeners: [{name: tcp, type: tcp, address: '127.0.0.1:0'}]}\n")
	edge := start(t, fmt.Sprintf(`
storage: {type: memory}
node: edge1
mqtt: {listeners: [{name: tcp, type: tcp, address: '127.0.0.1:0'}]}
bridges:
  - name: cloud
    address: tcp://%s
    reconnect_min: 20ms
    rules:
      - {direction: out, local: 'site/+/temp', remote: 'cloud/${node}/$1/temp', qos: 1}
      - {direction: in, local: 'cmd/#', remote: 'cloud/${node}/cmd/#', qos: 1}
`, cloud.MQTTAddr("tcp")))
	status := waitRetained(t, edge, "$SYS/brokers/edge1/bridges/cloud/status", `"connected":true`)
	var st struct {
		Connected bool   `json:"connected"`
		Address   string `json:"address"`
	}
	if err := json.Unmarshal([]byte(status), &st); err != nil || !strings.HasSuffix(st.Address, cloud.MQTTAddr("tcp").String()) {
		t.Fatalf("status %s: %v", status, err)
	}

	app, atCloud, err := connect(t, cloud, "app", "", "")
	if err != nil {
		t.Fatal(err)
	}
	app.Subscribe("cloud/#", 1, nil).Wait()
	dev, atEdge, err := connect(t, edge, "dev", "", "")
	if err != nil {
		t.Fatal(err)
	}
	dev.Subscribe("cmd/#", 1, nil).Wait()

	if tok := dev.Publish("site/k1/temp", 1, false, "21.5"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	expect(t, atCloud, "cloud/edge1/k1/temp=21.5")
	if tok := app.Publish("cloud/edge1/cmd/valve", 1, false, "open"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	expect(t, atEdge, "cmd/valve=open")
}

func expect(t *testing.T, ch chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %q within 5s", want)
	}
}

// waitRetained subscribes to a retained topic until its payload contains
// want, and returns the payload.
func waitRetained(t *testing.T, g *gateway.Gateway, topic, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, _, err := connect(t, g, "status-reader", "", "")
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		c.Subscribe(topic, 0, func(_ paho3.Client, m paho3.Message) {
			select {
			case got <- string(m.Payload()):
			default:
			}
		}).Wait()
		select {
		case p := <-got:
			if strings.Contains(p, want) {
				c.Disconnect(0)
				return p
			}
		case <-time.After(500 * time.Millisecond):
		}
		c.Disconnect(0)
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %s", topic, want)
		}
	}
}
