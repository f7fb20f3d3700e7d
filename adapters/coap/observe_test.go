package coap

import (
	"context"
	"fmt"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"

	"github.com/mqgate/mqgate/core"
)

type note struct {
	code    codes.Code
	seq     uint32
	hasSeq  bool
	payload string
	typ     message.Type
}

// observe registers with go-coap's client and returns the notifications,
// the registration's response first.
func observe(t testing.TB, c *udpclient.Conn, path string, opts ...message.Option) (<-chan note, func() error) {
	t.Helper()
	ch := make(chan note, 1000)
	obs, err := c.Observe(ctx(t), path, func(m *pool.Message) {
		seq, err := m.Observe()
		ch <- note{m.Code(), seq, err == nil, body(m), m.Type()}
	}, opts...)
	if err != nil {
		t.Fatalf("observe %s: %v", path, err)
	}
	return ch, func() error { return obs.Cancel(ctx(t)) }
}

func TestObserveWildcardGetsMQTTPublishesInOrder(t *testing.T) {
	e := startEnv(t)
	c := e.coapClient()
	ch, cancel := observe(t, c, "/ps/sensors/+/temp")
	reg := recv(t, ch, "registration response")
	if reg.code != codes.Content || !reg.hasSeq {
		t.Fatalf("registration: %+v", reg)
	}
	m := e.mqttClient("pub")
	for i := range 20 {
		e.mqttPublish(m, fmt.Sprintf("sensors/%d/temp", i), 1, false, fmt.Sprint(i))
	}
	last := reg.seq
	for i := range 20 {
		n := recv(t, ch, "notification")
		if n.payload != fmt.Sprint(i) {
			// QueueLatest may skip values under load, never reorder them.
			var got int
			fmt.Sscan(n.payload, &got)
			if got < i {
				t.Fatalf("notification %q out of order at %d", n.payload, i)
			}
			i = got
		}
		if !n.hasSeq || n.seq <= last {
			t.Fatalf("Observe %d after %d: not increasing", n.seq, last)
		}
		if n.typ != message.Confirmable {
			t.Fatalf("QoS 1 notification sent as %v, want CON", n.typ)
		}
		last = n.seq
		if n.payload == "19" {
			break
		}
	}
	if err := cancel(); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	waitFor(t, "unsubscribe", func() bool { return e.broker.SubscriptionCount() == 0 })
}

func TestTwoObservationsOfOneFilterEachNotified(t *testing.T) {
	e := startEnv(t)
	c := e.coapClient()
	a, _ := observe(t, c, "/ps/x/y")
	b, cancelB := observe(t, c, "/ps/x/y")
	recv(t, a, "registration a")
	recv(t, b, "registration b")
	waitFor(t, "two subscriptions", func() bool { return e.broker.SubscriptionCount() == 2 })
	m := e.mqttClient("pub")
	e.mqttPublish(m, "x/y", 0, false, "one")
	if n := recv(t, a, "a"); n.payload != "one" || n.typ != message.NonConfirmable {
		t.Fatalf("a got %+v, want NON one", n)
	}
	if n := recv(t, b, "b"); n.payload != "one" {
		t.Fatalf("b got %+v", n)
	}
	if err := cancelB(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one subscription", func() bool { return e.broker.SubscriptionCount() == 1 })
	e.mqttPublish(m, "x/y", 0, false, "two")
	if n := recv(t, a, "a"); n.payload != "two" {
		t.Fatalf("a got %+v", n)
	}
	none(t, b, "notification after cancel")
}

func TestObserveSendsRetainedAfterRegistration(t *testing.T) {
	e := startEnv(t)
	m := e.mqttClient("pub")
	e.mqttPublish(m, "r/1", 1, true, "kept")
	c := e.coapClient()
	ch, _ := observe(t, c, "/ps/r/#")
	reg := recv(t, ch, "registration")
	n := recv(t, ch, "retained notification")
	if n.payload != "kept" || n.seq <= reg.seq {
		t.Fatalf("retained notification %+v after %+v", n, reg)
	}
}

// denyTopic is an authorizer that refuses one topic for every action.
type denyTopic string

func (d denyTopic) Authorize(_ context.Context, _ *core.ClientInfo, _ core.Action, t string) (core.Verdict, error) {
	if t == string(d) {
		return core.Deny, nil
	}
	return core.Ignore, nil
}

func TestAuthorizationDenials(t *testing.T) {
	e := startEnv(t, func(bc *core.Config, _ *Config) { bc.Authorizer = denyTopic("secret") })
	c := e.coapClient()
	if code, d := post(t, c, "/ps/secret", "x", false); code != codes.Forbidden.String() || d == "" {
		t.Fatalf("publish: %s %q, want 4.03 with a diagnostic", code, d)
	}
	resp, err := c.Get(ctx(t), "/ps/secret")
	if err != nil || resp.Code() != codes.Forbidden {
		t.Fatalf("read: %v %v", resp.Code(), err)
	}
	resp, err = c.Delete(ctx(t), "/ps/secret")
	if err != nil || resp.Code() != codes.Forbidden {
		t.Fatalf("delete: %v %v", resp.Code(), err)
	}
	req, _ := c.NewObserveRequest(ctx(t), "/ps/secret")
	resp, err = c.Do(req)
	if err != nil || resp.Code() != codes.Forbidden {
		t.Fatalf("observe: %v %v", resp.Code(), err)
	}
	if e.broker.SubscriptionCount() != 0 {
		t.Fatal("a denied observation subscribed")
	}
}

func TestUnackedCONNotificationDropsObservation(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.MaxRetransmit = 2 })
	r := e.raw()
	r.send(rawGET(0x1234, []byte{1, 2}, true, "ps", "t"))
	if m := r.read(); m.code != codeContent {
		t.Fatalf("registration answered %s", codeString(m.code))
	}
	pub := e.mqttClient("pub")
	e.mqttPublish(pub, "t", 1, false, "v")
	first := r.read()
	if first.typ != typeCON {
		t.Fatalf("notification type %d, want CON", first.typ)
	}
	// Never acknowledged: sent again with the same MID, then given up.
	for range 2 {
		again := r.read()
		if again.mid != first.mid {
			t.Fatalf("retransmission MID %d, want %d", again.mid, first.mid)
		}
	}
	waitFor(t, "observation dropped", func() bool { return e.broker.SubscriptionCount() == 0 })
	if e.gw.Stats().ObserveLost.Load() != 1 {
		t.Fatalf("ObserveLost = %d", e.gw.Stats().ObserveLost.Load())
	}
}
