package core

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/topic"
)

func (c *tclient) subKey(t testing.TB, key, filter string, o topic.Options, q QueuePolicy) {
	t.Helper()
	reqs := []SubscribeRequest{{Key: key, Filter: filter, Options: o, Queue: q}}
	res := c.Subscribe(context.Background(), reqs, nil)
	if res[0].Code.Failed() {
		t.Fatalf("subscribe %q %q: %v", key, filter, res[0].Code)
	}
	c.SendRetained(reqs, res)
}

// keyed renders deliveries as key:payload, sorted.
func keyed(ds []Delivery) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Key+":"+string(d.Msg.Payload))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestTwoSubscriptionsToOneFilter: a session holds two Separate
// subscriptions to the same filter under different keys and gets one
// delivery per subscription, each with its key and its own QoS; a merged
// subscription alongside still gets its one delivery.
func TestTwoSubscriptionsToOneFilter(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "stomp-like")
	c.subKey(t, "sub-0", "a/+", topic.Options{QoS: 0, Separate: true}, QueueAll)
	c.subKey(t, "sub-1", "a/+", topic.Options{QoS: 1, Separate: true}, QueueAll)
	c.sub(t, "a/#", topic.Options{QoS: 1})
	if n := b.SubscriptionCount(); n != 3 {
		t.Fatalf("%d subscriptions, want 3", n)
	}
	pub := connectID(t, b, "pub")
	pub.pub(t, "a/b", 1, "x")
	ds := c.waitPull(t, 3)
	if got := keyed(ds); got != ":x,sub-0:x,sub-1:x" {
		t.Fatalf("deliveries %q", got)
	}
	for _, d := range ds {
		if want := map[string]byte{"sub-0": 0, "sub-1": 1, "": 1}[d.Key]; d.QoS != want {
			t.Errorf("delivery for %q at QoS %d, want %d", d.Key, d.QoS, want)
		}
	}
	// The same key again replaces the subscription, also on another filter.
	c.subKey(t, "sub-0", "z", topic.Options{Separate: true}, QueueAll)
	if code := c.UnsubscribeKey("sub-1"); code != Success {
		t.Fatalf("unsubscribe sub-1: %v", code)
	}
	if code := c.UnsubscribeKey("sub-1"); code != NoSubscriptionExisted {
		t.Fatalf("second unsubscribe sub-1: %v", code)
	}
	pub.pub(t, "a/b", 1, "y")
	pub.pub(t, "z", 1, "z")
	if got := keyed(c.waitPull(t, 2)); got != ":y,sub-0:z" {
		t.Fatalf("after replace and unsubscribe: %q", got)
	}
	if n := b.SubscriptionCount(); n != 2 {
		t.Fatalf("%d subscriptions, want 2", n)
	}
}

// TestLatestValueQueue: a QueueLatest subscription keeps only its newest
// undelivered message, in the place the first one took in the queue,
// while other subscriptions of the session keep everything.
func TestLatestValueQueue(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "observer")
	c.subKey(t, "tok-1", "temp", topic.Options{QoS: 1, Separate: true}, QueueLatest)
	c.subKey(t, "all", "log", topic.Options{QoS: 1, Separate: true}, QueueAll)
	pub := connectID(t, b, "pub")
	for i := range 5 {
		pub.pub(t, "temp", 1, fmt.Sprint("t", i))
		pub.pub(t, "log", 1, fmt.Sprint("l", i))
	}
	ds := c.pull()
	var order []string
	for _, d := range ds {
		order = append(order, string(d.Msg.Payload))
	}
	if got := strings.Join(order, ","); got != "t4,l0,l1,l2,l3,l4" {
		t.Fatalf("delivered %s, want t4 first, then every log line", got)
	}
	dropped := b.Stats().MessagesDropped.Load()
	if dropped != 4 {
		t.Fatalf("%d counted dropped, want the 4 superseded values", dropped)
	}
	// Once delivered, the next value queues again.
	for _, d := range ds {
		c.Settle(d.Tag, Accepted)
	}
	pub.pub(t, "temp", 1, "t5")
	if got := keyed(c.waitPull(t, 1)); got != "tok-1:t5" {
		t.Fatalf("after delivery: %q", got)
	}
	// A waiting value leaves with its subscription.
	pub.pub(t, "temp", 1, "t6")
	c.UnsubscribeKey("tok-1")
	pub.pub(t, "log", 1, "l5")
	if got := keyed(c.pull()); got != "all:l5" {
		t.Fatalf("after unsubscribe: %q", got)
	}
}

func TestLatestValueNeedsSeparate(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "c")
	res := c.Subscribe(context.Background(), []SubscribeRequest{{Filter: "x", Queue: QueueLatest}}, nil)
	if res[0].Code != ImplementationError {
		t.Fatalf("QueueLatest on a merged subscription: %v", res[0].Code)
	}
}

// TestKeyedSubscriptionsSurviveRestart: keyed subscriptions with their
// policies, and the keys of queued deliveries, come back from the store.
func TestKeyedSubscriptionsSurviveRestart(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() store.Store) {
		b := storedBroker(t, open(), Config{})
		c := connectID(t, b, "keeper")
		c.subKey(t, "k1", "a", topic.Options{QoS: 1, Separate: true}, QueueAll)
		c.subKey(t, "k2", "a", topic.Options{QoS: 1, Separate: true}, QueueLatest)
		c.Disconnect(DisconnectWithWill, "")
		pub := connectID(t, b, "pub")
		pub.pub(t, "a", 1, "1")
		pub.pub(t, "a", 1, "2")
		pub.Disconnect(DisconnectWithWill, "")
		b.Close()

		b = storedBroker(t, open(), Config{})
		if n := b.SubscriptionCount(); n != 2 {
			t.Fatalf("%d subscriptions restored, want 2", n)
		}
		c, present := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "keeper"}, SessionExpiry: time.Hour})
		if !present {
			t.Fatal("session not present after restart")
		}
		if got := keyed(c.pull()); got != "k1:1,k1:2,k2:2" {
			t.Fatalf("restored deliveries %q", got)
		}
		pub = connectID(t, b, "pub")
		pub.pub(t, "a", 1, "3")
		pub.pub(t, "a", 1, "4")
		if got := keyed(c.waitPull(t, 3)); got != "k1:3,k1:4,k2:4" {
			t.Fatalf("deliveries after restart %q", got)
		}
	})
}
