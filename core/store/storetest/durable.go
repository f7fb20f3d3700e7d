package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// RunDurable checks that everything a durable store holds survives Close
// and reopen. open opens the store kept in dir; the suite calls it twice
// per case with the same dir and closes what it opens.
func RunDurable(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	for _, c := range durableCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			check := c.write(t, s)
			must(t, s.Close())
			s = open(t, dir)
			defer func() { must(t, s.Close()) }()
			check(t, s)
		})
	}
}

type durableCase struct {
	name string
	// write fills the store and returns the check to run after reopen.
	write func(t *testing.T, s store.Store) func(t *testing.T, s store.Store)
}

var durableCases = []durableCase{
	{"sessions and subscriptions survive", func(t *testing.T, s store.Store) func(*testing.T, store.Store) {
		a, b := fullSession(keyA), fullSession(keyAB)
		must(t, s.Sessions().Put(a))
		must(t, s.Sessions().Put(b))
		must(t, s.Sessions().Put(fullSession(keyB)))
		must(t, s.Sessions().Delete(keyB))
		must(t, s.Sessions().SetSubscription(keyA, store.Subscription{Filter: "new", QoS: 1, SubscriptionID: 3}))
		must(t, s.Sessions().DeleteSubscription(keyA, "c"))
		must(t, s.Sessions().SetExpiry(keyAB, store.NeverExpire, time.Time{}))
		must(t, s.Sessions().SetWill(keyAB, nil))
		a.Subscriptions = []store.Subscription{a.Subscriptions[0], a.Subscriptions[1], {Filter: "new", QoS: 1, SubscriptionID: 3}}
		b.Expiry, b.DisconnectedAt, b.Will = store.NeverExpire, time.Time{}, nil
		return func(t *testing.T, s store.Store) {
			checkSession(t, mustGet(t, s, keyA), a)
			checkSession(t, mustGet(t, s, keyAB), b)
			_, err := s.Sessions().Get(keyB)
			wantNotFound(t, err)
			n := 0
			must(t, s.Sessions().Range(func(*store.Session) bool { n++; return true }))
			if n != 2 {
				t.Errorf("Range saw %d sessions, want 2", n)
			}
		}
	}},
	{"queues with inflight state survive and seqs keep increasing", func(t *testing.T, s store.Store) func(*testing.T, store.Store) {
		var want []store.QueueEntry
		for i := range 20 {
			e := entry(fmt.Sprint(i))
			if i == 3 {
				e.Message = FullMessage("full", "payload")
				e.SubscriptionIDs = []uint32{4, 5}
				e.Retain = true
				e.Key = "sub-3"
			}
			_, err := s.Queues().Append(keyA, e, i%4 == 0)
			must(t, err)
			want = append(want, *e)
		}
		must(t, s.Queues().MarkInflight(keyA, want[0].Seq, 10))
		must(t, s.Queues().MarkInflight(keyA, want[1].Seq, 11))
		must(t, s.Queues().SetState(keyA, want[1].Seq, store.Released))
		must(t, s.Queues().Remove(keyA, want[2].Seq))
		want[0].PacketID, want[0].State = 10, store.Published
		want[1].PacketID, want[1].State = 11, store.Released
		want = append(want[:2], want[3:]...)
		last := want[len(want)-1].Seq
		return func(t *testing.T, s store.Store) {
			checkQueue(t, rangeQueue(t, s, keyA), want)
			e := entry("after")
			seq, err := s.Queues().Append(keyA, e, true)
			must(t, err)
			if seq <= last {
				t.Errorf("seq after reopen %d, not above %d", seq, last)
			}
			seq2, err := s.Outbox().Append("up", bareMessage("x"), false)
			must(t, err)
			if seq2 <= seq {
				t.Errorf("outbox seq %d not above %d", seq2, seq)
			}
			checkQueue(t, rangeQueue(t, s, keyA), append(want, *e))
		}
	}},
	{"inbound ids survive", func(t *testing.T, s store.Store) func(*testing.T, store.Store) {
		must(t, s.Inbound().Add(keyA, 9, true))
		must(t, s.Inbound().Add(keyA, 3, false))
		must(t, s.Inbound().Add(keyA, 4, false))
		must(t, s.Inbound().Remove(keyA, 4))
		return func(t *testing.T, s store.Store) {
			ids, err := s.Inbound().List(keyA)
			must(t, err)
			if len(ids) != 2 || ids[0] != 3 || ids[1] != 9 {
				t.Errorf("inbound %v, want [3 9]", ids)
			}
		}
	}},
	{"retained messages and their expiry survive", func(t *testing.T, s store.Store) func(*testing.T, store.Store) {
		m := FullMessage("r/a", "1")
		must(t, s.Retained().Set(m, true))
		must(t, s.Retained().Set(bareMessage("r/b"), false))
		must(t, s.Retained().Delete("r/b"))
		return func(t *testing.T, s store.Store) {
			got, err := s.Retained().Get("r/a")
			must(t, err)
			checkMessage(t, "retained", got, m)
			_, err = s.Retained().Get("r/b")
			wantNotFound(t, err)
			st, err := s.Expire(m.Expiry)
			must(t, err)
			if st.Retained != 1 {
				t.Errorf("Expire after reopen removed %d retained, want 1", st.Retained)
			}
		}
	}},
	{"outbox survives", func(t *testing.T, s store.Store) func(*testing.T, store.Store) {
		var seqs []uint64
		for i := range 6 {
			seq, err := s.Outbox().Append("up", FullMessage(fmt.Sprint(i), "x"), true)
			must(t, err)
			seqs = append(seqs, seq)
		}
		must(t, s.Outbox().DeleteUpTo("up", seqs[1]))
		must(t, s.Outbox().Delete("up", seqs[3]))
		must(t, s.Outbox().SetDelivery("up", store.OutboxDelivery{Seq: seqs[4], PacketID: 9, State: store.Released}, true))
		return func(t *testing.T, s store.Store) {
			checkOutbox(t, s, "up", 0, 10, []uint64{seqs[2], seqs[4], seqs[5]})
			got, err := s.Outbox().Deliveries("up")
			must(t, err)
			if want := []store.OutboxDelivery{{Seq: seqs[4], PacketID: 9, State: store.Released}}; !slices.Equal(got, want) {
				t.Errorf("Deliveries after reopen = %+v, want %+v", got, want)
			}
		}
	}},
}
