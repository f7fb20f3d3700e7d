package bridge

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/topic"
)

// node is an in-process mqgate: a core broker and, while up, an MQTT
// listener on a fixed loopback port, so that it can go down and come
// back on the same address.
type node struct {
	t      testing.TB
	Broker *core.Broker
	addr   string
	srv    *mqtt.Server
}

func newNode(t testing.TB, name string, st store.Store, opts ...func(*core.Config)) *node {
	t.Helper()
	cfg := core.Config{NodeName: name, AllowAnonymous: true, Store: st, MaxQueued: 100000}
	for _, o := range opts {
		o(&cfg)
	}
	b := core.NewBroker(cfg)
	if st != nil {
		if err := b.Restore(); err != nil {
			t.Fatal(err)
		}
	}
	b.Start()
	n := &node{t: t, Broker: b, addr: freeAddr(t)}
	t.Cleanup(func() {
		n.down()
		b.Close()
	})
	return n
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// up starts the MQTT listener.
func (n *node) up() {
	n.t.Helper()
	n.upWith(mqtt.Config{})
}

// upWith starts the MQTT listener with cfg's limits.
func (n *node) upWith(cfg mqtt.Config) {
	n.t.Helper()
	cfg.Listeners = []mqtt.Listener{{Name: "tcp", Type: "tcp", Address: n.addr}}
	srv := mqtt.New(cfg, n.Broker)
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := srv.Start(context.Background())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("upstream listener on %s: %v", n.addr, err)
		}
		time.Sleep(20 * time.Millisecond) // the port is still held by the last run
	}
	n.srv = srv
}

// down stops the MQTT listener and closes its connections.
func (n *node) down() {
	if n.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.srv.Stop(ctx)
	n.srv = nil
}

// sink is a core session on a broker that records what it receives.
type sink struct {
	c      *core.Client
	notify chan struct{}
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	got    []*core.Message
	retain []bool
}

func (s *sink) Notify() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}
func (s *sink) Kick(core.Code) {}

// newSink subscribes a session named id to filter at QoS 2.
func newSink(t testing.TB, b *core.Broker, id, filter string) *sink {
	t.Helper()
	s := &sink{notify: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	c, _, err := b.Open(context.Background(), &core.OpenRequest{Info: core.ClientInfo{Protocol: "test", ClientID: id}, Conn: s, ReceiveMaximum: 1000})
	if err != nil {
		t.Fatal(err)
	}
	s.c = c
	req := []core.SubscribeRequest{{Filter: filter, Options: topic.Options{QoS: 2, RetainAsPublished: true}}}
	if res := c.Subscribe(context.Background(), req, nil); res[0].Code.Failed() {
		t.Fatalf("subscribe %s: %v", filter, res[0].Code)
	}
	go s.run()
	t.Cleanup(func() { close(s.stop); <-s.done })
	return s
}

func (s *sink) run() {
	defer close(s.done)
	var ds []core.Delivery
	for {
		select {
		case <-s.stop:
			return
		case <-s.notify:
		}
		for {
			ds = s.c.Pull(ds[:0], 1000)
			if len(ds) == 0 {
				break
			}
			s.mu.Lock()
			for _, d := range ds {
				if d.Held {
					s.c.Complete(d.Tag)
					continue
				}
				s.got = append(s.got, d.Msg)
				s.retain = append(s.retain, d.Retain)
				switch d.QoS {
				case 1:
					s.c.Settle(d.Tag, core.Accepted)
				case 2:
					s.c.Hold(d.Tag)
					s.c.Complete(d.Tag)
				}
			}
			s.mu.Unlock()
		}
	}
}

func (s *sink) messages() []*core.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*core.Message(nil), s.got...)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publish publishes a numbered sequence on a broker as a producer named
// id, at qos.
func publish(t testing.TB, b *core.Broker, id, prefix string, from, to int, qos byte) {
	t.Helper()
	info := core.ClientInfo{Protocol: "test", ClientID: id}
	for i := from; i < to; i++ {
		m := core.NewMessage(prefix, []byte(strconv.Itoa(i)))
		m.QoS = qos
		if _, err := b.Publish(context.Background(), &info, m); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
}

// checkSequence asserts that msgs hold 0..n-1 in order, allowing
// redelivered runs (QoS 1: at least once), and returns the duplicates.
func checkSequence(t testing.TB, msgs []*core.Message, n int) (dups int) {
	t.Helper()
	vs := make([]int, len(msgs))
	for i, m := range msgs {
		v, err := strconv.Atoi(string(m.Payload))
		if err != nil {
			t.Fatalf("payload %q", m.Payload)
		}
		vs[i] = v
	}
	return checkOrder(t, vs, n)
}

// checkOrder asserts that vs hold 0..n-1 in order, allowing redelivered
// runs, and returns the duplicates.
func checkOrder(t testing.TB, vs []int, n int) (dups int) {
	t.Helper()
	next := 0
	for _, v := range vs {
		switch {
		case v == next:
			next++
		case v < next:
			dups++
		default:
			t.Fatalf("got %d while waiting for %d: a gap or a reordering", v, next)
		}
	}
	if next != n {
		t.Fatalf("got %d of %d messages", next, n)
	}
	return dups
}

// seqOf reads the numbers of topic=payload strings recorded by an
// mqttClient.
func seqOf(ss []string, prefix string) []int {
	vs := make([]int, len(ss))
	for i, s := range ss {
		vs[i], _ = strconv.Atoi(strings.TrimPrefix(s, prefix))
	}
	return vs
}

// testConfig is a bridge to addr with fast reconnects.
func testConfig(name, addr, protocol string, rules ...Rule) Config {
	return Config{
		Name: name, Addresses: []string{addr}, Protocol: protocol, ClientID: "bridge-" + name,
		KeepAlive: 30 * time.Second, SessionExpiry: time.Hour, MaxInflight: 64, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		OutboxMax: 1 << 20, OutboxBytes: 1 << 30, Rules: rules,
	}
}

// startBridges runs the bridges on a broker until the test ends.
func startBridges(t testing.TB, b *core.Broker, st store.Store, cfgs ...Config) *Set {
	t.Helper()
	s := New(cfgs, "edge", st, b, nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s
}

func (s *Set) bridge(name string) *Bridge {
	for _, b := range s.bridges {
		if b.cfg.Name == name {
			return b
		}
	}
	panic(fmt.Sprintf("no bridge %s", name))
}
