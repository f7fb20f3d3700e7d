package core

import (
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/topic"
)

// TestRequeueRedelivers: a requeued delivery goes back to the front of the
// queue and is handed out again, under a new tag, with its redelivery
// count; a held one cannot be requeued; rejected ones are counted.
func TestRequeueRedelivers(t *testing.T) {
	b := newBroker(t, Config{MaxInflight: 2})
	c := connectID(t, b, "nacker")
	c.sub(t, "q", topic.Options{QoS: 2})
	pub := connectID(t, b, "pub")
	for _, p := range []string{"a", "b", "c"} {
		pub.pub(t, "q", 1, p)
	}
	ds := c.pull() // a, b in flight; c waits for the window
	if payloads(ds) != "a,b" || ds[0].Redelivered != 0 {
		t.Fatalf("pulled %q (redelivered %d)", payloads(ds), ds[0].Redelivered)
	}
	if !c.Settle(ds[0].Tag, Requeued) {
		t.Fatal("requeue refused")
	}
	if c.Settle(ds[0].Tag, Accepted) {
		t.Fatal("a requeued tag still settles")
	}
	again := c.pull()
	if payloads(again) != "a" || again[0].Redelivered != 1 {
		t.Fatalf("after requeue pulled %q redelivered %d, want a once more, redelivered 1", payloads(again), again[0].Redelivered)
	}
	if !c.Settle(again[0].Tag, Requeued) {
		t.Fatal("second requeue refused")
	}
	if again = c.pull(); payloads(again) != "a" || again[0].Redelivered != 2 {
		t.Fatalf("second redelivery %q redelivered %d", payloads(again), again[0].Redelivered)
	}
	c.Settle(again[0].Tag, Accepted)
	c.Settle(ds[1].Tag, Rejected)
	if rest := c.pull(); payloads(rest) != "c" {
		t.Fatalf("then pulled %q, want c", payloads(rest))
	}
	st := b.Stats()
	if st.MessagesSent.Load() != 1 || st.MessagesDropped.Load() != 1 {
		t.Fatalf("sent %d dropped %d, want 1 and 1", st.MessagesSent.Load(), st.MessagesDropped.Load())
	}

	// QoS 2: requeue until held, not after.
	pub.pub(t, "q", 2, "d")
	d := c.waitPull(t, 1)[0]
	if !c.Hold(d.Tag) || c.Settle(d.Tag, Requeued) || c.Settle(d.Tag, Rejected) {
		t.Fatal("a held delivery was requeued or rejected")
	}
	if !c.Complete(d.Tag) {
		t.Fatal("held delivery not completed")
	}
}

// TestRequeueSurvivesRestart: a requeued message of a persistent session
// is in the queue again after a restart, ahead of later messages.
func TestRequeueSurvivesRestart(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() store.Store) {
		b := storedBroker(t, open(), Config{})
		c := connectID(t, b, "nacker")
		c.sub(t, "q", topic.Options{QoS: 1})
		pub := connectID(t, b, "pub")
		pub.pub(t, "q", 1, "a")
		ds := c.pull()
		c.Settle(ds[0].Tag, Requeued)
		pub.pub(t, "q", 1, "b")
		c.Disconnect(DisconnectWithWill, "")
		pub.Disconnect(DisconnectWithWill, "")
		b.Close()

		b = storedBroker(t, open(), Config{})
		c, _ = connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "nacker"}, SessionExpiry: time.Hour})
		got := c.pull()
		if payloads(got) != "a,b" || got[0].Redelivered != 1 || got[1].Redelivered != 0 {
			t.Fatalf("restored %q (redelivered %d, %d), want a (redelivered) and b", payloads(got), got[0].Redelivered, got[1].Redelivered)
		}
	})
}

// TestRequeuedStaleLatestValueIsDropped: a QueueLatest subscription whose
// newer value already waits drops the requeued older one.
func TestRequeuedStaleLatestValueIsDropped(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "observer")
	c.subKey(t, "tok", "temp", topic.Options{QoS: 1, Separate: true}, QueueLatest)
	pub := connectID(t, b, "pub")
	pub.pub(t, "temp", 1, "1")
	ds := c.pull()
	pub.pub(t, "temp", 1, "2")
	c.Settle(ds[0].Tag, Requeued)
	if got := keyed(c.pull()); got != "tok:2" {
		t.Fatalf("pulled %q, want only the newer value", got)
	}
}

func TestSettleQoS0(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "c")
	c.sub(t, "q", topic.Options{})
	pub := connectID(t, b, "pub")
	pub.pub(t, "q", 0, "x")
	ds := c.waitPull(t, 1)
	if ds[0].Tag != 0 || c.Settle(0, Requeued) || !c.Settle(0, Rejected) {
		t.Fatal("QoS 0 settlement")
	}
	if st := b.Stats(); st.MessagesSent.Load() != 0 || st.MessagesDropped.Load() != 1 {
		t.Fatalf("sent %d dropped %d", st.MessagesSent.Load(), st.MessagesDropped.Load())
	}
}

// TestRedeliverDue: a session whose adapter retransmits gets its unsettled
// deliveries again, same tags, once they are older than it asks.
func TestRedeliverDue(t *testing.T) {
	b := newBroker(t, Config{})
	c, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "sn"}, SessionExpiry: time.Hour, Retransmit: true})
	c.sub(t, "q", topic.Options{QoS: 2})
	pub := connectID(t, b, "pub")
	pub.pub(t, "q", 1, "a")
	pub.pub(t, "q", 2, "b")
	first := c.pull()
	if len(first) != 2 || c.Unsettled() != 2 {
		t.Fatalf("pulled %q, %d unsettled", payloads(first), c.Unsettled())
	}
	if n := c.Redeliver(time.Now().Add(-time.Hour)); n != 0 {
		t.Fatalf("%d due an hour ago", n)
	}
	if got := c.pull(); len(got) != 0 {
		t.Fatalf("pulled %q with nothing due", payloads(got))
	}
	if n := c.Redeliver(time.Now()); n != 2 {
		t.Fatalf("%d due now, want 2", n)
	}
	again := c.pull()
	if payloads(again) != "a,b" || again[0].Tag != first[0].Tag || again[1].Tag != first[1].Tag || again[0].Redelivered != 1 {
		t.Fatalf("redelivered %+v", again)
	}
	c.Settle(first[0].Tag, Accepted)
	c.Hold(first[1].Tag)
	if n := c.Redeliver(time.Now()); n != 1 {
		t.Fatalf("%d due after settling one and holding the other, want 1", n)
	}
	held := c.pull()
	if len(held) != 1 || !held[0].Held || held[0].Tag != first[1].Tag || held[0].Redelivered != 2 {
		t.Fatalf("held redelivery %+v", held)
	}
	c.Complete(first[1].Tag)
	if c.Unsettled() != 0 || c.Redeliver(time.Now()) != 0 {
		t.Fatal("settled deliveries still due")
	}
}
