package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/topic"
)

func TestClientQueueLimit(t *testing.T) {
	tests := []struct {
		name        string
		policy      DropPolicy
		limit       int
		want        string
		wantDropped int64
	}{
		{"DropNewest keeps the first", DropNewest, 3, "0,1,2", 2},
		{"DropOldest keeps the last", DropOldest, 3, "2,3,4", 2},
		{"zero is the broker's limit", DropNewest, 0, "0,1,2,3", 1},
		{"above MaxQueued MaxQueued applies", DropNewest, 100, "0,1,2,3", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{MaxQueued: 4, DropPolicy: tt.policy})
			c := connectID(t, b, "s")
			c.sub(t, "q", topic.Options{QoS: 1})
			c.SetQueueLimit(tt.limit)
			publishN(b, "q", 1, 5)
			if n := b.Stats().MessagesDropped.Load(); n != tt.wantDropped {
				t.Fatalf("MessagesDropped = %d, want %d", n, tt.wantDropped)
			}
			if got := payloads(c.pull()); got != tt.want {
				t.Fatalf("pulled %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClientQueueLimitEndsWithTheConnection(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "s")
	c.sub(t, "q", topic.Options{QoS: 1})
	c.SetQueueLimit(1)
	c.Disconnect(DisconnectNormal, "")
	publishN(b, "q", 1, 3)
	if got := payloads(resume(t, b, "s", 0).pull()); got != "0,1,2" {
		t.Fatalf("pulled %q after a reconnect, want 0,1,2", got)
	}
}

func TestSessionLookup(t *testing.T) {
	b := newBroker(t, Config{})
	if has(b, "", "s") {
		t.Fatal("session before connect")
	}
	c, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "s"}, SessionExpiry: 50 * time.Millisecond})
	if !has(b, "", "s") || has(b, "other", "s") {
		t.Fatal("HasSession wrong while connected")
	}
	c.Disconnect(DisconnectNormal, "")
	if !has(b, "", "s") {
		t.Fatal("offline session not found")
	}
	waitFor(t, "session expiry", func() bool { return !has(b, "", "s") })
}

func has(b *Broker, ns, id string) bool {
	_, ok := b.Session(ns, id)
	return ok
}

// TestSessionQueueLimitsAboveTheBrokers: a session opened with its own
// queue limits keeps more than the broker's would let it (a bridge's local
// session holds what its outbox may).
func TestSessionQueueLimitsAboveTheBrokers(t *testing.T) {
	b := newBroker(t, Config{MaxQueued: 2})
	big, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "bridge"}, SessionExpiry: time.Hour, MaxQueued: 10})
	small := connectID(t, b, "plain")
	for _, c := range []*tclient{big, small} {
		c.sub(t, "q", topic.Options{QoS: 1})
		c.Disconnect(DisconnectWithWill, "")
	}
	for i := range 5 {
		b.inject(&Message{Topic: "q", QoS: 1, Payload: []byte{byte('0' + i)}})
	}
	if d, _ := b.Session("", "bridge"); d.Queued != 5 {
		t.Fatalf("bridge session queued %d, want 5", d.Queued)
	}
	if d, _ := b.Session("", "plain"); d.Queued != 2 {
		t.Fatalf("plain session queued %d, want the broker's 2", d.Queued)
	}
}

// TestRefuseWhenFull: a QoS 1/2 publish that a RefuseWhenFull session has
// no room for is refused with QuotaExceeded and reaches nobody, retained
// included; QoS 0 is dropped for that session as usual; once the session
// takes from its queue, publishes go through again.
func TestRefuseWhenFull(t *testing.T) {
	b := newBroker(t, Config{MaxQueued: 100})
	bridge, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "bridge"}, SessionExpiry: time.Hour, MaxQueued: 3, RefuseWhenFull: true})
	other := connectID(t, b, "other")
	bridge.sub(t, "q", topic.Options{QoS: 1})
	other.sub(t, "q", topic.Options{QoS: 1})
	info := ClientInfo{Protocol: "test", ClientID: "p"}
	pub := func(qos byte, payload string, retain bool) error {
		m := NewMessage("q", []byte(payload))
		m.QoS, m.Retain = qos, retain
		_, err := b.Publish(context.Background(), &info, m)
		return err
	}
	for i := range 3 {
		if err := pub(1, strconv.Itoa(i), false); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if err := pub(1, "3", true); !errors.Is(err, QuotaExceeded) {
		t.Fatalf("publish to a full refusing session: %v, want QuotaExceeded", err)
	}
	if err := pub(2, "4", false); !errors.Is(err, QuotaExceeded) {
		t.Fatalf("QoS 2 publish to a full refusing session: %v, want QuotaExceeded", err)
	}
	if err := pub(0, "q0", false); err != nil {
		t.Fatalf("QoS 0 publish: %v", err)
	}
	if _, ok := b.RetainedMessage("q"); ok {
		t.Fatal("a refused publish set the retained message")
	}
	if got := payloads(other.pull()); got != "0,1,2,q0" {
		t.Fatalf("the other subscriber got %q, want 0,1,2,q0", got)
	}
	if n := b.Stats().PublishRefused.Load(); n != 2 {
		t.Fatalf("PublishRefused = %d, want 2", n)
	}
	if got := payloads(bridge.pull()); got != "0,1,2" {
		t.Fatalf("the refusing session holds %q, want 0,1,2", got)
	}
	if err := pub(1, "5", false); err != nil {
		t.Fatalf("publish once the session took its queue: %v", err)
	}
	// A session that ends stops refusing.
	b.DeleteSession("", "bridge")
	if n := b.refusers.Load(); n != 0 {
		t.Fatalf("%d refusing sessions counted after the only one was deleted", n)
	}
}

// TestMessageCountsByProtocolAndQoS: messages are counted by the
// publisher's protocol and the QoS published, and by the subscriber's
// protocol and the QoS delivered; the totals are their sums.
func TestMessageCountsByProtocolAndQoS(t *testing.T) {
	b := newBroker(t, Config{})
	sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{Protocol: "stomp", ClientID: "s"}})
	sub.sub(t, "q", topic.Options{QoS: 1})
	for _, p := range []struct {
		proto string
		qos   byte
	}{{"coap", 0}, {"coap", 2}, {"mqtt-sn", 1}, {"gopher", 1}} {
		m := NewMessage("q", []byte("x"))
		m.QoS = p.qos
		if _, err := b.Publish(context.Background(), &ClientInfo{Protocol: p.proto, ClientID: "p"}, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range sub.pull() {
		sub.Settle(d.Tag, Accepted)
	}
	want := map[string][2]int64{"coap/0": {1, 0}, "coap/2": {1, 0}, "mqtt-sn/1": {1, 0}, "other/1": {1, 0}, "stomp/0": {0, 1}, "stomp/1": {0, 3}}
	got := map[string][2]int64{}
	for _, c := range b.MessageCounts() {
		got[c.Protocol+"/"+strconv.Itoa(int(c.QoS))] = [2]int64{c.Received, c.Sent}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("MessageCounts = %v, want %v", got, want)
	}
	if in, out := b.Stats().MessagesReceived.Load(), b.Stats().MessagesSent.Load(); in != 4 || out != 4 {
		t.Fatalf("totals %d received, %d sent; want 4 and 4", in, out)
	}
}
