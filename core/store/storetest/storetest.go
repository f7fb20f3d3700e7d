// Package storetest is the conformance suite every store.Store passes. An
// implementation's tests call Run, and RunDurable when it keeps its state
// across Close and reopen.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// Run runs the conformance suite; open returns a new, empty store for each
// case. The suite closes the stores it opens.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			c.run(t, s)
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// The fixed instant the suite's times are based on; a whole number of
// nanoseconds in any location, so durable stores can round-trip it.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)

var (
	keyA = store.Key{Namespace: "mqtt", ClientID: "a"}
	keyB = store.Key{Namespace: "mqtt", ClientID: "b"}
	// keyAB and keyABC differ only in where the namespace ends; an encoding
	// that concatenates the two strings would mix them up.
	keyAB  = store.Key{Namespace: "a", ClientID: "bc"}
	keyABC = store.Key{Namespace: "ab", ClientID: "c"}
)

// FullMessage returns a message with every field set.
func FullMessage(topic string, payload string) *store.Message {
	return &store.Message{
		Topic:           topic,
		Payload:         []byte(payload),
		QoS:             2,
		Retain:          true,
		PayloadFormat:   1,
		ContentType:     "text/plain",
		ResponseTopic:   "reply/" + topic,
		CorrelationData: []byte{0, 1, 2, 0xff},
		UserProperties:  []store.UserProperty{{Key: "k", Value: "v"}, {Key: "k", Value: "v2"}, {Key: "", Value: ""}},
		Expiry:          t0.Add(time.Hour),
		Origin:          store.Origin{Protocol: "mqtt", Namespace: "ns", ClientID: "pub"},
	}
}

func bareMessage(topic string) *store.Message {
	return &store.Message{Topic: topic, QoS: 1}
}

func fullSession(k store.Key) *store.Session {
	return &store.Session{
		Key:            k,
		Expiry:         time.Hour,
		DisconnectedAt: t0,
		Client:         store.Client{Protocol: "mqtt", Listener: "tcp", Username: "u", CertCN: "cn", Mountpoint: "m/", Version: 5},
		Will: &store.Will{
			Message: *FullMessage("will/"+k.ClientID, "gone"),
			Delay:   5 * time.Second,
			Expiry:  time.Minute,
		},
		Subscriptions: []store.Subscription{
			{Filter: "a/#", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2, SubscriptionID: 7},
			{Filter: "$share/g/b/+", QoS: 2, RetainHandling: 1, SubscriptionID: 268435455},
			{Filter: "c", QoS: 0},
		},
	}
}

var cases = []testCase{
	{"session round-trips every field", func(t *testing.T, s store.Store) {
		want := fullSession(keyA)
		must(t, s.Sessions().Put(want))
		got := mustGet(t, s, keyA)
		checkSession(t, got, want)
	}},
	{"session get missing is ErrNotFound", func(t *testing.T, s store.Store) {
		_, err := s.Sessions().Get(keyA)
		wantNotFound(t, err)
	}},
	{"session connected and never-expiring round-trip", func(t *testing.T, s store.Store) {
		want := &store.Session{Key: keyA, Expiry: store.NeverExpire}
		must(t, s.Sessions().Put(want))
		checkSession(t, mustGet(t, s, keyA), want)
	}},
	{"session put replaces record and subscriptions", func(t *testing.T, s store.Store) {
		must(t, s.Sessions().Put(fullSession(keyA)))
		want := &store.Session{Key: keyA, Expiry: time.Minute,
			Subscriptions: []store.Subscription{{Filter: "z", QoS: 1}}}
		must(t, s.Sessions().Put(want))
		checkSession(t, mustGet(t, s, keyA), want)
	}},
	{"session keys with the same concatenation stay apart", func(t *testing.T, s store.Store) {
		a, b := fullSession(keyAB), fullSession(keyABC)
		b.Subscriptions = b.Subscriptions[:1]
		must(t, s.Sessions().Put(a))
		must(t, s.Sessions().Put(b))
		_, err := s.Queues().Append(keyAB, entry("x"), false)
		must(t, err)
		must(t, s.Inbound().Add(keyAB, 1, false))
		checkSession(t, mustGet(t, s, keyAB), a)
		checkSession(t, mustGet(t, s, keyABC), b)
		if n := len(rangeQueue(t, s, keyABC)); n != 0 {
			t.Errorf("queue of %v has %d entries, want 0", keyABC, n)
		}
		ids, err := s.Inbound().List(keyABC)
		must(t, err)
		if len(ids) != 0 {
			t.Errorf("inbound of %v = %v, want none", keyABC, ids)
		}
		must(t, s.Sessions().Delete(keyABC))
		checkSession(t, mustGet(t, s, keyAB), a)
		if n := len(rangeQueue(t, s, keyAB)); n != 1 {
			t.Errorf("deleting %v left %d entries of %v, want 1", keyABC, n, keyAB)
		}
	}},
	{"session set expiry and disconnect time", func(t *testing.T, s store.Store) {
		want := fullSession(keyA)
		must(t, s.Sessions().Put(want))
		must(t, s.Sessions().SetExpiry(keyA, 2*time.Hour, time.Time{}))
		want.Expiry, want.DisconnectedAt = 2*time.Hour, time.Time{}
		checkSession(t, mustGet(t, s, keyA), want)
		must(t, s.Sessions().SetExpiry(keyA, 3*time.Hour, t0.Add(time.Second)))
		want.Expiry, want.DisconnectedAt = 3*time.Hour, t0.Add(time.Second)
		checkSession(t, mustGet(t, s, keyA), want)
		wantNotFound(t, s.Sessions().SetExpiry(keyB, time.Hour, t0))
	}},
	{"session set and clear will", func(t *testing.T, s store.Store) {
		want := fullSession(keyA)
		must(t, s.Sessions().Put(want))
		must(t, s.Sessions().SetWill(keyA, nil))
		want.Will = nil
		checkSession(t, mustGet(t, s, keyA), want)
		w := &store.Will{Message: *bareMessage("w")}
		must(t, s.Sessions().SetWill(keyA, w))
		want.Will = w
		checkSession(t, mustGet(t, s, keyA), want)
		wantNotFound(t, s.Sessions().SetWill(keyB, w))
	}},
	{"subscriptions set, replace and delete", func(t *testing.T, s store.Store) {
		want := fullSession(keyA)
		must(t, s.Sessions().Put(want))
		must(t, s.Sessions().SetSubscription(keyA, store.Subscription{Filter: "c", QoS: 2, SubscriptionID: 9}))
		must(t, s.Sessions().SetSubscription(keyA, store.Subscription{Filter: "0/+", QoS: 1}))
		must(t, s.Sessions().DeleteSubscription(keyA, "a/#"))
		must(t, s.Sessions().DeleteSubscription(keyA, "a/#"))
		must(t, s.Sessions().DeleteSubscription(keyA, "never"))
		want.Subscriptions = []store.Subscription{
			{Filter: "$share/g/b/+", QoS: 2, RetainHandling: 1, SubscriptionID: 268435455},
			{Filter: "0/+", QoS: 1},
			{Filter: "c", QoS: 2, SubscriptionID: 9},
		}
		checkSession(t, mustGet(t, s, keyA), want)
		wantNotFound(t, s.Sessions().SetSubscription(keyB, store.Subscription{Filter: "x"}))
		must(t, s.Sessions().DeleteSubscription(keyB, "x"))
	}},
	{"bans put, replace, delete and list in order", func(t *testing.T, s store.Store) {
		bans := []store.Ban{
			{Kind: "username", Value: "mallory", Reason: "abuse", At: t0},
			{Kind: "clientid", Value: "dev-9", At: t0, Until: t0.Add(time.Hour)},
			{Kind: "peerhost", Value: "192.0.2.0/24", Reason: "scanner", At: t0},
		}
		for i := range bans {
			must(t, s.Bans().Put(&bans[i]))
		}
		replaced := store.Ban{Kind: "username", Value: "mallory", Reason: "still abuse", At: t0.Add(time.Minute)}
		must(t, s.Bans().Put(&replaced))
		must(t, s.Bans().Delete("clientid", "dev-9"))
		must(t, s.Bans().Delete("clientid", "never"))
		got, err := s.Bans().List()
		must(t, err)
		want := []store.Ban{bans[2], replaced}
		if len(got) != len(want) {
			t.Fatalf("bans %+v, want %+v", got, want)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Kind != w.Kind || g.Value != w.Value || g.Reason != w.Reason || !g.At.Equal(w.At) || !g.Until.Equal(w.Until) {
				t.Errorf("ban %d = %+v, want %+v", i, g, w)
			}
		}
	}},
	{"keyed subscriptions share a filter", func(t *testing.T, s store.Store) {
		want := fullSession(keyA)
		want.Subscriptions = nil
		must(t, s.Sessions().Put(want))
		must(t, s.Sessions().SetSubscription(keyA, store.Subscription{Key: "sub-1", Filter: "a/+", QoS: 1, Separate: true}))
		must(t, s.Sessions().SetSubscription(keyA, store.Subscription{Key: "sub-2", Filter: "a/+", QoS: 0, Separate: true, Latest: true}))
		must(t, s.Sessions().SetSubscription(keyA, store.Subscription{Filter: "a/+", QoS: 2}))
		// The same key with another filter replaces the subscription.
		must(t, s.Sessions().SetSubscription(keyA, store.Subscription{Key: "sub-1", Filter: "b/#", QoS: 2, Separate: true, SubscriptionID: 4}))
		want.Subscriptions = []store.Subscription{
			{Filter: "a/+", QoS: 2},
			{Key: "sub-1", Filter: "b/#", QoS: 2, Separate: true, SubscriptionID: 4},
			{Key: "sub-2", Filter: "a/+", QoS: 0, Separate: true, Latest: true},
		}
		checkSession(t, mustGet(t, s, keyA), want)
		must(t, s.Sessions().DeleteSubscription(keyA, "sub-2"))
		want.Subscriptions = want.Subscriptions[:2]
		checkSession(t, mustGet(t, s, keyA), want)
		// Put writes keyed subscriptions whole too.
		want.Subscriptions = append(want.Subscriptions, store.Subscription{Key: "sub-3", Filter: "a/+", Latest: true, Separate: true})
		must(t, s.Sessions().Put(want))
		checkSession(t, mustGet(t, s, keyA), want)
	}},
	{"session delete removes subscriptions, queue and inbound", func(t *testing.T, s store.Store) {
		must(t, s.Sessions().Put(fullSession(keyA)))
		must(t, s.Sessions().Put(fullSession(keyB)))
		for i := range 3 {
			_, err := s.Queues().Append(keyA, entry(fmt.Sprint(i)), i == 0)
			must(t, err)
		}
		_, err := s.Queues().Append(keyB, entry("b"), false)
		must(t, err)
		must(t, s.Inbound().Add(keyA, 5, true))
		must(t, s.Sessions().Delete(keyA))
		must(t, s.Sessions().Delete(keyA))
		_, err = s.Sessions().Get(keyA)
		wantNotFound(t, err)
		if n := len(rangeQueue(t, s, keyA)); n != 0 {
			t.Errorf("queue has %d entries after delete", n)
		}
		ids, err := s.Inbound().List(keyA)
		must(t, err)
		if len(ids) != 0 {
			t.Errorf("inbound = %v after delete", ids)
		}
		// A new session under the same key starts without subscriptions.
		must(t, s.Sessions().Put(&store.Session{Key: keyA}))
		checkSession(t, mustGet(t, s, keyA), &store.Session{Key: keyA})
		checkSession(t, mustGet(t, s, keyB), fullSession(keyB))
		if n := len(rangeQueue(t, s, keyB)); n != 1 {
			t.Errorf("other session's queue has %d entries, want 1", n)
		}
	}},
	{"session range visits every session and stops early", func(t *testing.T, s store.Store) {
		want := map[store.Key]*store.Session{}
		for _, k := range []store.Key{keyA, keyB, keyAB, keyABC} {
			want[k] = fullSession(k)
			must(t, s.Sessions().Put(want[k]))
		}
		seen := map[store.Key]bool{}
		must(t, s.Sessions().Range(func(got *store.Session) bool {
			if seen[got.Key] {
				t.Errorf("%v visited twice", got.Key)
			}
			seen[got.Key] = true
			if w := want[got.Key]; w == nil {
				t.Errorf("unexpected session %v", got.Key)
			} else {
				checkSession(t, got, w)
			}
			return true
		}))
		if len(seen) != len(want) {
			t.Errorf("visited %d sessions, want %d", len(seen), len(want))
		}
		n := 0
		must(t, s.Sessions().Range(func(*store.Session) bool { n++; return n < 2 }))
		if n != 2 {
			t.Errorf("range went on after false: %d calls", n)
		}
	}},
	{"queue keeps append order with increasing seqs", func(t *testing.T, s store.Store) {
		var want []store.QueueEntry
		for i := range 300 {
			e := entry(fmt.Sprint(i))
			if i%3 == 0 {
				e.Message = FullMessage(fmt.Sprintf("t/%d", i), "p")
				e.SubscriptionIDs = []uint32{1, uint32(i), 1 << 28}
			}
			if i%5 == 0 {
				e.Key = fmt.Sprint("sub-", i)
				e.Latest = i%10 == 0
			}
			seq, err := s.Queues().Append(keyA, e, i%2 == 0)
			must(t, err)
			if seq != e.Seq {
				t.Fatalf("Append returned %d but set e.Seq %d", seq, e.Seq)
			}
			if len(want) > 0 && seq <= want[len(want)-1].Seq {
				t.Fatalf("seq %d after %d", seq, want[len(want)-1].Seq)
			}
			want = append(want, *e)
			// Interleave another session's appends.
			_, err = s.Queues().Append(keyB, entry("b"), false)
			must(t, err)
		}
		checkQueue(t, rangeQueue(t, s, keyA), want)
	}},
	{"queue entry fields round-trip", func(t *testing.T, s store.Store) {
		e := &store.QueueEntry{Message: FullMessage("x/y", string(bytes.Repeat([]byte{0, 0xff}, 5000))),
			QoS: 1, Retain: true, SubscriptionIDs: []uint32{3, 4}}
		_, err := s.Queues().Append(keyA, e, true)
		must(t, err)
		e2 := &store.QueueEntry{Message: &store.Message{}}
		_, err = s.Queues().Append(keyA, e2, true)
		must(t, err)
		checkQueue(t, rangeQueue(t, s, keyA), []store.QueueEntry{*e, *e2})
	}},
	{"queue inflight marks and states", func(t *testing.T, s store.Store) {
		var es []store.QueueEntry
		for i := range 4 {
			e := entry(fmt.Sprint(i))
			_, err := s.Queues().Append(keyA, e, true)
			must(t, err)
			es = append(es, *e)
		}
		must(t, s.Queues().MarkInflight(keyA, es[0].Seq, 65535))
		must(t, s.Queues().MarkInflight(keyA, es[1].Seq, 1))
		must(t, s.Queues().SetState(keyA, es[1].Seq, store.Released))
		must(t, s.Queues().MarkInflight(keyA, es[2].Seq, 2))
		must(t, s.Queues().MarkInflight(keyA, es[2].Seq, 3)) // re-sent with a new id
		es[0].PacketID, es[0].State = 65535, store.Published
		es[1].PacketID, es[1].State = 1, store.Released
		es[2].PacketID, es[2].State = 3, store.Published
		checkQueue(t, rangeQueue(t, s, keyA), es)
		wantNotFound(t, s.Queues().MarkInflight(keyA, es[3].Seq+1000, 9))
		wantNotFound(t, s.Queues().SetState(keyA, es[3].Seq+1000, store.Released))
		wantNotFound(t, s.Queues().MarkInflight(keyB, es[0].Seq, 9))
		checkQueue(t, rangeQueue(t, s, keyA), es)
	}},
	{"queue remove is idempotent and keeps order", func(t *testing.T, s store.Store) {
		var es []store.QueueEntry
		for i := range 5 {
			e := entry(fmt.Sprint(i))
			_, err := s.Queues().Append(keyA, e, false)
			must(t, err)
			es = append(es, *e)
		}
		must(t, s.Queues().MarkInflight(keyA, es[1].Seq, 10))
		must(t, s.Queues().Remove(keyA, es[1].Seq))
		must(t, s.Queues().Remove(keyA, es[1].Seq))
		must(t, s.Queues().Remove(keyA, es[3].Seq))
		must(t, s.Queues().Remove(keyA, 1<<62))
		must(t, s.Queues().Remove(keyB, es[0].Seq))
		checkQueue(t, rangeQueue(t, s, keyA), []store.QueueEntry{es[0], es[2], es[4]})
		// An entry removed while inflight does not come back when its
		// seq is looked up.
		wantNotFound(t, s.Queues().SetState(keyA, es[1].Seq, store.Released))
	}},
	{"queue range stops early", func(t *testing.T, s store.Store) {
		for i := range 5 {
			_, err := s.Queues().Append(keyA, entry(fmt.Sprint(i)), false)
			must(t, err)
		}
		n := 0
		must(t, s.Queues().Range(keyA, func(*store.QueueEntry) bool { n++; return n < 3 }))
		if n != 3 {
			t.Errorf("range went on after false: %d calls", n)
		}
	}},
	{"queue clear removes only that session's entries", func(t *testing.T, s store.Store) {
		for i := range 5 {
			_, err := s.Queues().Append(keyA, entry(fmt.Sprint(i)), false)
			must(t, err)
			_, err = s.Queues().Append(keyB, entry(fmt.Sprint(i)), false)
			must(t, err)
		}
		first := rangeQueue(t, s, keyA)[0]
		must(t, s.Queues().MarkInflight(keyA, first.Seq, 1))
		must(t, s.Queues().Clear(keyA))
		must(t, s.Queues().Clear(keyA))
		if n := len(rangeQueue(t, s, keyA)); n != 0 {
			t.Errorf("%d entries after clear", n)
		}
		if n := len(rangeQueue(t, s, keyB)); n != 5 {
			t.Errorf("other queue has %d entries, want 5", n)
		}
		e := entry("after")
		_, err := s.Queues().Append(keyA, e, false)
		must(t, err)
		checkQueue(t, rangeQueue(t, s, keyA), []store.QueueEntry{*e})
	}},
	{"queue entry passed to range belongs to the caller", func(t *testing.T, s store.Store) {
		e := entry("x")
		e.SubscriptionIDs = []uint32{1}
		_, err := s.Queues().Append(keyA, e, false)
		must(t, err)
		want := *e
		want.SubscriptionIDs = []uint32{1}
		e.SubscriptionIDs[0], e.QoS = 99, 0 // the store must not see this
		must(t, s.Queues().Range(keyA, func(got *store.QueueEntry) bool {
			got.SubscriptionIDs[0], got.PacketID = 77, 5
			return true
		}))
		checkQueue(t, rangeQueue(t, s, keyA), []store.QueueEntry{want})
	}},
	{"inbound add, list and remove", func(t *testing.T, s store.Store) {
		for _, id := range []uint16{300, 1, 65535, 2, 1} {
			must(t, s.Inbound().Add(keyA, id, id == 2))
		}
		must(t, s.Inbound().Add(keyB, 7, false))
		ids, err := s.Inbound().List(keyA)
		must(t, err)
		if want := []uint16{1, 2, 300, 65535}; !slices.Equal(ids, want) {
			t.Errorf("List = %v, want %v", ids, want)
		}
		must(t, s.Inbound().Remove(keyA, 2))
		must(t, s.Inbound().Remove(keyA, 2))
		must(t, s.Inbound().Remove(keyA, 9))
		ids, err = s.Inbound().List(keyA)
		must(t, err)
		if want := []uint16{1, 300, 65535}; !slices.Equal(ids, want) {
			t.Errorf("List after remove = %v, want %v", ids, want)
		}
		ids, err = s.Inbound().List(store.Key{Namespace: "none"})
		must(t, err)
		if len(ids) != 0 {
			t.Errorf("List of unknown key = %v", ids)
		}
	}},
	{"retained set, replace, get and delete", func(t *testing.T, s store.Store) {
		m := FullMessage("r/1", "one")
		must(t, s.Retained().Set(m, true))
		got, err := s.Retained().Get("r/1")
		must(t, err)
		checkMessage(t, "retained", got, m)
		m2 := bareMessage("r/1")
		m2.Payload = []byte("two")
		must(t, s.Retained().Set(m2, false))
		got, err = s.Retained().Get("r/1")
		must(t, err)
		checkMessage(t, "replaced", got, m2)
		must(t, s.Retained().Delete("r/1"))
		must(t, s.Retained().Delete("r/1"))
		_, err = s.Retained().Get("r/1")
		wantNotFound(t, err)
	}},
	{"retained range in topic order and stops early", func(t *testing.T, s store.Store) {
		topics := []string{"b", "a/b", "a", "$SYS/x", "a/b/c", "é"}
		for _, tp := range topics {
			must(t, s.Retained().Set(FullMessage(tp, tp), false))
		}
		var got []string
		must(t, s.Retained().Range(func(m *store.Message) bool {
			got = append(got, m.Topic)
			checkMessage(t, m.Topic, m, FullMessage(m.Topic, m.Topic))
			return true
		}))
		want := slices.Clone(topics)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("Range order %q, want %q", got, want)
		}
		n := 0
		must(t, s.Retained().Range(func(*store.Message) bool { n++; return false }))
		if n != 1 {
			t.Errorf("range went on after false: %d calls", n)
		}
	}},
	{"outbox windows in order", func(t *testing.T, s store.Store) {
		var seqs []uint64
		for i := range 10 {
			seq, err := s.Outbox().Append("up", FullMessage(fmt.Sprintf("o/%d", i), "x"), i%2 == 0)
			must(t, err)
			if len(seqs) > 0 && seq <= seqs[len(seqs)-1] {
				t.Fatalf("seq %d after %d", seq, seqs[len(seqs)-1])
			}
			seqs = append(seqs, seq)
			_, err = s.Outbox().Append("other", bareMessage("z"), false)
			must(t, err)
		}
		checkOutbox(t, s, "up", 0, 4, seqs[:4])
		checkOutbox(t, s, "up", seqs[4], 3, seqs[4:7])
		checkOutbox(t, s, "up", seqs[8]+1, 5, seqs[9:])
		checkOutbox(t, s, "up", seqs[9]+1, 5, nil)
		checkOutbox(t, s, "up", 0, 0, nil)
		checkOutbox(t, s, "none", 0, 5, nil)
		win, err := s.Outbox().Peek("up", seqs[3], 1)
		must(t, err)
		checkMessage(t, "outbox", win[0].Message, FullMessage("o/3", "x"))
	}},
	{"outbox delete up to and by list", func(t *testing.T, s store.Store) {
		var seqs []uint64
		for i := range 10 {
			seq, err := s.Outbox().Append("up", bareMessage(fmt.Sprint(i)), false)
			must(t, err)
			seqs = append(seqs, seq)
			_, err = s.Outbox().Append("other", bareMessage("z"), false)
			must(t, err)
		}
		must(t, s.Outbox().DeleteUpTo("up", seqs[2]))
		must(t, s.Outbox().DeleteUpTo("up", seqs[2]))
		checkOutbox(t, s, "up", 0, 100, seqs[3:])
		must(t, s.Outbox().Delete("up", seqs[5], seqs[7], seqs[0], 1<<62))
		checkOutbox(t, s, "up", 0, 100, []uint64{seqs[3], seqs[4], seqs[6], seqs[8], seqs[9]})
		must(t, s.Outbox().Delete("up"))
		must(t, s.Outbox().DeleteUpTo("up", seqs[9]))
		checkOutbox(t, s, "up", 0, 100, nil)
		win, err := s.Outbox().Peek("other", 0, 100)
		must(t, err)
		if len(win) != 10 {
			t.Errorf("other outbox has %d entries, want 10", len(win))
		}
	}},
	{"outbox delivery states follow their entries", func(t *testing.T, s store.Store) {
		var seqs []uint64
		for i := range 6 {
			seq, err := s.Outbox().Append("up", bareMessage(fmt.Sprint(i)), false)
			must(t, err)
			seqs = append(seqs, seq)
			_, err = s.Outbox().Append("other", bareMessage("z"), false)
			must(t, err)
		}
		for i, seq := range seqs {
			must(t, s.Outbox().SetDelivery("up", store.OutboxDelivery{Seq: seq, PacketID: uint16(100 + i), State: store.Published}, i == 5))
		}
		must(t, s.Outbox().SetDelivery("up", store.OutboxDelivery{Seq: seqs[4], PacketID: 104, State: store.Released}, false))
		must(t, s.Outbox().SetDelivery("up", store.OutboxDelivery{Seq: seqs[3], State: store.Queued}, false))
		must(t, s.Outbox().DeleteUpTo("up", seqs[1]))
		must(t, s.Outbox().Delete("up", seqs[5]))
		got, err := s.Outbox().Deliveries("up")
		must(t, err)
		want := []store.OutboxDelivery{{Seq: seqs[2], PacketID: 102, State: store.Published}, {Seq: seqs[4], PacketID: 104, State: store.Released}}
		if !slices.Equal(got, want) {
			t.Errorf("Deliveries = %+v, want %+v", got, want)
		}
		if other, err := s.Outbox().Deliveries("other"); err != nil || len(other) != 0 {
			t.Errorf("another bridge's deliveries: %+v, %v", other, err)
		}
	}},
	{"expire removes elapsed sessions with what they own", func(t *testing.T, s store.Store) {
		now := t0.Add(time.Hour)
		put := func(cid string, expiry time.Duration, disc time.Time) store.Key {
			k := store.Key{Namespace: "x", ClientID: cid}
			sess := fullSession(k)
			sess.Expiry, sess.DisconnectedAt = expiry, disc
			must(t, s.Sessions().Put(sess))
			_, err := s.Queues().Append(k, entry("q"), true)
			must(t, err)
			must(t, s.Inbound().Add(k, 1, false))
			return k
		}
		gone := []store.Key{
			put("elapsed", time.Minute, t0),
			put("just-elapsed", time.Hour, t0),
			put("zero-expiry", 0, now.Add(-time.Nanosecond)),
		}
		kept := []store.Key{
			put("connected", time.Second, time.Time{}),
			put("never", store.NeverExpire, t0.Add(-100*365*24*time.Hour)),
			put("not-yet", time.Hour+time.Nanosecond, t0),
		}
		st, err := s.Expire(now)
		must(t, err)
		if st.Sessions != len(gone) {
			t.Errorf("Expire removed %d sessions, want %d", st.Sessions, len(gone))
		}
		for _, k := range gone {
			if _, err := s.Sessions().Get(k); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: Get after expire: %v, want ErrNotFound", k.ClientID, err)
			}
			if n := len(rangeQueue(t, s, k)); n != 0 {
				t.Errorf("%s: %d queue entries left", k.ClientID, n)
			}
			if ids, _ := s.Inbound().List(k); len(ids) != 0 {
				t.Errorf("%s: inbound %v left", k.ClientID, ids)
			}
		}
		for _, k := range kept {
			mustGet(t, s, k)
			if n := len(rangeQueue(t, s, k)); n != 1 {
				t.Errorf("%s: %d queue entries, want 1", k.ClientID, n)
			}
		}
		st, err = s.Expire(now)
		must(t, err)
		if st.Sessions != 0 {
			t.Errorf("second Expire removed %d sessions", st.Sessions)
		}
	}},
	{"expire removes elapsed retained messages", func(t *testing.T, s store.Store) {
		now := t0.Add(2 * time.Hour)
		set := func(topic string, expiry time.Time) {
			m := bareMessage(topic)
			m.Expiry = expiry
			must(t, s.Retained().Set(m, false))
		}
		set("old", t0)
		set("now", now)
		set("later", now.Add(time.Nanosecond))
		set("forever", time.Time{})
		// Replaced with a later deadline: the earlier one must not count.
		set("renewed", t0)
		set("renewed", now.Add(time.Hour))
		// Replaced with no deadline.
		set("made-permanent", t0)
		set("made-permanent", time.Time{})
		// Deleted, then set again without a deadline.
		set("deleted", t0)
		must(t, s.Retained().Delete("deleted"))
		set("deleted", time.Time{})
		st, err := s.Expire(now)
		must(t, err)
		if st.Retained != 2 {
			t.Errorf("Expire removed %d retained, want 2", st.Retained)
		}
		var got []string
		must(t, s.Retained().Range(func(m *store.Message) bool { got = append(got, m.Topic); return true }))
		if want := []string{"deleted", "forever", "later", "made-permanent", "renewed"}; !slices.Equal(got, want) {
			t.Errorf("retained after expire %q, want %q", got, want)
		}
		st, err = s.Expire(now.Add(time.Hour))
		must(t, err)
		if st.Retained != 2 {
			t.Errorf("later Expire removed %d retained, want 2 (later, renewed)", st.Retained)
		}
	}},
	{"sync succeeds", func(t *testing.T, s store.Store) {
		_, err := s.Queues().Append(keyA, entry("x"), false)
		must(t, err)
		must(t, s.Sync())
	}},
	{"concurrent appends to many sessions keep per-session order", func(t *testing.T, s store.Store) {
		const writers, per = 8, 50
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := store.Key{Namespace: "c", ClientID: fmt.Sprint(w)}
				for i := range per {
					if _, err := s.Queues().Append(k, entry(fmt.Sprint(i)), i%5 == 0); err != nil {
						t.Error(err)
						return
					}
					if _, err := s.Outbox().Append("up", bareMessage(fmt.Sprint(w)), false); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for w := range writers {
			k := store.Key{Namespace: "c", ClientID: fmt.Sprint(w)}
			got := rangeQueue(t, s, k)
			if len(got) != per {
				t.Fatalf("writer %d: %d entries, want %d", w, len(got), per)
			}
			for i, e := range got {
				if string(e.Message.Payload) != fmt.Sprint(i) {
					t.Fatalf("writer %d: entry %d has payload %q", w, i, e.Message.Payload)
				}
			}
		}
		win, err := s.Outbox().Peek("up", 0, 1000)
		must(t, err)
		if len(win) != writers*per {
			t.Errorf("outbox has %d entries, want %d", len(win), writers*per)
		}
	}},
}

func entry(payload string) *store.QueueEntry {
	m := bareMessage("t")
	m.Payload = []byte(payload)
	return &store.QueueEntry{Message: m, QoS: 1}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantNotFound(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func mustGet(t testing.TB, s store.Store, k store.Key) *store.Session {
	t.Helper()
	got, err := s.Sessions().Get(k)
	if err != nil {
		t.Fatalf("Get(%v): %v", k, err)
	}
	return got
}

func rangeQueue(t testing.TB, s store.Store, k store.Key) []store.QueueEntry {
	t.Helper()
	var got []store.QueueEntry
	must(t, s.Queues().Range(k, func(e *store.QueueEntry) bool {
		got = append(got, *e)
		return true
	}))
	return got
}

func checkOutbox(t testing.TB, s store.Store, bridge string, from uint64, max int, want []uint64) {
	t.Helper()
	win, err := s.Outbox().Peek(bridge, from, max)
	must(t, err)
	got := make([]uint64, 0, len(win))
	for _, e := range win {
		got = append(got, e.Seq)
	}
	if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
		t.Errorf("Peek(%q, %d, %d) seqs %v, want %v", bridge, from, max, got, want)
	}
}

func checkSession(t testing.TB, got, want *store.Session) {
	t.Helper()
	if got.Key != want.Key || got.Expiry != want.Expiry || !got.DisconnectedAt.Equal(want.DisconnectedAt) {
		t.Errorf("session %v: key %v expiry %v disconnected %v; want %v %v %v",
			want.Key, got.Key, got.Expiry, got.DisconnectedAt, want.Key, want.Expiry, want.DisconnectedAt)
	}
	if got.Client != want.Client {
		t.Errorf("session %v: client %+v, want %+v", want.Key, got.Client, want.Client)
	}
	switch {
	case (got.Will == nil) != (want.Will == nil):
		t.Errorf("session %v: will %v, want %v", want.Key, got.Will, want.Will)
	case got.Will != nil:
		if got.Will.Delay != want.Will.Delay || got.Will.Expiry != want.Will.Expiry {
			t.Errorf("session %v: will delay %v expiry %v, want %v %v", want.Key,
				got.Will.Delay, got.Will.Expiry, want.Will.Delay, want.Will.Expiry)
		}
		checkMessage(t, "will", &got.Will.Message, &want.Will.Message)
	}
	ws := slices.Clone(want.Subscriptions)
	slices.SortFunc(ws, func(a, b store.Subscription) int { return strings.Compare(a.ID(), b.ID()) })
	if len(got.Subscriptions) != len(ws) || (len(ws) > 0 && !slices.Equal(got.Subscriptions, ws)) {
		t.Errorf("session %v: subscriptions\n got %+v\nwant %+v", want.Key, got.Subscriptions, ws)
	}
}

func checkQueue(t testing.TB, got, want []store.QueueEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("queue has %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := &got[i], &want[i]
		if g.Seq != w.Seq || g.QoS != w.QoS || g.Retain != w.Retain || g.PacketID != w.PacketID || g.State != w.State || g.Key != w.Key || g.Latest != w.Latest ||
			len(g.SubscriptionIDs) != len(w.SubscriptionIDs) || (len(w.SubscriptionIDs) > 0 && !slices.Equal(g.SubscriptionIDs, w.SubscriptionIDs)) {
			t.Errorf("entry %d:\n got seq %d qos %d retain %v id %d state %d subs %v key %q\nwant seq %d qos %d retain %v id %d state %d subs %v key %q", i,
				g.Seq, g.QoS, g.Retain, g.PacketID, g.State, g.SubscriptionIDs, g.Key,
				w.Seq, w.QoS, w.Retain, w.PacketID, w.State, w.SubscriptionIDs, w.Key)
		}
		checkMessage(t, fmt.Sprintf("entry %d", i), g.Message, w.Message)
	}
}

// CheckMessage fails t unless got carries the same message as want; nil
// and empty byte slices and property lists count as equal.
func CheckMessage(t testing.TB, what string, got, want *store.Message) {
	t.Helper()
	checkMessage(t, what, got, want)
}

func checkMessage(t testing.TB, what string, got, want *store.Message) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: nil message", what)
		return
	}
	if got.Topic != want.Topic || !bytes.Equal(got.Payload, want.Payload) || got.QoS != want.QoS ||
		got.Retain != want.Retain || got.PayloadFormat != want.PayloadFormat ||
		got.ContentType != want.ContentType || got.ResponseTopic != want.ResponseTopic ||
		!bytes.Equal(got.CorrelationData, want.CorrelationData) ||
		len(got.UserProperties) != len(want.UserProperties) ||
		(len(want.UserProperties) > 0 && !slices.Equal(got.UserProperties, want.UserProperties)) ||
		!got.Expiry.Equal(want.Expiry) || got.Expiry.IsZero() != want.Expiry.IsZero() || got.Origin != want.Origin {
		t.Errorf("%s: message\n got %+v\nwant %+v", what, got, want)
	}
}
