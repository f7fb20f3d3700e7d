package core

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/topic"
)

// TestRestoreKeepsEntriesNotWrittenAsLatest: queued messages of a
// QueueAll subscription stay, all of them, after its key is subscribed
// again with QueueLatest and the broker restarts.
func TestRestoreKeepsEntriesNotWrittenAsLatest(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() store.Store) {
		b := storedBroker(t, open(), Config{})
		c := connectID(t, b, "s")
		c.subKey(t, "k", "t", topic.Options{QoS: 1, Separate: true}, QueueAll)
		c.Disconnect(DisconnectWithWill, "")
		for _, p := range []string{"1", "2", "3"} {
			b.inject(&Message{Topic: "t", QoS: 1, Payload: []byte(p)})
		}
		if _, err := b.AddSubscription(context.Background(), "", "s", SubscribeRequest{Key: "k", Filter: "t",
			Options: topic.Options{QoS: 1, Separate: true}, Queue: QueueLatest}); err != nil {
			t.Fatal(err)
		}
		b.Close()
		b = storedBroker(t, open(), Config{})
		c, _ = connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "s"}, SessionExpiry: time.Hour})
		if got := keyed(c.pull()); got != "k:1,k:2,k:3" {
			t.Fatalf("restored %q", got)
		}
	})
}

// TestUnsubscribeTakesItsSeparateDeliveries: a key reused for another
// subscription never names a message of the one it replaced.
func TestUnsubscribeTakesItsSeparateDeliveries(t *testing.T) {
	b := newBroker(t, Config{})
	var dropped []DropReason
	b.Listen(Events{Dropped: func(_, _ string, _ *Message, r DropReason) { dropped = append(dropped, r) }})
	c := connectID(t, b, "stomp")
	c.subKey(t, "0", "a", topic.Options{QoS: 1, Separate: true}, QueueAll)
	c.subKey(t, "1", "l", topic.Options{QoS: 1, Separate: true}, QueueLatest)
	b.inject(&Message{Topic: "a", QoS: 1, Payload: []byte("for a")})
	b.inject(&Message{Topic: "l", QoS: 1, Payload: []byte("latest")})
	c.UnsubscribeKey("0")
	c.UnsubscribeKey("1")
	c.subKey(t, "0", "b", topic.Options{QoS: 1, Separate: true}, QueueAll)
	b.inject(&Message{Topic: "b", QoS: 1, Payload: []byte("for b")})
	if got := keyed(c.pull()); got != "0:for b" {
		t.Fatalf("pulled %q", got)
	}
	if len(dropped) != 2 || dropped[0] != DropUnsubscribed || dropped[1] != DropUnsubscribed {
		t.Fatalf("drops %v", dropped)
	}
	if d, _ := b.Session("", "stomp"); d.Queued != 0 || d.QueuedBytes != 0 {
		t.Fatalf("queue after the purge: %d messages, %d bytes", d.Queued, d.QueuedBytes)
	}
}

// TestKeyedReplacesUnkeyedOfTheSameName: an unkeyed subscription to
// filter "a" and a keyed one with key "a" are the same subscription id;
// the second replaces the first in the router too.
func TestKeyedReplacesUnkeyedOfTheSameName(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "c")
	c.sub(t, "a", topic.Options{QoS: 1})
	c.subKey(t, "a", "a", topic.Options{QoS: 1, Separate: true}, QueueAll)
	if n := b.SubscriptionCount(); n != 1 {
		t.Fatalf("%d router subscriptions, want 1", n)
	}
	b.inject(&Message{Topic: "a", QoS: 1, Payload: []byte("x")})
	if got := keyed(c.pull()); got != "a:x" {
		t.Fatalf("pulled %q", got)
	}
	c.UnsubscribeKey("a")
	if n := b.SubscriptionCount(); n != 0 {
		t.Fatalf("%d router subscriptions after unsubscribing, want 0", n)
	}
}

func TestSeparateNeedsAKey(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "c")
	res := c.Subscribe(context.Background(), []SubscribeRequest{{Filter: "x", Options: topic.Options{Separate: true}}}, nil)
	if res[0].Code != ImplementationError {
		t.Fatalf("Separate without a key: %v", res[0].Code)
	}
}

// TestRequeuedLatestValueIsTheLatestAgain: a requeued value with no newer
// one waiting becomes the subscription's latest again, so a newer value
// replaces it.
func TestRequeuedLatestValueIsTheLatestAgain(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "observer")
	c.subKey(t, "tok", "temp", topic.Options{QoS: 1, Separate: true}, QueueLatest)
	b.inject(&Message{Topic: "temp", QoS: 1, Payload: []byte("1")})
	ds := c.pull()
	c.Settle(ds[0].Tag, Requeued)
	b.inject(&Message{Topic: "temp", QoS: 1, Payload: []byte("2")})
	if got := keyed(c.pull()); got != "tok:2" {
		t.Fatalf("pulled %q, want only the newer value", got)
	}
}

// TestCloseReportsTheConnectionsItCloses: shutting down counts and
// reports every connection it closes.
func TestCloseReportsTheConnectionsItCloses(t *testing.T) {
	b := NewBroker(Config{AllowAnonymous: true})
	b.Start()
	var left []string
	b.Listen(Events{Disconnected: func(i *ClientInfo, r string) { left = append(left, i.ClientID+": "+r) }})
	connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}})
	b.Close()
	if len(left) != 1 || left[0] != "a: server shutting down" || b.Stats().ClientsConnected.Load() != 0 {
		t.Fatalf("events %v, connected %d", left, b.Stats().ClientsConnected.Load())
	}
}

func TestBanMatchesMappedPrefixesAndZonedPeers(t *testing.T) {
	for _, tc := range []struct {
		ban, peer string
		match     bool
	}{
		{"::ffff:10.0.0.0/104", "10.1.2.3:1", true},
		{"::ffff:10.0.0.0/104", "[::ffff:10.1.2.3]:1", true},
		{"fe80::/10", "[fe80::1%eth0]:1", true},
		{"10.0.0.0/8", "11.0.0.1:1", false},
	} {
		ban := Ban{Kind: BanPeerHost, Value: tc.ban}
		info := ClientInfo{PeerAddr: netip.MustParseAddrPort(tc.peer)}
		if got := ban.matches(&info); got != tc.match {
			t.Errorf("ban %s, peer %s: match %v", tc.ban, tc.peer, got)
		}
		var l banList
		l.putLocked(ban)
		if _, got := l.banned(&info, time.Now()); got != tc.match {
			t.Errorf("ban list %s, peer %s: banned %v", tc.ban, tc.peer, got)
		}
	}
}
