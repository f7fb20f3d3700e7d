package core

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/store/memory"
	"github.com/mqgate/mqgate/core/store/pebble"
	"github.com/mqgate/mqgate/core/topic"
)

// reopener opens a store and, after the broker using it closed, the same
// store again: a new process on the same data directory.
type reopener struct {
	name string
	open func(t *testing.T) func() store.Store
}

var reopeners = []reopener{
	{"memory", func(t *testing.T) func() store.Store {
		st := memory.New()
		return func() store.Store { return st }
	}},
	{"pebble", func(t *testing.T) func() store.Store {
		dir := t.TempDir()
		var cur *pebble.Store
		return func() store.Store {
			if cur != nil {
				if err := cur.Close(); err != nil {
					t.Fatalf("close store: %v", err)
				}
			}
			st, err := pebble.Open(dir, pebble.Options{})
			if err != nil {
				t.Fatalf("open store: %v", err)
			}
			cur = st
			t.Cleanup(func() { st.Close() })
			return st
		}
	}},
}

// storedBroker starts a broker on st, restored from it.
func storedBroker(t *testing.T, st store.Store, cfg Config) *Broker {
	t.Helper()
	cfg.Store = st
	cfg.AllowAnonymous = true
	b := NewBroker(cfg)
	if err := b.Restore(); err != nil {
		t.Fatalf("restore: %v", err)
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func forEachStore(t *testing.T, fn func(t *testing.T, open func() store.Store)) {
	for _, r := range reopeners {
		t.Run(r.name, func(t *testing.T) { fn(t, r.open(t)) })
	}
}

// TestRestoreSessionsQueuesInflightInboundRetained proves that what a
// persistent session owns survives Broker.Close and a new broker on the
// same store: subscriptions with their options and ids, queued messages in
// order, inflight messages with their packet ids and states (resent with
// DUP, or PUBREL), inbound QoS 2 ids (no second delivery) and retained
// messages.
func TestRestoreSessionsQueuesInflightInboundRetained(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() store.Store) {
		b := storedBroker(t, open(), Config{})
		ctx := context.Background()
		sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "sub", Username: "u", Mountpoint: "m/"},
			SessionExpiry: time.Hour, ReceiveMaximum: 3})
		sub.sub(t, "t/#", topic.Options{QoS: 2, SubscriptionID: 7, NoLocal: true})
		sub.sub(t, "r/+", topic.Options{QoS: 1, RetainHandling: 2, RetainAsPublished: true})
		pub := connectID(t, b, "pub")

		publish := func(c *tclient, i int, qos byte) {
			t.Helper()
			m := &Message{Topic: "m/t/" + strconv.Itoa(i), QoS: qos, Payload: []byte(strconv.Itoa(i))}
			var code Code
			if qos == 2 {
				code, _ = c.PublishQoS2(ctx, uint16(100+i), m)
			} else {
				code = c.Publish(ctx, m)
			}
			if code.Failed() {
				t.Fatalf("publish %d: %v", i, code)
			}
		}
		for i := 0; i < 3; i++ {
			publish(pub, i, byte(1+i%2))
		}
		ds := sub.pull() // 0 (QoS 1), 1 (QoS 2), 2 (QoS 1) in flight
		if payloads(ds) != "0,1,2" {
			t.Fatalf("pulled %q", payloads(ds))
		}
		sub.Settle(ds[0].Tag, Accepted)
		sub.Hold(ds[1].Tag) // 1 awaits PUBCOMP
		sub.Disconnect(DisconnectWithWill, "")
		for i := 3; i < 6; i++ {
			publish(pub, i, byte(1+i%2))
		}
		// 105 was PUBRECed but never released: a retransmission after the
		// restart must not be delivered again.
		pub.Publish(ctx, &Message{Topic: "m/r/x", QoS: 1, Retain: true, Payload: []byte("kept")})
		pub.Disconnect(DisconnectWithWill, "")
		b.Close()

		b = storedBroker(t, open(), Config{})
		if n := b.SessionCount(); n != 2 {
			t.Fatalf("%d sessions restored, want 2", n)
		}
		if n := b.SubscriptionCount(); n != 2 {
			t.Fatalf("%d subscriptions restored, want 2", n)
		}
		if m, ok := b.retained.Get("m/r/x"); !ok || string(m.Payload) != "kept" || m.QoS != 1 {
			t.Fatalf("retained message not restored: %v %v", m, ok)
		}
		pub, present := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "pub"}, SessionExpiry: time.Hour})
		if !present {
			t.Fatal("publisher session not present")
		}
		code, dup := pub.PublishQoS2(ctx, 105, &Message{Topic: "m/t/5", QoS: 2, Payload: []byte("5")})
		if code.Failed() || !dup {
			t.Fatalf("retransmitted QoS 2 publish after restart: code %v dup %v, want a duplicate", code, dup)
		}
		if !pub.Release(105) || pub.Release(105) {
			t.Fatal("inbound id 105 not restored once")
		}

		sub, present = connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "sub", Mountpoint: "m/"}, SessionExpiry: time.Hour, ReceiveMaximum: 3})
		if !present {
			t.Fatal("subscriber session not present")
		}
		got := sub.pull()
		ds0 := got[2:] // 3: acknowledged below with 4 and 5
		type want struct {
			id      uint16
			pubrel  bool
			dup     bool
			payload string
		}
		wants := []want{
			{ds[1].Tag, true, false, ""},
			{ds[2].Tag, false, true, "2"},
			{0, false, false, "3"}, // the window (3) is full
		}
		if len(got) != len(wants) {
			t.Fatalf("pulled %d deliveries %q, want %d", len(got), payloads(got), len(wants))
		}
		for i, w := range wants {
			d := got[i]
			if w.id != 0 && d.Tag != w.id || d.Held != w.pubrel || !w.pubrel && (d.Redelivered > 0) != w.dup {
				t.Fatalf("delivery %d = %+v, want %+v", i, d, w)
			}
			if w.pubrel {
				continue
			}
			if string(d.Msg.Payload) != w.payload || d.Topic != "t/"+w.payload {
				t.Fatalf("delivery %d: %q on %q, want %q", i, d.Msg.Payload, d.Topic, w.payload)
			}
			if len(d.SubIDs) != 1 || d.SubIDs[0] != 7 {
				t.Fatalf("delivery %d subscription ids %v, want [7]", i, d.SubIDs)
			}
		}
		if !sub.Complete(ds[1].Tag) || !sub.Settle(ds[2].Tag, Accepted) {
			t.Fatal("acks of restored inflight messages refused")
		}
		got = sub.waitPull(t, 1)
		if payloads(got) != "4,5" {
			t.Fatalf("after acks pulled %q, want 4,5", payloads(got))
		}
		ackAll(sub, append(got, ds0...))
		// Options came back: No Local keeps the subscriber's own message
		// from it, and the subscription id is attached to new deliveries.
		if code := sub.pub(t, "t/own", 1, "own"); code != NoMatchingSubscribers {
			t.Fatalf("own publish: %v, want no matching subscribers (No Local)", code)
		}
		pub.pub(t, "m/t/new", 1, "new")
		// The retained message queued while offline (Retain As Published),
		// then the new one.
		got = sub.waitPull(t, 2)
		if payloads(got) != "kept,new" || !got[0].Retain || len(got[1].SubIDs) != 1 || got[1].SubIDs[0] != 7 {
			t.Fatalf("deliveries %q: %+v", payloads(got), got)
		}
	})
}

// TestRestoredQueueEntriesLeaveTheStore proves that what is acknowledged is
// gone after a second restart: nothing is delivered twice.
func TestRestoredQueueEntriesLeaveTheStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() store.Store) {
		b := storedBroker(t, open(), Config{})
		offline(t, b, "s", "q", 2)
		publishN(b, "q", 1, 3)
		publishN(b, "q", 2, 2)
		b.Close()

		b = storedBroker(t, open(), Config{})
		c := resume(t, b, "s", 0)
		ds := c.pull()
		if payloads(ds) != "0,1,2,0,1" {
			t.Fatalf("pulled %q", payloads(ds))
		}
		ackAll(c, ds)
		c.Disconnect(DisconnectNormal, "")
		b.Close()

		b = storedBroker(t, open(), Config{})
		c = resume(t, b, "s", 0)
		if ds := c.pull(); len(ds) != 0 {
			t.Fatalf("acknowledged messages delivered again: %q", payloads(ds))
		}
	})
}

// TestCleanSessionsNeverTouchTheStore proves memory-only sessions (expiry
// 0) cost nothing in the store.
func TestCleanSessionsNeverTouchTheStore(t *testing.T) {
	st := memory.New()
	b := storedBroker(t, st, Config{})
	sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "clean"}})
	sub.sub(t, "q", topic.Options{QoS: 2})
	pub, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "pub"}})
	pub.pub(t, "q", 1, "x")
	pub.PublishQoS2(context.Background(), 1, &Message{Topic: "q", QoS: 2, Payload: []byte("y")})
	sub.pull()
	sub.Disconnect(DisconnectWithWill, "")
	n := 0
	st.Sessions().Range(func(*store.Session) bool { n++; return true })
	ids, _ := st.Inbound().List(store.Key{ClientID: "pub"})
	st.Queues().Range(store.Key{ClientID: "clean"}, func(*store.QueueEntry) bool { n++; return true })
	if n != 0 || len(ids) != 0 {
		t.Fatalf("clean sessions wrote %d records and inbound ids %v", n, ids)
	}
}

// TestSessionEndsInTheStore covers every way a persistent session ends:
// clean start, resume with expiry 0, expiry.
func TestSessionEndsInTheStore(t *testing.T) {
	cases := []struct {
		name string
		end  func(t *testing.T, b *Broker)
	}{
		{"clean start", func(t *testing.T, b *Broker) {
			c, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "s"}, CleanStart: true})
			c.Disconnect(DisconnectNormal, "")
		}},
		{"resumed with expiry 0", func(t *testing.T, b *Broker) {
			c, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "s"}})
			c.Disconnect(DisconnectNormal, "")
		}},
		{"expiry 0 set at disconnect", func(t *testing.T, b *Broker) {
			c := resume(t, b, "s", 0)
			c.SetSessionExpiry(0)
			c.Disconnect(DisconnectNormal, "")
		}},
		{"expired", func(t *testing.T, b *Broker) {
			c := resume(t, b, "s", 0)
			c.SetSessionExpiry(time.Millisecond)
			c.Disconnect(DisconnectNormal, "")
			waitFor(t, "session expiry", func() bool { return b.SessionCount() == 0 })
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := memory.New()
			b := storedBroker(t, st, Config{})
			offline(t, b, "s", "q", 1)
			publishN(b, "q", 1, 2)
			tc.end(t, b)
			var entries int
			st.Queues().Range(store.Key{ClientID: "s"}, func(*store.QueueEntry) bool { entries++; return true })
			if _, err := st.Sessions().Get(store.Key{ClientID: "s"}); err != store.ErrNotFound || entries != 0 {
				t.Fatalf("session still stored: %v, %d queue entries", err, entries)
			}
		})
	}
}

// TestRestoreWills: a session that expired while mqgate was down is
// deleted and its will published at restore; a will whose delay has not
// elapsed is re-armed from the disconnect time; a session that was
// connected when the process died counts as disconnected at restore.
func TestRestoreWills(t *testing.T) {
	st := memory.New()
	now := time.Now()
	will := func(id string, delay time.Duration) *store.Will {
		return &store.Will{Message: store.Message{Topic: "will/" + id, QoS: 1, Payload: []byte(id)}, Delay: delay}
	}
	put := func(rec *store.Session) {
		if err := st.Sessions().Put(rec); err != nil {
			t.Fatal(err)
		}
	}
	put(&store.Session{Key: store.Key{ClientID: "observer"}, Expiry: store.NeverExpire, DisconnectedAt: now,
		Subscriptions: []store.Subscription{{Filter: "#", QoS: 1}}})
	put(&store.Session{Key: store.Key{ClientID: "expired"}, Expiry: time.Hour, DisconnectedAt: now.Add(-2 * time.Hour),
		Will: will("expired", time.Minute*90)})
	put(&store.Session{Key: store.Key{ClientID: "delay-passed"}, Expiry: time.Hour, DisconnectedAt: now.Add(-time.Minute),
		Will: will("delay-passed", time.Second)})
	put(&store.Session{Key: store.Key{ClientID: "delay-pending"}, Expiry: time.Hour, DisconnectedAt: now.Add(-time.Second),
		Will: will("delay-pending", 200*time.Millisecond+time.Second)})
	put(&store.Session{Key: store.Key{ClientID: "was-connected"}, Expiry: time.Hour,
		Will: will("was-connected", 0), Client: store.Client{Mountpoint: "mp/"}})

	b := storedBroker(t, st, Config{})
	if n := b.SessionCount(); n != 4 {
		t.Fatalf("%d sessions, want 4 (the expired one deleted)", n)
	}
	if _, err := st.Sessions().Get(store.Key{ClientID: "expired"}); err != store.ErrNotFound {
		t.Fatalf("expired session still stored: %v", err)
	}
	if rec, err := st.Sessions().Get(store.Key{ClientID: "was-connected"}); err != nil || rec.DisconnectedAt.IsZero() || rec.Will != nil {
		t.Fatalf("connected session not recorded as disconnected with its will gone: %+v %v", rec, err)
	}
	obs := resume(t, b, "observer", 0)
	ds := obs.waitPull(t, 4)
	got := map[string]string{}
	for _, d := range ds {
		got[string(d.Msg.Payload)] = d.Topic
	}
	want := map[string]string{"expired": "will/expired", "delay-passed": "will/delay-passed",
		"was-connected": "mp/will/was-connected", "delay-pending": "will/delay-pending"}
	if len(got) != len(want) {
		t.Fatalf("wills %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("wills %v, want %v", got, want)
		}
	}
}

// ackAll completes the exchange of every PUBLISH in ds.
func ackAll(c *tclient, ds []Delivery) {
	for _, d := range ds {
		switch {
		case d.Held:
			c.Complete(d.Tag)
		case d.QoS == 1:
			c.Settle(d.Tag, Accepted)
		case d.QoS == 2:
			c.Hold(d.Tag)
			c.Complete(d.Tag)
		}
	}
}

// TestQueuedQoS0SurvivesRestartWhenConfigured: with QueueQoS0, QoS 0
// messages kept for an offline persistent session are stored too, and
// leave the store once written out; without it nothing QoS 0 is stored.
func TestQueuedQoS0SurvivesRestartWhenConfigured(t *testing.T) {
	for _, queue := range []bool{true, false} {
		t.Run(strconv.FormatBool(queue), func(t *testing.T) {
			forEachStore(t, func(t *testing.T, open func() store.Store) {
				cfg := Config{QueueQoS0: queue}
				b := storedBroker(t, open(), cfg)
				offline(t, b, "s", "q", 1)
				publishN(b, "q", 0, 2)
				publishN(b, "q", 1, 1)
				b.Close()

				b = storedBroker(t, open(), cfg)
				c := resume(t, b, "s", 0)
				ds := c.pull()
				want := "0"
				if queue {
					want = "0,1,0"
				}
				if payloads(ds) != want {
					t.Fatalf("after restart pulled %q, want %q", payloads(ds), want)
				}
				ackAll(c, ds)
				c.Disconnect(DisconnectNormal, "")
				b.Close()

				b = storedBroker(t, open(), cfg)
				c = resume(t, b, "s", 0)
				if ds := c.pull(); len(ds) != 0 {
					t.Fatalf("delivered again after a second restart: %q", payloads(ds))
				}
			})
		})
	}
}
