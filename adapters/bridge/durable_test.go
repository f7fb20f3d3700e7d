package bridge

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/core"

	"github.com/mqgate/mqgate/core/store/pebble"
)

// TestOutboxSurvivesRestart queues a backlog while the upstream is down,
// stops the edge (bridge, broker, store) and starts it again from its data
// directory: the backlog drains in order when the upstream comes up.
func TestOutboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	up := newNode(t, "cloud", nil)
	got := newSink(t, up.Broker, "cloud-app", "up/#")
	cfg := testConfig("c", up.addr, "3.1.1", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1})
	const n = 1000

	st, err := pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	local := newNode(t, "edge", st)
	set := New([]Config{cfg}, "edge", st, local.Broker, nil)
	if err := set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	publish(t, local.Broker, "sensor", "seq", 0, n, 1)
	// Half in the outbox, the rest perhaps still in the bridge's session:
	// both are durable once publish returned.
	waitFor(t, 5*time.Second, "a backlog", func() bool { return set.bridge("c").Status().Queued >= n/2 })
	set.Stop(context.Background())
	local.Broker.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	local = newNode(t, "edge", st)
	set = startBridges(t, local.Broker, st, cfg)
	up.up()
	waitFor(t, 10*time.Second, "the backlog upstream", func() bool { return len(got.messages()) >= n && set.bridge("c").Status().Queued == 0 })
	dups := checkSequence(t, got.messages(), n)
	t.Logf("%d messages after a restart, in order, %d duplicates", n, dups)
}

func TestOutboxFullPolicies(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dropNewest bool
		first      int // the first message that should arrive
	}{
		{"drop_oldest keeps the newest", false, 10},
		{"drop_newest keeps the oldest", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			got := newSink(t, up.Broker, "cloud-app", "up/#")
			cfg := testConfig("c", up.addr, "3.1.1", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1})
			cfg.OutboxMax, cfg.DropNewest = 20, tc.dropNewest
			set := startBridges(t, local.Broker, nil, cfg)
			br := set.bridge("c")
			publish(t, local.Broker, "sensor", "seq", 0, 30, 1)
			waitFor(t, 5*time.Second, "10 drops", func() bool { return br.Status().Dropped == 10 })
			if st := br.Status(); st.Queued != 20 || st.QueuedBytes == 0 || st.OldestSeconds <= 0 {
				t.Fatalf("status %+v", st)
			}
			up.up()
			waitFor(t, 5*time.Second, "the outbox upstream", func() bool { return len(got.messages()) >= 20 })
			ms := got.messages()
			for i, m := range ms[:20] {
				if want := tc.first + i; string(m.Payload) != strconv.Itoa(want) {
					t.Fatalf("message %d is %s, want %d", i, m.Payload, want)
				}
			}
		})
	}
}

// TestOutboxFullRefusesPublishers fills the outbox and the bridge's local
// session under the refuse policy while the upstream is down: then local
// QoS 1 publishes are refused (the core's QuotaExceeded, MQTT 5 PUBACK
// 0x97, an MQTT 3.1.1 publisher closed without its PUBACK), nothing
// accepted is dropped, and everything accepted arrives in order once the
// upstream is back.
func TestOutboxFullRefusesPublishers(t *testing.T) {
	local := newNode(t, "edge", nil, func(c *core.Config) { c.MaxQueued = 10 })
	local.up()
	up := newNode(t, "cloud", nil)
	got := newSink(t, up.Broker, "cloud-app", "up/#")
	cfg := testConfig("c", up.addr, "5", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1})
	cfg.OutboxMax, cfg.Refuse = 20, true
	set := startBridges(t, local.Broker, nil, cfg)
	br := set.bridge("c")

	info := core.ClientInfo{Protocol: "test", ClientID: "sensor"}
	accepted, refused := 0, 0
	for i := 0; i < 100; i++ {
		m := core.NewMessage("seq", []byte(strconv.Itoa(accepted)))
		m.QoS = 1
		_, err := local.Broker.Publish(context.Background(), &info, m)
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, core.QuotaExceeded):
			refused++
			time.Sleep(time.Millisecond) // let the bridge settle what it pulled
		default:
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if refused == 0 || accepted < 40 {
		t.Fatalf("%d accepted, %d refused: the outbox (20) and the session (20) should take 40, then refuse", accepted, refused)
	}
	waitFor(t, 5*time.Second, "a full outbox", func() bool { return br.Status().Queued == 20 })

	// MQTT 5: PUBACK with reason 0x97, quota exceeded.
	conn, err := net.Dial("tcp", local.addr)
	if err != nil {
		t.Fatal(err)
	}
	c5 := paho5.NewClient(paho5.ClientConfig{Conn: conn})
	if _, err := c5.Connect(context.Background(), &paho5.Connect{ClientID: "v5", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	pr, err := c5.Publish(context.Background(), &paho5.Publish{Topic: "seq", QoS: 1, Payload: []byte("refused")})
	if pr == nil || pr.ReasonCode != 0x97 {
		t.Fatalf("MQTT 5 publish to a full bridge: %+v, %v; want PUBACK 0x97", pr, err)
	}
	c5.Disconnect(&paho5.Disconnect{})

	// MQTT 3.1.1: no PUBACK; the connection is closed.
	lost := make(chan struct{})
	c3 := paho3.NewClient(paho3.NewClientOptions().AddBroker("tcp://" + local.addr).SetClientID("v3").
		SetAutoReconnect(false).SetConnectionLostHandler(func(paho3.Client, error) { close(lost) }))
	if tok := c3.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	tok := c3.Publish("seq", 1, false, "refused")
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("an MQTT 3.1.1 publisher to a full bridge was not disconnected")
	}
	if tok.WaitTimeout(100*time.Millisecond) && tok.Error() == nil {
		t.Fatal("an MQTT 3.1.1 publish to a full bridge was acknowledged")
	}

	if st := br.Status(); st.Dropped != 0 {
		t.Fatalf("%d dropped under the refuse policy", st.Dropped)
	}
	up.up()
	waitFor(t, 10*time.Second, "everything accepted upstream", func() bool { return len(got.messages()) >= accepted && br.Status().Queued == 0 })
	checkSequence(t, got.messages(), accepted)
	t.Logf("%d accepted, %d refused, all accepted delivered in order", accepted, refused)
}
