package durability

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/internal/testbroker"
)

// link is a TCP proxy between a bridge and its upstream that the test cuts
// and restores: while cut, it accepts and closes at once, as an upstream
// that is down.
type link struct {
	ln     net.Listener
	target string
	up     atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newLink(t *testing.T, target string) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{ln: ln, target: target}
	go l.serve()
	t.Cleanup(func() { ln.Close(); l.cut() })
	return l
}

func (l *link) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		if !l.up.Load() {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", l.target)
		if err != nil {
			c.Close()
			continue
		}
		l.mu.Lock()
		l.conns = append(l.conns, c, u)
		l.mu.Unlock()
		go func() { io.Copy(u, c); u.Close() }()
		go func() { io.Copy(c, u); c.Close() }()
	}
}

// cut closes every proxied connection and refuses new ones.
func (l *link) cut() {
	l.up.Store(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

// cloudApp is an upstream mqgate (memory store) with an application
// subscribed to cloud/# that records the numbers it receives.
type cloudApp struct {
	broker *testbroker.Process
	mu     sync.Mutex
	got    []int
}

func startCloud(t *testing.T, dir string, qos byte) *cloudApp {
	t.Helper()
	cfg := filepath.Join(dir, "cloud.yaml")
	os.WriteFile(cfg, []byte(`node: cloud
sys: {interval: 0s}
http: {address: "127.0.0.1:0"}
sessions: {max_queued_messages: 100000}
storage: {type: memory}
mqtt:
  listeners:
    - {name: tcp, type: tcp, address: "127.0.0.1:0"}
`), 0o600)
	c := &cloudApp{broker: testbroker.Start(t, cfg, "tcp")}
	app := paho.NewClient(clientOptions("tcp://"+c.broker.Addr("tcp"), "cloud-app", true).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			n, _ := strconv.Atoi(strings.TrimPrefix(string(m.Payload()), "m-"))
			c.mu.Lock()
			c.got = append(c.got, n)
			c.mu.Unlock()
		}))
	must(t, "app connect", app.Connect())
	t.Cleanup(func() { app.Disconnect(0) })
	must(t, "app subscribe", app.Subscribe("cloud/#", qos, nil))
	return c
}

func (c *cloudApp) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// check waits for n messages and asserts they are 0..n-1 in order,
// allowing redelivered runs; it returns the duplicates.
func (c *cloudApp) check(t *testing.T, n int) (dups int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); c.count() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("upstream got %d of %d acknowledged messages", c.count(), n)
		}
	}
	time.Sleep(300 * time.Millisecond) // a late duplicate would land here
	c.mu.Lock()
	defer c.mu.Unlock()
	next := 0
	for _, v := range c.got {
		switch {
		case v == next:
			next++
		case v < next:
			dups++
		default:
			t.Fatalf("got %d while waiting for %d: lost or reordered", v, next)
		}
	}
	if next < n {
		t.Fatalf("got %d of %d acknowledged messages", next, n)
	}
	return dups
}

// edgeConfig writes an edge gateway's configuration: a durable store
// synced always and one bridge to address.
func edgeConfig(t *testing.T, dir, address, protocol string, qos byte) string {
	t.Helper()
	cfg := filepath.Join(dir, "edge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`node: edge
sys: {interval: 0s}
http: {address: "127.0.0.1:0"}
storage: {type: disk, dir: %q, sync: always}
mqtt:
  listeners:
    - {name: tcp, type: tcp, address: "127.0.0.1:0"}
bridges:
  - name: cloud
    address: %s
    protocol: "%s"
    reconnect_min: 20ms
    reconnect_max: 200ms
    rules: [{direction: out, local: "seq", remote: "cloud/${node}/seq", qos: %d}]
`, filepath.Join(dir, "edge-data"), address, protocol, qos)), 0o600)
	return cfg
}

// publishUntilKilled publishes m-0, m-1... at qos to the edge and kills it
// with SIGKILL once killAfter were acknowledged; it returns how many were.
func publishUntilKilled(t *testing.T, edge *testbroker.Process, qos byte, total, killAfter int) int {
	t.Helper()
	var acked atomic.Int64
	pub := paho.NewClient(clientOptions("tcp://"+edge.Addr("tcp"), "sensor", true))
	must(t, "publisher connect", pub.Connect())
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for acked.Load() < int64(killAfter) {
			time.Sleep(time.Millisecond) // poll the counter
		}
		edge.Kill()
	}()
	for n := 0; n < total; n++ {
		tok := pub.Publish("seq", qos, false, "m-"+strconv.Itoa(n))
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			break // the gateway is gone
		}
		acked.Add(1)
	}
	pub.Disconnect(0)
	<-killed
	edge.Wait()
	return int(acked.Load())
}

// TestKill9WithBridgeBacklogLosesNothing kills an edge gateway with a
// backlog in its bridge outbox while publishers are still being
// acknowledged, restarts it on the same data directory, and restores the
// uplink: the upstream receives every acknowledged message, in order.
func TestKill9WithBridgeBacklogLosesNothing(t *testing.T) {
	dir := t.TempDir()
	cloud := startCloud(t, dir, 1)
	uplink := newLink(t, cloud.broker.Addr("tcp"))
	edgeCfg := edgeConfig(t, dir, uplink.ln.Addr().String(), "3.1.1", 1)
	n := publishUntilKilled(t, testbroker.Start(t, edgeCfg, "tcp"), 1, 2000, 1500)
	t.Logf("%d messages acknowledged to the publisher before SIGKILL", n)

	testbroker.Start(t, edgeCfg, "tcp")
	uplink.up.Store(true)
	dups := cloud.check(t, n)
	t.Logf("all %d acknowledged messages upstream in order, %d duplicates (QoS 1)", n, dups)
}

// TestKill9WithQoS2InFlightDeliversOnce kills an edge gateway while its
// bridge forwards QoS 2 messages over a live uplink, so that some are
// between PUBLISH and PUBREC, some between PUBREL and PUBCOMP, and
// restarts it: the upstream's QoS 2 subscriber gets every message
// acknowledged to the publisher once, in order.
func TestKill9WithQoS2InFlightDeliversOnce(t *testing.T) {
	for _, proto := range []string{"3.1.1", "5"} {
		t.Run("mqtt"+proto, func(t *testing.T) {
			dir := t.TempDir()
			cloud := startCloud(t, dir, 2)
			edgeCfg := edgeConfig(t, dir, cloud.broker.Addr("tcp"), proto, 2)
			n := publishUntilKilled(t, testbroker.Start(t, edgeCfg, "tcp"), 2, 1500, 1000)
			t.Logf("%d messages acknowledged to the publisher before SIGKILL, %d upstream by then", n, cloud.count())

			testbroker.Start(t, edgeCfg, "tcp")
			if dups := cloud.check(t, n); dups != 0 {
				t.Fatalf("%d duplicates at QoS 2 across SIGKILL", dups)
			}
			t.Logf("all %d acknowledged messages upstream once, in order", n)
		})
	}
}
